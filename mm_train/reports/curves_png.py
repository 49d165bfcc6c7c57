"""Line charts as PNG with Pillow alone: ``RUN_DIR/curves.png`` without importing matplotlib.

matplotlib costs 0.35-0.45 s per run for this one picture (0.29 s to import
``matplotlib.figure`` and its backend, 0.1 s to lay out and render; pyplot adds
0.03 s more), most of the fixed cost after the last training step. Pillow is
already loaded by ``mindspore.dataset.vision``; drawing here takes ~20 ms::

    write_png(path, [Panel("step", "loss", [Series(steps, losses, "train loss")])])
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")   # matplotlib's tab10
SCALE = 2            # drawn at twice the size, then downsampled: smooth lines without anti-aliasing support


@dataclass
class Series:
    x: Sequence[float]
    y: Sequence[float]
    label: str
    markers: bool = False


@dataclass
class Panel:
    xlabel: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    log_y: bool = False         # a loss falls over decades: a log axis keeps the later epochs readable
    whole_x: bool = False       # epochs: ticks on whole numbers only


def log_ticks(lo: float, hi: float) -> list[float]:
    """Round values for a log axis covering [lo, hi] (lo > 0): powers of ten, with 2 and 5 between them
    when the range spans few decades."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if last == first:
        last += 1
    steps = (1,) if last - first > 3 else (1, 2, 5)
    ticks = [m * 10.0 ** k for k in range(first, last + 1) for m in steps]
    inside = [t for t in ticks if lo <= t <= hi]
    below = [t for t in ticks if t < lo]
    above = [t for t in ticks if t > hi]
    return ([below[-1]] if below else []) + inside + ([above[0]] if above else [])


def whole_ticks(lo: float, hi: float, count: int = 8) -> list[float]:
    """Whole-number ticks covering [lo, hi], at most about ``count`` of them."""
    lo, hi = math.floor(lo), math.ceil(hi)
    step = max(1, math.ceil((hi - lo) / count))
    return [float(v) for v in range(int(lo), int(hi) + 1, step)]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step) * step
    ticks, value = [], first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if len(ticks) < 2 or ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def tick_text(value: float) -> str:
    return f"{value:.6g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.1e}"


def _finite(series: Series) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in zip(series.x, series.y)
            if math.isfinite(float(x)) and math.isfinite(float(y))]


def _draw_panel(image, draw, box, panel: Panel, font) -> None:
    left, top, right, bottom = box
    points = [[(x, y) for x, y in _finite(s) if y > 0 or not panel.log_y] for s in panel.series]
    xs = [x for p in points for x, _ in p] or [0.0, 1.0]
    ys = [y for p in points for _, y in p] or [1.0, 2.0]
    if panel.whole_x:   # half an epoch of room either side: no point sits on the frame
        xt = whole_ticks(min(xs), max(xs))
        x0, x1 = min(xs) - 0.5, max(xs) + 0.5
        xt = [v for v in xt if x0 <= v <= x1]
    else:
        xt = nice_ticks(min(xs), max(xs))
        x0, x1 = xt[0], xt[-1]
    if panel.log_y:
        yt = log_ticks(min(ys), max(ys))
        fy = math.log10
    else:
        yt = nice_ticks(min(ys), max(ys))
        fy = float
    y0, y1 = fy(yt[0]), fy(yt[-1])
    pad = 8 * SCALE
    text_h = font.getbbox("0")[3]
    label_w = max(font.getlength(tick_text(v)) for v in yt)
    legend_h = text_h + 2 * pad if panel.series else pad   # the legend sits above the plot, never on the data
    plot = (left + label_w + 3 * pad + text_h + 4 * SCALE, top + legend_h + pad, right - 2 * pad,
            bottom - 2 * text_h - 3 * pad)

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (plot[0] + (x - x0) / ((x1 - x0) or 1) * (plot[2] - plot[0]),
                plot[3] - (fy(y) - y0) / ((y1 - y0) or 1) * (plot[3] - plot[1]))

    for v in xt:
        px, _ = to_px(v, yt[0])
        draw.line([(px, plot[3]), (px, plot[3] + pad // 2)], fill="black", width=SCALE)
        text = tick_text(v)
        draw.text((px - font.getlength(text) / 2, plot[3] + pad), text, fill="black", font=font)
    for v in yt:
        _, py = to_px(x0, v)
        draw.line([(plot[0] - pad // 2, py), (plot[0], py)], fill="black", width=SCALE)
        draw.line([(plot[0], py), (plot[2], py)], fill="#eeeeee", width=1)
        text = tick_text(v)
        draw.text((plot[0] - pad - font.getlength(text), py - text_h / 2 - SCALE), text, fill="black", font=font)
    draw.rectangle(plot, outline="black", width=SCALE)
    xlabel = panel.xlabel
    draw.text(((plot[0] + plot[2] - font.getlength(xlabel)) / 2, bottom - text_h - pad), xlabel,
              fill="black", font=font)
    ylabel = panel.ylabel + (" (log scale)" if panel.log_y and panel.ylabel else "")
    if ylabel:   # a vertical label: draw it on its own image and rotate
        from PIL import Image, ImageDraw
        width = int(font.getlength(ylabel)) + 2
        label = Image.new("L", (width, text_h + 4 * SCALE), 0)
        ImageDraw.Draw(label).text((0, 0), ylabel, fill=255, font=font)
        label = label.rotate(90, expand=True)
        image.paste("black", (int(left + pad), int((plot[1] + plot[3] - width) / 2)), label)
    for i, pts in enumerate(points):
        color = COLORS[i % len(COLORS)]
        pixels = [to_px(x, y) for x, y in pts]
        if len(pixels) > 1:
            draw.line(pixels, fill=color, width=(2 if panel.series[i].markers else 1) * SCALE, joint="curve")
        if panel.series[i].markers or len(pixels) == 1:
            r = 3 * SCALE
            for px, py in pixels:
                draw.ellipse((px - r, py - r, px + r, py + r), fill=color)
    x = plot[0]   # the legend: one row above the plot
    y = top + pad + text_h / 2
    for i, s in enumerate(panel.series):
        color = COLORS[i % len(COLORS)]
        draw.line([(x, y), (x + 3 * pad, y)], fill=color, width=2 * SCALE)
        if s.markers:
            r = 3 * SCALE
            draw.ellipse((x + 1.5 * pad - r, y - r, x + 1.5 * pad + r, y + r), fill=color)
        draw.text((x + 4 * pad, y - text_h / 2 - SCALE), s.label, fill="black", font=font)
        x += 4 * pad + font.getlength(s.label) + 3 * pad


def write_png(path: Path, panels: list[Panel], panel_size: tuple[int, int] = (440, 320)) -> Path:
    """Draw ``panels`` side by side into the PNG file ``path`` (written whole: a temp file, then a rename)."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = panel_size
    image = Image.new("RGB", (w * len(panels) * SCALE, h * SCALE), "white")
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=11 * SCALE)
    except TypeError:   # Pillow < 10.1: the fixed bitmap font
        font = ImageFont.load_default()
    for i, panel in enumerate(panels):
        _draw_panel(image, draw, (i * w * SCALE, 0, (i + 1) * w * SCALE, h * SCALE), panel, font)
    image = image.resize((w * len(panels), h), Image.LANCZOS)
    path = Path(path)
    tmp = path.with_name(".tmp-" + path.name)
    image.save(tmp, format="PNG")
    tmp.replace(path)
    return path

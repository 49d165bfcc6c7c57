"""The operator assessment: every op type of the source graph, its count, how it maps to mm_train blocks,
and whether MindSpore runs it on the chosen device.

    print(assessment_text(translation, device="cpu", cpu_check="yes (the converted network ran)"))
"""
from __future__ import annotations

from mm_train.migrate.onnx.translate import Translation

# Verified with torch 2.14 (bench/onnx_zoo.py): the legacy exporter keeps BatchNormalization nodes (and
# the state_dict names) when constant folding is off; TrainingMode.TRAINING also keeps Dropout.
EXPORT_FOR_TRAINING = (
    "torch.onnx.export(model.eval(), x, 'model.onnx', dynamo=False, do_constant_folding=False, "
    "opset_version=17, input_names=['x'], dynamic_axes={'x': {0: 'N'}})")


def device_available(device: str) -> bool:
    """What the installed MindSpore build says (mindspore.hal.is_available)."""
    try:
        import mindspore as ms
        return bool(ms.hal.is_available({"gpu": "GPU", "ascend": "Ascend"}[device]))
    except Exception:   # an older build without mindspore.hal, or a plugin that fails to load
        return False


def device_column(device: str, cpu_check: str) -> str:
    if device == "cpu":
        return cpu_check
    if device_available(device):
        return f"not verified here (this MindSpore build has {device.upper()} support; run task=check device={device})"
    return f"not verified here (this MindSpore build reports no {device.upper()})"


def rows(translation: Translation, device: str, cpu_check: str) -> list[tuple[str, str, str, str]]:
    out = []
    for op_type, row in sorted(translation.ops.items(), key=lambda item: (-item[1].count, item[0])):
        if row.unsupported:
            reasons = sorted({reason for _, reason, _ in row.unsupported})
            nearest = sorted({n for _, _, n in row.unsupported if n})
            mapping = f"UNSUPPORTED: {'; '.join(reasons)}" + (f" (nearest: {'; '.join(nearest)})" if nearest else "")
            runs = "-"
        else:
            mapping = ", ".join(sorted(row.mapped)) or "-"
            runs = device_column(device, cpu_check)
        out.append((op_type, str(row.count), mapping, runs))
    return out


def notes(translation: Translation) -> list[str]:
    """What the exporter did that matters for training."""
    found = list(translation.notes)
    has_conv = "Conv" in translation.ops
    folded = any("folded" in n and "BatchNorm" in n for n in found)
    if has_conv and translation.batch_norms == 0 and translation.producer == "tf2onnx":
        found.append("no BatchNormalization node: tf2onnx folds BatchNorm into the convolutions (an inference "
                     "graph). The converted network computes the same outputs; to fine-tune with BatchNorm, "
                     "import the Keras weights into a recipe that has it (mm-train weights convert, rules "
                     "keras_resnet50) or export the model's BatchNorm layers as they are")
    elif has_conv and (translation.batch_norms == 0 or folded):
        found.append(("no BatchNormalization node: the exporter may have folded BatchNorm into the convolutions "
                      "(torch's default exporter, dynamo=True, does; so does the legacy one with "
                      "do_constant_folding=True). " if not folded else "") +
                     "The converted network computes the same outputs, but fine-tunes without those BatchNorm "
                     "layers. To train with BatchNorm, export with the legacy exporter: " + EXPORT_FOR_TRAINING)
    if "Dropout" not in translation.ops:
        found.append("no Dropout node: an eval-mode export drops dropout; if the source network has dropout, "
                     "add a Dropout layer to the recipe before fine-tuning (torch's legacy exporter with "
                     "training=torch.onnx.TrainingMode.TRAINING keeps Dropout, but then onnxruntime computes "
                     "training-mode outputs: check parity with an eval-mode export)")
    return found


def assessment_text(translation: Translation, device: str, cpu_check: str, markdown: bool = False,
                    title: str = "") -> str:
    header = ("op type", "count", "maps to", f"runs on {device.upper()}")
    table = [header] + rows(translation, device, cpu_check)
    lines = []
    if markdown:
        lines += [f"# Operator assessment: {title}", "", f"ONNX opset {translation.opset}, "
                  f"{sum(r.count for r in translation.ops.values())} nodes, {len(translation.ops)} op types.", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in table[1:]]
    else:
        widths = [max(len(r[i]) for r in table) for i in range(3)]
        lines += ["  ".join(f"{c:<{w}}" for c, w in zip(r[:3], widths)) + "  " + r[3] for r in table]
    found = notes(translation)
    if found:
        lines += ["", "## Notes", ""] if markdown else ["", "notes:"]
        lines += [f"- {n}" for n in found]
    return "\n".join(lines) + "\n"

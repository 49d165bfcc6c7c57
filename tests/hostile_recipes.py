"""Recipe files a hostile or careless user could write: bombs, bad encodings, links, pipes.

    write_all(folder)   # {name: (fragment of the refusal, what it is)} after writing each file into folder

No side effects on import.
"""
from __future__ import annotations

import os
from pathlib import Path

HEAD = "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"


def _indent(text: str) -> str:
    return "".join("  " + line + "\n" for line in text.splitlines())


def alias_bomb(levels: int = 9) -> str:
    """"Billion laughs": each anchor lists the previous one ten times (10**levels values)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return HEAD + "extra:\n" + _indent("\n".join(lines))


def interpolation_bomb(section: str = "train", levels: int = 9) -> str:
    """Each string interpolates the previous one ten times (10**levels characters)."""
    lines = ["s0: xxxxxxxxxx"] + [f"s{i}: '" + f"${{{section}.s{i - 1}}}" * 10 + "'" for i in range(1, levels + 1)]
    return HEAD + f"{section}:\n" + _indent("\n".join(lines))


def known_key_bomb() -> str:
    """The same bomb reached through a key the pipeline reads (dataset.train.batch_size)."""
    return interpolation_bomb("dataset") + "  train: {batch_size: '${dataset.s9}'}\n"


def node_bomb(levels: int = 8) -> str:
    """Each list holds the previous list ten times by node interpolation."""
    lines = ["n0: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    lines += [f"n{i}: [" + ", ".join([f"'${{n{i - 1}}}'"] * 10) + "]" for i in range(1, levels + 1)]
    return HEAD + "\n".join(lines) + "\n"


def deep(depth: int = 5000, flow: str = "[]") -> str:
    """``x: [[[...]]]`` (flow "[]") or ``x: {a: {a: ...}}`` (flow "{}"), ``depth`` levels."""
    if flow == "[]":
        return HEAD + "x: " + "[" * depth + "]" * depth + "\n"
    return HEAD + "x: " + "{a: " * depth + "1" + "}" * depth + "\n"


def write_all(folder: Path) -> dict[str, tuple[str, str]]:
    """Write every hostile recipe file into ``folder``; {recipe name: (fragment of its refusal, kind)}."""
    folder.mkdir(parents=True, exist_ok=True)
    outside = folder.parent / "outside_the_recipe_folders"
    outside.mkdir(exist_ok=True)
    (outside / "secret.yaml").write_text(HEAD + "train: {epochs: 2}\n")
    texts = {"alias_bomb": alias_bomb(), "interpolation_bomb": interpolation_bomb(),
             "known_key_bomb": known_key_bomb(), "node_bomb": node_bomb(),
             "deep_lists": deep(5000, "[]"), "deep_mappings": deep(5000, "{}"),
             "link_by_defaults": "# @package _global_\ndefaults:\n  - quickstart\n  - linked\n  - _self_\n"}
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(text)
    (folder / "latin1.yaml").write_bytes((HEAD + "# caf\xe9\n").encode("latin-1"))
    with open(folder / "huge.yaml", "w") as f:   # 2 MB: above the limit, never read
        f.write(HEAD + "# " + "x" * 2_000_000 + "\n")
    (folder / "linked.yaml").symlink_to(outside / "secret.yaml")
    os.mkfifo(folder / "pipe.yaml")
    return {
        "alias_bomb": ("expands to more than 100,000 values once its aliases are expanded", "alias bomb"),
        "interpolation_bomb": ("train.s4: resolves to more than 1,000,000 characters", "interpolation bomb"),
        "known_key_bomb": ("dataset.s4: resolves to more than 1,000,000 characters", "bomb in a known key"),
        "node_bomb": ("n3: resolves to more than 1,000,000 characters", "node interpolation bomb"),
        "deep_lists": ("deep_lists.yaml line 5: nested more than 64 levels deep", "deep nesting"),
        "deep_mappings": ("deep_mappings.yaml line 5: nested more than 64 levels deep", "deep nesting"),
        "latin1": ("latin1.yaml: is not UTF-8 text: byte 0xe9 at byte offset 61 (line 5)", "encoding"),
        "huge": ("huge.yaml: is 2,000,059 bytes", "size"),
        "linked": ("linked.yaml: is a link to", "symlink outside"),
        "link_by_defaults": ("linked.yaml: is a link to", "symlink through defaults"),
        "pipe": ("pipe.yaml: is a named pipe (FIFO), not a regular file", "FIFO"),
        "y" * 300: ("is longer than a file system allows", "name too long"),
    }

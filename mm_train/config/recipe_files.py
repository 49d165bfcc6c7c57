"""Reading a recipe file within bounds: a regular file inside a recipe folder, at most 1 MB of UTF-8
YAML, nested at most 64 levels and at most 100,000 values once its aliases are expanded.

    text = read_recipe(path, folders)   # a ConfigError naming the file, never a hang or a traceback
    check_yaml(text, path)              # before OmegaConf builds anything

Each limit is checked before the costly step it protects: the size from ``fstat`` before reading
(a 75 MB file is never read), the type before opening (a FIFO would block ``open``, a device never
ends), the depth from the parser's events before the recursive composer, the alias expansion on the
composed node graph (shared nodes counted once per use) before OmegaConf copies every use.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

import yaml

from mm_train.core.errors import ConfigError

MAX_BYTES = 1_000_000     # a recipe file; the built-in ones are below 5 kB
MAX_DEPTH = 64            # nesting of mappings and lists, aliases expanded
MAX_NODES = 100_000       # YAML values once every alias is expanded ("billion laughs"); built-in: < 500,
                          # a converted MaxViT (mm-train migrate onnx, 1,400 layers): about 20,000
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml: the checks cost milliseconds


def _real(path: Path, folders: Iterable[Path]) -> Path:
    """The file ``path`` leads to, if it is inside one of the recipe ``folders`` (symlinks resolved)."""
    real = Path(os.path.realpath(path))
    roots = [Path(os.path.realpath(f)) for f in folders]
    if not any(real == root or real.is_relative_to(root) for root in roots):
        raise ConfigError(str(path), f"is a link to {real}, outside the recipe folders",
                          expected="a recipe file inside a recipe folder (copy it in with mm-train recipes cp)")
    return real


def read_recipe(path: Path, folders: Iterable[Path]) -> str:
    """The text of the recipe file ``path``; a ConfigError naming it if it cannot or may not be read."""
    file = str(path)
    try:
        real = _real(path, folders)
        info = os.stat(real)
        if not stat.S_ISREG(info.st_mode):   # a FIFO blocks open(), a device never ends: never opened
            kind = "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else \
                "a directory" if stat.S_ISDIR(info.st_mode) else "a device or socket"
            raise ConfigError(file, f"is {kind}, not a regular file", expected="a YAML file")
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(file, "is not a regular file", expected="a YAML file")
            if info.st_size > MAX_BYTES:
                raise ConfigError(file, f"is {info.st_size:,} bytes", expected=f"a recipe file of at most {MAX_BYTES:,} bytes")
            chunks, size = [], 0
            while size <= MAX_BYTES and (chunk := os.read(fd, 1 << 16)):
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    except OSError as err:
        raise ConfigError(file, f"cannot be read: {err.strerror or err}", expected="a readable YAML file") from None
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        raise ConfigError(file, f"is more than {MAX_BYTES:,} bytes", expected=f"a recipe file of at most {MAX_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ConfigError(file, f"is not UTF-8 text: byte 0x{data[err.start]:02x} at byte offset {err.start} "
                          f"(line {line})", expected="a YAML file saved as UTF-8") from None


def _depth_problem(text: str, loader=LOADER) -> tuple[int, str] | None:
    """(line, problem) when the text nests deeper than MAX_DEPTH or has more than MAX_NODES values,
    from the parser's events (no recursion)."""
    depth = values = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.NodeEvent)):
            values += 1
            if values > MAX_NODES:
                return event.start_mark.line + 1, f"has more than {MAX_NODES:,} values"
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep"
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return None


def _expanded(root) -> str | None:
    """What is wrong with the node graph once its aliases are expanded (size, depth, a cycle), or None."""
    done: dict[int, tuple[int, int]] = {}   # id(node) -> (nodes, height), each shared node measured once
    active: set[int] = set()

    def measure(node) -> tuple[int, int]:
        key = id(node)
        if key in done:
            return done[key]
        if key in active:
            raise _Refused("an alias refers to the node that contains it")
        active.add(key)
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
        count, height = 1, 0
        for child in children:
            n, h = measure(child)
            count, height = count + n, max(height, h + 1)
            if count > MAX_NODES:
                raise _Refused(f"expands to more than {MAX_NODES:,} values once its aliases are expanded")
            if height > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep once its aliases are expanded")
        active.discard(key)
        done[key] = (count, height)
        return done[key]

    try:
        measure(root)
    except _Refused as refused:
        return str(refused)
    return None


class _Refused(Exception):
    pass


def check_yaml(text: str, file) -> None:
    """Refuse YAML that nests too deeply or whose aliases expand too far, naming ``file``."""
    try:
        try:
            found = _depth_problem(text)
        except yaml.YAMLError:   # libyaml stops at its own depth limit (1000) before any event: PyYAML's events
            found = _depth_problem(text, yaml.SafeLoader)
        if found is not None:
            raise ConfigError(f"{file} line {found[0]}", found[1],
                              expected=f"at most {MAX_DEPTH} levels and {MAX_NODES:,} values")
        root = yaml.compose(text, Loader=LOADER)
    except yaml.YAMLError:
        return   # not YAML: OmegaConf's parser names the line
    problem = _expanded(root) if root is not None else None
    if problem is not None:
        raise ConfigError(str(file), problem, expected=f"at most {MAX_NODES:,} values and {MAX_DEPTH} levels "
                          "once anchors (&a) and aliases (*a) are expanded")

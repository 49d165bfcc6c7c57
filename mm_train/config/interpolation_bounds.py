"""Bounds on what resolving a config's interpolations can produce, checked before OmegaConf resolves them.

``s1: '${s0}${s0}...'``, ``s2: '${s1}${s1}...'`` doubles (or tenfolds) at each step: a few lines
resolve to gigabytes. :func:`check` estimates the size of every resolved value from the
unresolved config (each value measured once, so the estimate is cheap) and refuses a config whose
one value (or the whole) would exceed :data:`MAX_CHARS` characters (a node counting
:data:`NODE_COST`), or whose interpolations refer to each other more than :data:`MAX_CHAIN` deep::

    check({"a": "x" * 10, "b": "${a}${a}"})            # fine
    check(ten_levels_of_tenfold_copies)                 # ConfigError naming the first key that explodes

A node interpolation (``b: ${a}`` with ``a`` a mapping or a list) copies the whole node, and is
counted so. Resolvers' own output (``${now:...}``, ``${oc.env:...}``) is counted by its text.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from mm_train.core.errors import ConfigError

MAX_CHARS = 1_000_000     # one resolved value: characters, and NODE_COST for each mapping, list and value
NODE_COST = 100           # so a resolved config has at most 10,000 nodes (the built-in recipes: < 1,000)
MAX_CHAIN = 32            # interpolations that refer to interpolations
INNER = re.compile(r"\$\{([^${}]*)\}")   # an innermost ${...}
KEY_ARG_RESOLVERS = ("oc.select", "oc.deprecated")   # their first argument is a key path


class _TooLarge(Exception):
    def __init__(self, key: str, problem: str):
        super().__init__(problem)
        self.key = key


def _parts(path: str) -> list[str]:
    return [p for p in re.split(r"[.\[\]]", path) if p != ""]


def _key(parts: tuple) -> str:
    return ".".join(str(p) for p in parts) or "config"


class _Estimate:
    def __init__(self, root: Any):
        self.root, self.done, self.active = root, {}, []

    def lookup(self, parts: list[str]):
        node = self.root
        for part in parts:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    def target(self, ref: str, here: tuple) -> tuple | None:
        """The absolute key path ``ref`` names from the node at ``here``, or None (OmegaConf reports it)."""
        ref = ref.strip()
        if ref.startswith("."):
            dots = len(ref) - len(ref.lstrip("."))
            base = here[:-1][:max(len(here) - dots, 0)] if dots <= len(here) else None
            if base is None:
                return None
            parts = (*base, *_parts(ref[dots:]))
        else:
            parts = tuple(_parts(ref))
        return parts if self.lookup(list(parts)) is not None else None

    def refs(self, text: str, here: tuple) -> tuple[list[tuple], int]:
        """The key paths a string's interpolations read, and the length of its other text."""
        refs, rest = [], text
        while True:
            bodies = INNER.findall(rest)
            if not bodies:
                break
            for body in bodies:
                name, colon, args = body.partition(":")
                if not colon:
                    found = self.target(body, here)
                elif name.strip() in KEY_ARG_RESOLVERS:
                    found = self.target(args.split(",")[0], here)
                else:
                    found = None
                if found is not None:
                    refs.append(found)
            rest = INNER.sub("", rest)
        return refs, len(rest)

    def size(self, here: tuple) -> int:
        if here in self.done:
            return self.done[here]
        if here in self.active:
            return 0   # a cycle: OmegaConf names it
        if len(self.active) > MAX_CHAIN * 64:
            raise _TooLarge(_key(here), f"interpolations refer to interpolations more than {MAX_CHAIN} deep")
        node = self.lookup(list(here))
        self.active.append(here)
        if isinstance(node, Mapping):
            total = NODE_COST + sum(self.size((*here, str(k))) for k in node)
        elif isinstance(node, list):
            total = NODE_COST + sum(self.size((*here, str(i))) for i in range(len(node)))
        elif isinstance(node, str) and "${" in node:
            refs, own = self.refs(node, here)
            chain = sum(1 for step in self.active if isinstance(self.lookup(list(step)), str))
            if refs and chain > MAX_CHAIN:
                raise _TooLarge(_key(here), f"interpolations refer to interpolations more than {MAX_CHAIN} deep")
            total = own + sum(self.size(ref) for ref in refs)
        else:
            total = NODE_COST + len(str(node))
        self.active.pop()
        self.done[here] = total
        if total > MAX_CHARS:
            raise _TooLarge(_key(here), f"resolves to more than {MAX_CHARS:,} characters "
                            f"({MAX_CHARS // NODE_COST:,} values); interpolations of interpolations multiply")
        return total


def check(config: Any) -> None:
    """Raise a ConfigError naming the key whose resolved value would be too large or too deep."""
    try:
        _Estimate(config).size(())
    except _TooLarge as err:
        raise ConfigError(err.key, str(err), expected=f"interpolations that resolve to at most {MAX_CHARS:,} "
                          f"characters per value, at most {MAX_CHAIN} deep") from None
    except RecursionError:
        raise ConfigError("config", "nested too deeply to resolve",
                          expected=f"interpolations at most {MAX_CHAIN} deep") from None

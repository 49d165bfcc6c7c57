"""Download and unpack a public data set, checked and atomic.

    mm-train data download cifar10 --dest data          # -> data/cifar-10-batches-bin/
    mm-train data download cifar10 --dest data --url http://mirror/cifar-10-binary.tar.gz --md5 c32a...

The archive is fetched into a temporary folder beside ``DEST``, its checksum verified,
unpacked there, and the data set folder renamed into place in one step: a wrong
checksum or a broken transfer leaves nothing behind in ``DEST``.
"""
from __future__ import annotations

import hashlib
import http.client
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mm_train.core.errors import ConfigError, closest


@dataclass(frozen=True)
class Archive:
    url: str
    md5: str
    folder: str          # the folder the archive unpacks to


KNOWN = {
    "cifar10": Archive("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                       "c32a1d4ab5d03f1284b67883e8d87530", "cifar-10-batches-bin"),
    "cifar100": Archive("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
                        "03b5dce01913d631647c71ecec9e9cb8", "cifar-100-binary"),
}


def _fetch(url: str, target: Path, timeout: float) -> dict[str, str]:
    """Stream ``url`` into ``target``; return its md5 and sha256."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
            expected = response.headers.get("Content-Length")
            size = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                md5.update(chunk)
                sha256.update(chunk)
                size += len(chunk)
            if expected is not None and size != int(expected):
                raise ConfigError("download", f"transfer from {url} broke off after {size} of {expected} bytes",
                                  expected="a complete download: run the command again")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        raise ConfigError("download", f"cannot fetch {url}: {getattr(err, 'reason', err)}",
                          expected="a reachable URL (--url to use a mirror)") from None
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def _safe_extract(archive: Path, into: Path) -> None:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            path = (into / member.name).resolve()
            if not str(path).startswith(str(into.resolve())) or member.issym() or member.islnk():
                raise ConfigError("download", f"unsafe entry in the archive: {member.name}")
        tar.extractall(into)


def download(name: str, dest: str | Path, url: str | None = None, md5: str | None = None,
             sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Fetch data set ``name`` into ``dest/<folder>``; return that folder.

    A given ``sha256`` or ``md5`` replaces the known checksum (needed with a custom ``url``
    whose archive differs from the official one).
    """
    if name not in KNOWN:
        raise ConfigError("name", f"unknown data set '{name}'", expected=f"one of {sorted(KNOWN)}",
                          suggestions=closest(name, KNOWN))
    known = KNOWN[name]
    url = url or known.url
    if sha256 is None and md5 is None:
        md5 = known.md5
    dest = Path(dest)
    final = dest / known.folder
    if final.exists():
        raise ConfigError("--dest", f"{final} already exists", expected="a destination without the data set "
                          "(remove it to download again)")
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-download-", dir=dest))
    try:
        archive = work / "archive"
        digests = _fetch(url, archive, timeout)
        kind, want = ("sha256", sha256) if sha256 is not None else ("md5", md5)
        if digests[kind] != want.lower():
            raise ConfigError("download", f"checksum mismatch for {url}: {kind} {digests[kind]}",
                              expected=f"{kind} {want}; nothing was unpacked")
        unpacked = work / "unpacked"
        unpacked.mkdir()
        try:
            _safe_extract(archive, unpacked)
        except (tarfile.TarError, EOFError, OSError) as err:
            raise ConfigError("download", f"cannot unpack {url}: {err}", expected="a .tar.gz archive") from None
        found = [p for p in unpacked.rglob(known.folder) if p.is_dir()]
        if not found:
            raise ConfigError("download", f"the archive from {url} has no {known.folder}/ folder",
                              expected=f"the {name} archive")
        found[0].rename(final)               # atomic: same file system
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created and not any(dest.iterdir()):   # a failed download leaves no empty folder behind
            dest.rmdir()

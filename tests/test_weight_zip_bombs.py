"""A .pth whose zip entries are compressed (torch.save never compresses) is refused before anything is
inflated, naming the entry and the size it declares: a zip bomb never reaches memory."""
from __future__ import annotations

import zipfile

import pytest

from mm_train.core.errors import ConfigError
from mm_train.migrate.torch_pickle import load_torch_file


def test_a_compressed_pth_entry_is_refused_before_inflating(tmp_path):
    bomb = tmp_path / "bomb.pth"
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(bomb, "w") as archive:   # an empty dict, and a deflated storage of 256 MiB of zeros
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        info = zipfile.ZipInfo("archive/data/0")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as entry:
            for _ in range(256):
                entry.write(chunk)
    assert bomb.stat().st_size < 2_000_000
    with pytest.raises(ConfigError) as err:
        load_torch_file(bomb, "init_from")
    message = str(err.value)
    assert message.startswith(f"init_from: {bomb}: the entry archive/data/0 is compressed")
    assert "that would inflate to 256.0 MiB" in message, message

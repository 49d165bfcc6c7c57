"""``mm-train data convert`` round trips and ``mm-train data download`` against a local HTTP server."""
from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest

from helpers import cli_main
from mm_train.data.synthetic import write_image_folder

TF_FEATURES = {"image": {"type": "bytes"}, "label": {"type": "int64"}}


def read_all(cfg):
    """(label, image bytes) of every sample through the framework's reader, in a canonical order."""
    from mm_train.data import build_dataset
    data = build_dataset({**cfg, "eval": {"batch_size": 1, "shuffle": False}}, "eval")
    rows = [(int(r["label"][0]), r["image"][0].tobytes(), r["image"][0].shape)
            for r in data.create_dict_iterator(output_numpy=True, num_epochs=1)]
    return sorted(rows)


def test_cifar10_to_mindrecord_and_tfrecord_and_back_is_identical(cifar_dir, tmp_path):
    from mm_train.data.convert import convert
    files, count = convert("cifar10", str(cifar_dir), "mindrecord", str(tmp_path / "c.mindrecord"), shards=2,
                           usage="test", limit=500)
    assert count == 500 and [f.name for f in files] == ["c.mindrecord0", "c.mindrecord1"]
    files, _ = convert("mindrecord", str(files[0]), "tfrecord", str(tmp_path / "c.tfrecord"), shards=3)
    assert [f.name for f in files] == [f"c.tfrecord-0000{i}-of-00003" for i in range(3)]
    files, _ = convert("tfrecord", str(tmp_path / "c.tfrecord-*"), "mindrecord", str(tmp_path / "back.mindrecord"))

    raw = np.fromfile(cifar_dir / "test_batch.bin", np.uint8).reshape(-1, 3073)[:500]
    expected = sorted((int(r[0]), r[1:].reshape(3, 32, 32).transpose(1, 2, 0).tobytes(), (32, 32, 3)) for r in raw)
    assert read_all({"type": "mindrecord", "path": str(tmp_path / "c.mindrecord0")}) == expected
    assert read_all({"type": "tfrecord", "path": str(tmp_path / "c.tfrecord-*"), "features": TF_FEATURES}) == expected
    assert read_all({"type": "mindrecord", "path": str(tmp_path / "back.mindrecord")}) == expected


def test_image_folder_converts_through_the_cli_image_for_image(tmp_path):
    write_image_folder(tmp_path / "folder", 12, usage="val", classes=3)
    source = read_all({"type": "image_folder", "path": str(tmp_path / "folder"), "usage": "val"})
    done = cli_main("data", "convert", "image_folder", str(tmp_path / "folder"), str(tmp_path / "f.mindrecord"),
                        "--usage", "val", "--shards", "2")
    assert done.returncode == 0, done.stderr
    assert "wrote 12 samples to 2 mindrecord file(s)" in done.stdout
    done = cli_main("data", "convert", "image_folder", str(tmp_path / "folder"), str(tmp_path / "f.tfrecord"),
                        "--usage", "val", "--to", "tfrecord")
    assert done.returncode == 0, done.stderr
    assert read_all({"type": "mindrecord", "path": str(tmp_path / "f.mindrecord0")}) == source
    assert read_all({"type": "tfrecord", "path": str(tmp_path / "f.tfrecord"), "features": TF_FEATURES}) == source
    assert sorted({label for label, _, _ in source}) == [0, 1, 2]


def test_convert_bad_source_says_so_and_writes_nothing(tmp_path):
    done = cli_main("data", "convert", "tfrecord", str(tmp_path / "missing.tfrecord"),
                        str(tmp_path / "o.mindrecord"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"file not found: {tmp_path / 'missing.tfrecord'}" in done.stderr
    assert list(tmp_path.iterdir()) == []


# --- download ------------------------------------------------------------------------------------

def cifar_archive(folder) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ("data_batch_1.bin", "test_batch.bin"):
            tar.add(folder / name, arcname=f"cifar-10-batches-bin/{name}")
        info = tarfile.TarInfo("cifar-10-batches-bin/readme.html")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory, cifar_dir):
    root = tmp_path_factory.mktemp("www")
    (root / "cifar-10-binary.tar.gz").write_bytes(cifar_archive(cifar_dir))
    archive = (root / "cifar-10-binary.tar.gz").read_bytes()
    (root / "cut.tar.gz").write_bytes(archive)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/cut.tar.gz":   # announces the full size, sends half, hangs up
                self.send_response(200)
                self.send_header("Content-Length", str(len(archive)))
                self.end_headers()
                self.wfile.write(archive[: len(archive) // 2])
                return
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, hashlib.sha256(archive).hexdigest(), hashlib.md5(archive).hexdigest()
    httpd.shutdown()


def test_download_verifies_unpacks_and_reads(server, tmp_path):
    from mm_train.data.download import download
    base, sha256, _ = server
    folder = download("cifar10", tmp_path / "data", url=f"{base}/cifar-10-binary.tar.gz", sha256=sha256)
    assert folder == tmp_path / "data" / "cifar-10-batches-bin"
    assert sorted(p.name for p in folder.iterdir()) == ["data_batch_1.bin", "readme.html", "test_batch.bin"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cifar-10-batches-bin"]   # no temp left
    from mm_train.data import build_dataset
    assert build_dataset({"type": "cifar10", "path": str(folder), "eval": {"batch_size": 100}},
                         "eval").get_dataset_size() == 100


def test_download_cli_with_md5(server, tmp_path):
    base, _, md5 = server
    done = cli_main("data", "download", "cifar10", "--dest", str(tmp_path), "--url",
                        f"{base}/cifar-10-binary.tar.gz", "--md5", md5)
    assert done.returncode == 0, done.stderr
    assert f"cifar10 is in {tmp_path / 'cifar-10-batches-bin'}" in done.stdout


def test_download_with_a_wrong_checksum_leaves_nothing(server, tmp_path):
    base, _, _ = server
    done = cli_main("data", "download", "cifar10", "--dest", str(tmp_path / "data"), "--url",
                        f"{base}/cifar-10-binary.tar.gz", "--sha256", "0" * 64)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"checksum mismatch for {base}/cifar-10-binary.tar.gz" in done.stderr
    assert f"expected sha256 {'0' * 64}; nothing was unpacked" in done.stderr
    assert not (tmp_path / "data").exists()     # the folder the download made is gone again


def test_download_broken_transfer_leaves_nothing(server, tmp_path):
    from mm_train.data.download import download
    from mm_train.core.errors import ConfigError
    base, sha256, _ = server
    with pytest.raises(ConfigError, match=r"cut.tar.gz") as err:
        download("cifar10", tmp_path, url=f"{base}/cut.tar.gz", sha256=sha256)
    assert "broke off" in str(err.value) or "cannot fetch" in str(err.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match=r"cannot fetch http://127.0.0.1:1/x.tar.gz"):
        download("cifar10", tmp_path, url="http://127.0.0.1:1/x.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_download_official_defaults():
    from mm_train.data.download import KNOWN
    assert KNOWN["cifar10"].url == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    assert KNOWN["cifar10"].md5 == "c32a1d4ab5d03f1284b67883e8d87530"

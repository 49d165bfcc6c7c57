"""TFRecord files without TensorFlow: record framing and ``tf.train.Example`` encoding.

A TFRecord file is a sequence of records, each framed as::

    uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)

(little endian), and each record's data is a serialized ``tf.train.Example``:
a map from feature name to a list of bytes, float32 or int64 values. Example::

    with TFRecordWriter("train.tfrecord") as w:
        w.write(encode_example({"image": png_bytes, "label": 3}))
    for features in read_examples("train.tfrecord"):
        features["label"]            # [3]
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping

import numpy as np
from crc32c import crc32c


class TFRecordError(ValueError):
    """A file that is not valid TFRecord (bad framing or checksum)."""


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class TFRecordWriter:
    """Append framed records to a file; use as a context manager."""

    def __init__(self, path: str | Path):
        self._file: BinaryIO = open(path, "wb")

    def write(self, data: bytes) -> None:
        length = struct.pack("<Q", len(data))
        self._file.write(length + struct.pack("<I", masked_crc(length)) + data
                         + struct.pack("<I", masked_crc(data)))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "TFRecordWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_records(path: str | Path, check_data: bool = True, limit: int | None = None) -> Iterator[bytes]:
    """The records of one file; raise TFRecordError at the first bad frame."""
    with open(path, "rb") as f:
        index = 0
        while limit is None or index < limit:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise TFRecordError(f"record {index}: header cut short ({len(header)} of 12 bytes)")
            length, length_crc = struct.unpack("<QI", header)
            if masked_crc(header[:8]) != length_crc:
                raise TFRecordError(f"record {index}: length checksum mismatch (corrupt header, not a TFRecord file?)")
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                raise TFRecordError(f"record {index}: data cut short (file truncated)")
            if check_data and struct.unpack("<I", footer)[0] != masked_crc(data):
                raise TFRecordError(f"record {index}: data checksum mismatch (corrupt record)")
            yield data
            index += 1


def check_file(path: str | Path) -> None:
    """Check the framing and checksums of the first record (raises TFRecordError)."""
    if next(read_records(path, limit=1), None) is None:
        raise TFRecordError("the file is empty")


def verify_file(path: str | Path) -> int:
    """Check every record's framing and both checksums; the number of records (raises TFRecordError).

    Example::

        verify_file("train.tfrecord")    # 10000, or TFRecordError("record 100: data checksum mismatch ...")
    """
    count = 0
    for _ in read_records(path):
        count += 1
    if count == 0:
        raise TFRecordError("the file is empty")
    return count


# --- protobuf wire format, just enough for tf.train.Example ---------------------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _feature(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, str)):
        value = [value]
    if isinstance(value, np.ndarray) and value.dtype == np.uint8:
        value = [value.tobytes()]
    values = list(np.asarray(value).reshape(-1)) if not isinstance(value, list) else value
    if values and isinstance(values[0], (bytes, bytearray, str)):
        items = b"".join(_field(1, v.encode() if isinstance(v, str) else bytes(v)) for v in values)
        return _field(1, items)                                            # bytes_list
    array = np.asarray(values)
    if array.dtype.kind == "f":
        return _field(2, _field(1, array.astype("<f4").tobytes()))          # float_list, packed
    return _field(3, _field(1, b"".join(_varint(int(v)) for v in array)))   # int64_list, packed


def encode_example(features: Mapping[str, Any]) -> bytes:
    """A serialized ``tf.train.Example``: bytes/str -> bytes_list, floats -> float_list, ints -> int64_list."""
    entries = b"".join(_field(1, _field(1, name.encode()) + _field(2, _feature(value)))
                       for name, value in features.items())
    return _field(1, entries)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise TFRecordError("protobuf varint cut short")
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 2:
            size, pos = _read_varint(data, pos)
            yield number, wire, data[pos:pos + size]
            pos += size
        elif wire == 0:
            value, pos = _read_varint(data, pos)
            yield number, wire, value
        elif wire == 5:
            yield number, wire, data[pos:pos + 4]
            pos += 4
        elif wire == 1:
            yield number, wire, data[pos:pos + 8]
            pos += 8
        else:
            raise TFRecordError(f"unsupported protobuf wire type {wire}")


def _decode_feature(data: bytes) -> tuple[str, list]:
    for kind, _, payload in _fields(data):
        if kind == 1:
            return "bytes", [bytes(v) for _, _, v in _fields(payload)]
        if kind == 2:
            values: list = []
            for _, wire, v in _fields(payload):
                values += list(np.frombuffer(v, "<f4")) if wire in (2, 5) else []
            return "float", values
        if kind == 3:
            values = []
            for _, wire, v in _fields(payload):
                if wire == 0:
                    values.append(v - (1 << 64) if v >= 1 << 63 else v)
                else:
                    pos = 0
                    while pos < len(v):
                        x, pos = _read_varint(v, pos)
                        values.append(x - (1 << 64) if x >= 1 << 63 else x)
            return "int64", values
    return "bytes", []


def decode_example(data: bytes) -> dict[str, tuple[str, list]]:
    """``{name: (kind, values)}`` with kind one of bytes, float, int64."""
    out = {}
    for number, _, features in _fields(data):
        if number != 1:
            continue
        for _, _, entry in _fields(features):
            name, value = "", b""
            for n, _, v in _fields(entry):
                if n == 1:
                    name = bytes(v).decode()
                elif n == 2:
                    value = v
            out[name] = _decode_feature(value)
    return out


def read_examples(path: str | Path) -> Iterator[dict[str, list]]:
    """``{name: values}`` of each Example in a TFRecord file."""
    for record in read_records(path):
        yield {name: values for name, (_, values) in decode_example(record).items()}

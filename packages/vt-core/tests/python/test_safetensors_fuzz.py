"""Property test of the safetensors reader: valid files, mutated (byte flips, truncation, header
edits, appended bytes), either load tensors whose bytes are exactly the ones their header entry
names inside the file, or raise ValueError. Nothing else: no other exception, no crash, no read
outside the file. Bounded for CI (a few seconds)."""

import json
import os
import struct
import tempfile

import pytest
import vt.core as vt
from vt.core import safetensors as vst

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DTYPE_NAMES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
               "F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}
ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "I32": 4, "I64": 8, "F16": 2, "BF16": 2, "F32": 4, "F64": 8}


@st.composite
def valid_files(draw) -> bytes:
    """A well-formed file built by hand (independent of vt's writer), in any header order."""
    names = draw(st.lists(st.text(max_size=5), max_size=4, unique=True))
    header, data, offset = {}, b"", 0
    for name in names:
        dtype = draw(st.sampled_from(sorted(ITEMSIZE)))
        shape = draw(st.lists(st.integers(0, 3), max_size=3))
        nbytes = ITEMSIZE[dtype]
        for s in shape:
            nbytes *= s
        if dtype == "BOOL":
            payload = bytes(draw(st.lists(st.integers(0, 1), min_size=nbytes, max_size=nbytes)))
        else:
            payload = draw(st.binary(min_size=nbytes, max_size=nbytes))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        data += payload
        offset += nbytes
    if draw(st.booleans()):
        header["__metadata__"] = draw(st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2))
    items = list(header.items())
    order = draw(st.permutations(range(len(items))))
    text = json.dumps(dict(items[i] for i in order), separators=(",", ":"),
                      ensure_ascii=draw(st.booleans())).encode()
    text += b" " * draw(st.integers(0, 9))
    return struct.pack("<Q", len(text)) + text + data


def header_length(data: bytes) -> int:
    return struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else 0


@st.composite
def mutated_files(draw) -> bytes:
    data = bytearray(draw(valid_files()))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "flip_header", "flip_data", "truncate", "edit_header", "append"]))
        if kind in ("flip", "flip_header", "flip_data") and data:
            lo, hi = 0, len(data)
            if kind == "flip_header":
                hi = min(len(data), 8 + header_length(data))
            elif kind == "flip_data":
                lo = min(len(data) - 1, 8 + header_length(data))
            pos = draw(st.integers(lo, max(hi, lo + 1) - 1))
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)):]
        elif kind == "append":
            data += draw(st.binary(min_size=1, max_size=16))
        elif kind == "edit_header" and len(data) >= 8:
            n = min(header_length(data), len(data) - 8)
            text = bytearray(data[8:8 + n])
            pos = draw(st.integers(0, len(text)))
            action = draw(st.sampled_from(["insert", "delete", "number"]))
            if action == "insert":
                text[pos:pos] = draw(st.sampled_from([b"{", b"}", b"[", b"]", b",", b":", b'"', b"0", b"9",
                                                      b"-", b".", b"e", b"\\", b"\\u", b"null", b"\xff", b"\xc3"]))
            elif action == "delete":
                del text[pos:pos + draw(st.integers(1, 4))]
            else:
                number = draw(st.one_of(st.integers(0, 64), st.integers(0, 2**64 + 5)))
                text[pos:pos] = str(number).encode()
            # Usually keep the length prefix consistent, so the JSON parser itself is exercised.
            prefix = struct.pack("<Q", len(text)) if draw(st.booleans()) else bytes(data[:8])
            data = bytearray(prefix) + text + data[8 + n:]
    return bytes(data)


def raw_bytes(t) -> bytes:
    """The bytes of a tensor, read through vt's writer (works for every dtype, bfloat16 included)."""
    s = vst.save({"t": t})
    return s[8 + header_length(s):]


def check_loaded(data: bytes, tensors: dict) -> None:
    n = header_length(data)
    header = json.loads(data[8:8 + n].decode("utf-8"))
    start = 8 + n
    assert sorted(tensors) == sorted(k for k in header if k != "__metadata__")
    for name, t in tensors.items():
        info = header[name]
        begin, end = info["data_offsets"]
        assert 0 <= begin <= end <= len(data) - start
        assert list(t.shape) == info["shape"]
        assert t.dtype == getattr(vt, DTYPE_NAMES[info["dtype"]])
        assert t.nbytes == end - begin
        assert raw_bytes(t) == data[start + begin:start + end]


def load_both_ways(data: bytes):
    """vt.safetensors.load(bytes) and load_file (the mmap path) must agree."""
    try:
        from_bytes = vst.load(data)
    except ValueError as e:
        from_bytes = e
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            from_file = vst.load_file(path)
        except ValueError as e:
            from_file = e
    finally:
        os.unlink(path)
    assert type(from_bytes) is type(from_file), (from_bytes, from_file)
    if isinstance(from_bytes, ValueError):
        assert str(from_bytes).replace("buffer", "file") == str(from_file)
        return None
    for k in from_bytes:
        assert raw_bytes(from_bytes[k]) == raw_bytes(from_file[k])
    return from_bytes


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(valid_files())
def test_valid_files_load_exactly(data):
    tensors = load_both_ways(data)
    assert tensors is not None
    check_loaded(data, tensors)


@FUZZ
@given(mutated_files())
def test_mutated_files_load_inside_the_file_or_raise_value_error(data):
    tensors = load_both_ways(data)
    if tensors is not None:
        check_loaded(data, tensors)
        assert all(isinstance(t, vt.Tensor) for t in tensors.values())

"""vt.core.safetensors against the safetensors package: round trips both ways (numpy and torch
flavours), byte-identical output, metadata, lazy slices over the mapping, and every kind of
hostile file as its own test (each must raise ValueError naming the problem)."""

import gc
import json
import struct

import numpy as np
import pytest
import vt.core as vt
from reference import from_torch, to_torch
from vt.core import safetensors as vst

torch = pytest.importorskip("torch")
st_numpy = pytest.importorskip("safetensors.numpy")
st_torch = pytest.importorskip("safetensors.torch")
from safetensors import safe_open as ref_safe_open

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
NUMPY_DTYPES = [d for d in ALL_DTYPES if d != "bfloat16"]


def sample(dtype: str, shape, seed: int = 0) -> "torch.Tensor":
    g = torch.Generator().manual_seed(seed)
    if dtype == "bool":
        return torch.rand(shape, generator=g) > 0.5
    if dtype == "uint8":
        return torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    if dtype in ("int8", "int16", "int32", "int64"):
        return torch.randint(-100, 100, shape, generator=g).to(getattr(torch, dtype))
    return (torch.randn(shape, generator=g) * 10).to(getattr(torch, dtype))


def torch_dict(dtypes, shapes=((2, 3), (5,), (), (0, 4))) -> dict:
    out = {}
    for i, dtype in enumerate(dtypes):
        for j, shape in enumerate(shapes):
            out[f"{dtype}.{j}"] = sample(dtype, shape, seed=i * 10 + j)
    return out


def vt_dict(tensors: dict) -> dict:
    return {k: from_torch(v) for k, v in tensors.items()}


def assert_same_dict(vt_tensors: dict, expected: dict) -> None:
    assert sorted(vt_tensors) == sorted(expected)
    for k, v in expected.items():
        assert torch.equal(to_torch(vt_tensors[k]), v), k


def header_of(data: bytes) -> dict:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n])


# --------------------------------------------------------------------------------------------
# writing: byte identity with the reference
# --------------------------------------------------------------------------------------------


def test_save_matches_safetensors_torch_bytes_for_every_dtype():
    tensors = torch_dict(ALL_DTYPES)
    assert vst.save(vt_dict(tensors)) == st_torch.save(tensors)


def test_save_matches_safetensors_numpy_bytes():
    arrays = {k: v.numpy() for k, v in torch_dict(NUMPY_DTYPES).items()}
    # vt tensors taken straight from the arrays through DLPack
    assert vst.save({k: vt.from_dlpack(v) for k, v in arrays.items()}) == st_numpy.save(arrays)


@pytest.mark.parametrize("metadata", [None, {}, {"format": "pt"}, {"k\u00e9y \"q\"": "v\n\x01\\/"}])
def test_save_matches_reference_with_metadata(metadata):
    tensors = {"b": sample("float32", (3,)), "a": sample("int64", (2, 2)), "c": sample("bfloat16", (1,))}
    assert vst.save(vt_dict(tensors), metadata=metadata) == st_torch.save(tensors, metadata=metadata)


def test_save_with_several_metadata_entries_matches_up_to_key_order():
    tensors = {"w": sample("float16", (4,))}
    metadata = {"z": "1", "a": "2", "m": "3"}
    mine, ref = vst.save(vt_dict(tensors), metadata), st_torch.save(tensors, metadata=metadata)
    assert len(mine) == len(ref)
    assert header_of(mine) == header_of(ref)
    assert mine[len(mine) - 8:] == ref[len(ref) - 8:]
    assert list(header_of(mine)["__metadata__"]) == ["a", "m", "z"]  # vt writes keys sorted


def test_names_with_unicode_and_escapes_match_reference():
    tensors = {"\u00e9t\u00e9": sample("float32", (2,)), "tab\there": sample("float32", (1,)),
               "quote\"s": sample("float32", (1,)), "\U0001F600": sample("float32", (1,)), "": sample("int8", (3,))}
    assert vst.save(vt_dict(tensors)) == st_torch.save(tensors)


def test_save_file_matches_torch_save_file(tmp_path):
    tensors = torch_dict(["float32", "bfloat16", "int32"], shapes=((7, 3), (1,)))
    st_torch.save_file(tensors, tmp_path / "ref.safetensors", metadata={"step": "3"})
    vst.save_file(vt_dict(tensors), tmp_path / "vt.safetensors", metadata={"step": "3"})
    assert (tmp_path / "vt.safetensors").read_bytes() == (tmp_path / "ref.safetensors").read_bytes()


def test_non_contiguous_tensors_are_written_contiguous():
    base = sample("float32", (4, 6))
    views = {"t": base.t(), "s": base[::2, 1::2]}
    expected = st_torch.save({k: v.contiguous() for k, v in views.items()})
    assert vst.save(vt_dict(views)) == expected


def test_empty_dict():
    assert vst.save({}) == st_torch.save({}) == b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "
    assert vst.load(vst.save({})) == {}


def test_save_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="not a vt Tensor"):
        vst.save({"a": np.zeros(2)})
    with pytest.raises(TypeError, match="names must be str"):
        vst.save({1: vt.zeros(2)})
    with pytest.raises(TypeError, match="metadata keys and values must be str"):
        vst.save({"a": vt.zeros(2)}, metadata={"k": 1})
    with pytest.raises(ValueError, match="reserved"):
        vst.save({"__metadata__": vt.zeros(2)})
    with pytest.raises(FileNotFoundError):
        vst.save_file({"a": vt.zeros(2)}, tmp_path / "missing" / "x.safetensors")


# --------------------------------------------------------------------------------------------
# reading: round trips both ways with the reference
# --------------------------------------------------------------------------------------------


def test_vt_reads_files_written_by_safetensors_torch(tmp_path):
    tensors = torch_dict(ALL_DTYPES)
    path = tmp_path / "ref.safetensors"
    st_torch.save_file(tensors, path, metadata={"a": "b"})
    loaded = vst.load_file(path)
    assert_same_dict(loaded, tensors)
    assert list(loaded) == sorted(tensors)
    with vst.safe_open(path) as f:
        assert f.metadata() == {"a": "b"}


def test_vt_reads_files_written_by_safetensors_numpy(tmp_path):
    arrays = {k: v.numpy() for k, v in torch_dict(NUMPY_DTYPES).items()}
    path = tmp_path / "ref.safetensors"
    st_numpy.save_file(arrays, path)
    for k, t in vst.load_file(path).items():
        np.testing.assert_array_equal(t.numpy(), arrays[k])
        assert t.numpy().dtype == arrays[k].dtype


def test_safetensors_reads_files_written_by_vt(tmp_path):
    tensors = torch_dict(ALL_DTYPES)
    path = tmp_path / "vt.safetensors"
    vst.save_file(vt_dict(tensors), path, metadata={"who": "vt"})
    loaded = st_torch.load_file(path)
    assert loaded.keys() == tensors.keys()
    for k, v in tensors.items():
        assert torch.equal(loaded[k], v), k
    with ref_safe_open(path, framework="pt") as f:
        assert f.metadata() == {"who": "vt"}
    arrays = st_numpy.load(vst.save({k: vt.from_dlpack(v.numpy()) for k, v in torch_dict(NUMPY_DTYPES).items()}))
    for k, v in torch_dict(NUMPY_DTYPES).items():
        np.testing.assert_array_equal(arrays[k], v.numpy())


def test_load_and_save_bytes_round_trip():
    tensors = torch_dict(ALL_DTYPES)
    data = vst.save(vt_dict(tensors))
    assert_same_dict(vst.load(data), tensors)
    assert_same_dict(vst.load(bytearray(data)), tensors)
    assert_same_dict({k: from_torch(v) for k, v in st_torch.load(data).items()}, tensors)


def test_loaded_bytes_are_owned_copies():
    data = vst.save({"x": vt.arange(4)})
    t = vst.load(data)["x"]
    t[0] = 10
    assert t.tolist() == [10, 1, 2, 3]
    assert vst.load(data)["x"].tolist() == [0, 1, 2, 3]


# --------------------------------------------------------------------------------------------
# safe_open: keys, metadata, lazy slices, the mapping's lifetime
# --------------------------------------------------------------------------------------------


@pytest.fixture
def model_file(tmp_path):
    tensors = {"w": sample("float32", (8, 6)), "b": sample("bfloat16", (6,)), "n": sample("int64", (3, 2, 5))}
    path = tmp_path / "model.safetensors"
    st_torch.save_file(tensors, path, metadata={"format": "pt"})
    return path, tensors


def test_safe_open_mirrors_the_reference(model_file):
    path, tensors = model_file
    with vst.safe_open(path, framework="vt") as f, ref_safe_open(path, framework="pt") as ref:
        assert f.keys() == ref.keys() == sorted(tensors)
        assert f.offset_keys() == ref.offset_keys()
        assert f.metadata() == ref.metadata()
        names = f.keys()
        for k in names:
            assert torch.equal(to_torch(f.get_tensor(k)), ref.get_tensor(k))
            assert f.get_slice(k).get_shape() == ref.get_slice(k).get_shape()
            assert f.get_slice(k).get_dtype() == ref.get_slice(k).get_dtype()
        with pytest.raises(KeyError, match="no tensor named 'missing'"):
            f.get_tensor("missing")


def test_metadata_is_none_when_absent(tmp_path):
    path = tmp_path / "x.safetensors"
    vst.save_file({"x": vt.zeros(2)}, path)
    with vst.safe_open(path) as f:
        assert f.metadata() is None


@pytest.mark.parametrize("index", [
    (slice(1, 3),), (slice(None), slice(None, None, 2)), (2,), (slice(2, 7, 3), 4), (Ellipsis, 1), (slice(0, 0),),
], ids=["rows", "step_cols", "int", "mixed", "ellipsis", "empty"])
def test_get_slice_matches_torch(model_file, index):
    path, tensors = model_file
    with vst.safe_open(path) as f, ref_safe_open(path, framework="pt") as ref:
        part = f.get_slice("w")[index]
        assert torch.equal(to_torch(part), tensors["w"][index])
        if all(not isinstance(i, type(Ellipsis)) for i in index):
            assert torch.equal(to_torch(part), ref.get_slice("w")[index])


def test_tensors_view_the_mapping_which_outlives_the_file(model_file):
    path, tensors = model_file
    with vst.safe_open(path) as f:
        a, b = f.get_tensor("w"), f.get_tensor("w")
        part = f.get_slice("w")[2:4]
    assert a.data_ptr() == b.data_ptr(), "both view the same mapping"
    assert part.data_ptr() == a.data_ptr() + 2 * 6 * 4, "a slice is a view, nothing is copied"
    del f, b
    gc.collect()
    assert torch.equal(to_torch(a), tensors["w"])  # the mapping stays while a tensor uses it
    closed = vst.safe_open(path)
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        closed.keys()


def test_writes_to_loaded_tensors_never_reach_the_file(model_file):
    path, tensors = model_file
    before = path.read_bytes()
    w = vst.load_file(path)["w"]
    w.fill_(0.0)
    assert w.sum().item() == 0.0
    assert path.read_bytes() == before
    assert torch.equal(to_torch(vst.load_file(path)["w"]), tensors["w"])


@pytest.mark.parametrize("framework, kind", [("numpy", np.ndarray), ("np", np.ndarray), ("pt", torch.Tensor),
                                             ("torch", torch.Tensor), ("vt", vt.Tensor)])
def test_frameworks(model_file, framework, kind):
    path, tensors = model_file
    with vst.safe_open(path, framework=framework) as f:
        w = f.get_tensor("w")
        assert isinstance(w, kind)
        assert isinstance(f.get_slice("w")[1:], kind)
        got = torch.from_numpy(np.asarray(w)) if kind is np.ndarray else w if kind is torch.Tensor else to_torch(w)
        assert torch.equal(got, tensors["w"])


def test_unknown_framework_and_missing_file(tmp_path, model_file):
    with pytest.raises(ValueError, match="framework must be one of"):
        vst.safe_open(model_file[0], framework="tf")
    with pytest.raises(FileNotFoundError):
        vst.load_file(tmp_path / "nope.safetensors")


def test_misaligned_data_section_is_copied_into_aligned_tensors(tmp_path):
    # A header length that is not a multiple of 8 (other writers may produce one): every tensor
    # starts at an odd address, so vt copies instead of viewing; the reference reads it too.
    header = b'{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F64","shape":[1],"data_offsets":[12,20]}}'
    assert (8 + len(header)) % 4 != 0
    data = struct.pack("<Q", len(header)) + header + struct.pack("<3f", 1.5, 2.5, 3.5) + struct.pack("<d", -7.25)
    path = tmp_path / "odd.safetensors"
    path.write_bytes(data)
    loaded = vst.load_file(path)
    assert loaded["a"].tolist() == [1.5, 2.5, 3.5] and loaded["b"].tolist() == [-7.25]
    assert loaded["a"].data_ptr() % 4 == 0 and loaded["b"].data_ptr() % 8 == 0
    assert st_numpy.load(data)["a"].tolist() == [1.5, 2.5, 3.5]


# --------------------------------------------------------------------------------------------
# hostile files: each raises ValueError naming the problem
# --------------------------------------------------------------------------------------------


def file_with(header, data=b"", length=None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


VALID = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


# name -> (file bytes, message fragment, does the reference reject it too?)
HOSTILE = {
    "empty_file": (b"", "too few for the 8-byte header length", True),
    "truncated_length_prefix": (b"\x10\x00\x00", "too few", True),
    "truncated_data": (file_with(VALID, b"\x00" * 7), "past the end of the data section", True),
    "header_length_beyond_file": (file_with(VALID, b"\x00" * 8, length=4096), "runs past the end of the file", True),
    "huge_header_length": (file_with(b"{}", length=200_000_000), "exceeds the limit of 100000000", True),
    "length_is_2_to_64_minus_1": (file_with(b"{}", length=2**64 - 1), "exceeds the limit", True),
    "not_json": (file_with(b"this is not json"), "the header must be a JSON object", True),
    "json_array": (file_with(b"[1, 2]"), "the header must be a JSON object", True),
    "unterminated_object": (file_with(b'{"x":{"dtype":"F32"'), "the text ends", True),
    "trailing_garbage": (file_with(b'{} {}'), "unexpected text after the top-level object", True),
    "trailing_nul_padding": (file_with(b'{}\x00\x00'), "unexpected text", True),
    "offsets_out_of_range": (file_with({"x": entry(offsets=(0, 8))}, b"\x00" * 4), "past the end of the data section", True),
    "offsets_far_out_of_range": (file_with({"x": entry(shape=(2**40,), offsets=(0, 2**42))}, b"\x00" * 8), "past the end", True),
    "overlapping_offsets": (file_with({"x": entry(offsets=(0, 8)), "y": entry(offsets=(4, 12))}, b"\x00" * 12), "overlapping", True),
    "hole_between_tensors": (file_with({"x": entry(offsets=(0, 8)), "y": entry(offsets=(12, 20))}, b"\x00" * 20), "holes are not allowed", True),
    "hole_at_start": (file_with({"x": entry(offsets=(4, 12))}, b"\x00" * 12), "holes are not allowed", True),
    "trailing_bytes_after_tensors": (file_with(VALID, b"\x00" * 12), "trailing bytes are not allowed", True),
    "end_before_begin": (file_with({"x": entry(shape=(0,), offsets=(8, 0))}, b"\x00" * 8), "end before they begin", True),
    "byte_count_mismatch": (file_with({"x": entry(shape=(3,), offsets=(0, 8))}, b"\x00" * 8), "needs 12 bytes but", True),
    "dtype_size_mismatch": (file_with({"x": entry(dtype="F64", offsets=(0, 8))}, b"\x00" * 8), "needs 16 bytes", True),
    "shape_overflow": (file_with({"x": entry(shape=(2**62, 8), offsets=(0, 8))}, b"\x00" * 8), "overflows int64", True),
    "bytes_overflow": (file_with({"x": entry(dtype="F64", shape=(2**61,), offsets=(0, 8))}, b"\x00" * 8), "more bytes than fit", True),
    "number_out_of_range": (file_with(b'{"x":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}', b"\x00" * 8), "out of range", True),
    "negative_shape": (file_with({"x": entry(shape=(-2,))}, b"\x00" * 8), "non-negative integer", True),
    "float_offset": (file_with(b'{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}', b"\x00" * 8), "must be an integer", True),
    "leading_zero": (file_with(b'{"x":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}', b"\x00" * 8), "leading zero", True),
    "three_offsets": (file_with({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4, 8]}}, b"\x00" * 8), "exactly two numbers", True),
    "duplicate_names": (file_with(b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', b"\x00" * 8), "names tensor 'x' twice", False),
    "duplicate_field": (file_with(b'{"x":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8), "two 'dtype' fields", False),
    "missing_field": (file_with({"x": {"dtype": "F32", "shape": [2]}}, b"\x00" * 8), "lacks 'data_offsets'", True),
    "unknown_field": (file_with({"x": {**entry(), "scale": 1}}, b"\x00" * 8), "unknown field 'scale'", False),
    "tensor_not_an_object": (file_with({"x": [1, 2]}), "must be an object", True),
    "unsupported_dtype": (file_with({"x": entry(dtype="U16", shape=(4,))}, b"\x00" * 8), "dtype U16, which vt does not support", False),
    "float8_dtype": (file_with({"x": entry(dtype="F8_E4M3", shape=(8,))}, b"\x00" * 8), "dtype F8_E4M3", False),
    "unknown_dtype": (file_with({"x": entry(dtype="Q7")}, b"\x00" * 8), "unknown dtype 'Q7'", True),
    "dtype_not_a_string": (file_with(b'{"x":{"dtype":7,"shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8), "expected a string", True),
    "too_many_dims": (file_with({"x": entry(shape=(1,) * 65 + (2,))}, b"\x00" * 8), "more than 64 dims", False),
    "metadata_value_not_a_string": (file_with({"__metadata__": {"k": 1}}), "is not a string", True),
    "metadata_nested": (file_with({"__metadata__": {"k": {"a": "b"}}}), "is not a string", True),
    "metadata_not_an_object": (file_with({"__metadata__": "text"}), "__metadata__ must be an object", True),
    "duplicate_metadata_key": (file_with(b'{"__metadata__":{"k":"a","k":"b"}}'), "has the key 'k' twice", False),
    "two_metadata_entries": (file_with(b'{"__metadata__":{},"__metadata__":{}}'), "two '__metadata__' entries", False),
    "invalid_utf8_name": (file_with(b'{"\xff\xfe":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8), "invalid UTF-8", True),
    "overlong_utf8": (file_with(b'{"\xc0\xaf":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8), "invalid UTF-8", True),
    "lone_surrogate_escape": (file_with(b'{"\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8), "lone high surrogate", True),
    "control_char_in_string": (file_with(b'{"a\nb":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8), "control character", True),
    "bad_escape": (file_with(b'{"a\\qb":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8), "invalid escape", True),
    "deep_nesting": (file_with(b'{"x":' + b"[" * 100000 + b"]" * 100000 + b"}"), "must be an object", True),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_is_refused(case, tmp_path):
    data, match, reference_rejects = HOSTILE[case]
    with pytest.raises(ValueError, match=match):
        vst.load(data)
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match):
        vst.load_file(path)
    if reference_rejects:  # the reference implementation refuses the same file
        with pytest.raises(Exception):  # noqa: B017  (SafetensorError or a wrapped one)
            st_numpy.load(data)


def test_valid_minimal_files_load():
    assert vst.load(file_with(VALID, struct.pack("<2f", 1.0, 2.0)))["x"].tolist() == [1.0, 2.0]
    # whitespace around tokens and escaped names are fine
    header = b' { "\\u0078" : { "shape" : [ 2 ] , "data_offsets" : [ 0 , 8 ] , "dtype" : "F32" } }   '
    assert vst.load(file_with(header, struct.pack("<2f", 3.0, 4.0)))["x"].tolist() == [3.0, 4.0]
    # null metadata means none, as the reference reads it
    with_null = file_with(b'{"__metadata__":null}')
    assert vst.load(with_null) == {}
    # zero-size tensors may share an offset
    two_empty = file_with({"a": entry(shape=(0,), offsets=(0, 0)), "b": entry(shape=(0, 3), offsets=(0, 0))})
    assert {k: v.shape for k, v in vst.load(two_empty).items()} == {"a": (0,), "b": (0, 3)}

"""The API parity manifest holds: every torch name vt.torch claims exists with torch's kind and a
compatible signature (tools/check_api_parity.py), and the tools themselves catch what they are
meant to catch."""

import inspect
import json
import pathlib
import sys

import pytest

torch = pytest.importorskip("torch")
TOOLS = pathlib.Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))
import api_surface
import check_api_parity
import make_api_manifest

P = inspect.Parameter


def test_every_claimed_name_keeps_its_kind_and_signature(capsys):
    assert check_api_parity.main([]) == 0, capsys.readouterr().out
    assert " 0 missing, 0 wrong kind, 0 incompatible" in capsys.readouterr().out


def test_the_manifest_claims_the_torch_surfaces_vt_implements():
    sections = check_api_parity.load_manifest()["sections"]
    assert {"assert_close", "make_tensor"} <= set(sections["torch.testing"])
    assert {"is_available", "device_count", "Stream", "manual_seed"} <= set(sections["torch.cuda"])
    assert {"Library", "custom_op", "register_autograd"} <= set(sections["torch.library"])
    assert sections["torch.Tensor"]["shape"]["kind"] == "property"
    assert sections["torch.nn"]["Linear"]["kind"] == "class"


def _write(tmp_path, sections) -> pathlib.Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"sections": sections}))
    return path


def test_a_missing_name_fails(tmp_path, capsys):
    path = _write(tmp_path, {"torch": {"abs": {"kind": "function"}, "not_in_vt_at_all": {"kind": "function"}}})
    assert check_api_parity.main(["--manifest", str(path)]) == 1
    out = capsys.readouterr().out
    assert "missing  torch.not_in_vt_at_all" in out and "1 missing" in out


def test_a_wrong_kind_fails(tmp_path, capsys):
    path = _write(tmp_path, {"torch.Tensor": {"shape": {"kind": "function"}}})
    assert check_api_parity.main(["--manifest", str(path)]) == 1
    assert "wrong kind  torch.Tensor.shape: vt has a property, torch a function" in capsys.readouterr().out


def test_known_incompatibilities_are_reported_not_failed_unless_strict(tmp_path, capsys, monkeypatch):
    import vt.torch.nn.functional as F

    monkeypatch.setattr(F, "relu", lambda tensor: tensor)  # no parameter 'input': incompatible
    path = _write(tmp_path, {"torch.nn.functional": {"relu": {"kind": "function", "known_incompatible": "x"}},
                             "torch": {"abs": {"kind": "function", "known_incompatible": "fixed since"}}})
    findings = {f.name: f.status for f in check_api_parity.check(check_api_parity.load_manifest(path))}
    assert findings == {"relu": "known incompatible", "abs": "known, now passes"}
    assert check_api_parity.main(["--manifest", str(path)]) == 0
    assert check_api_parity.main(["--manifest", str(path), "--strict"]) == 1
    assert "known, now passes" in capsys.readouterr().out


def _sig(text: str) -> api_surface.Sig:
    return api_surface._parse_params(text, "test")


@pytest.mark.parametrize("torch_sig, vt_sig, reason", [
    ("input, other, *, alpha=1", "input, other, *, alpha=1, out=None", None),
    ("input, dim=None", "input, dim=None, keepdim=False", None),  # extra optional parameters are fine
    ("input, dim", "input, dim=None", None),  # a default where torch requires is fine
    ("input, *, alpha=1", "input, alpha=1", None),  # keyword-only may also be positional
    ("input, *, out=None", "input", None),  # out= is not claimed
    ("n, /", "count", None),  # positional-only: the name is not part of the API
    ("*size, dtype=None", "*size, dtype=None", None),
    ("size, *, dtype=None", "*args, size=None, dtype=None", None),  # vt sorts *args itself
    ("layout=torch.strided", "layout=None", None),  # None stands for torch's constant
    ("input, other", "input, tensor", "has no parameter 'other'"),
    ("input, dim, dtype=None", "input, dim, keepdim=False, dtype=None", "'dtype' is positional argument 3"),
    ("input, dim=-1", "input, dim=0", "'dim' defaults to 0 (torch: -1)"),
    ("input, flag=False", "input, flag=0", "'flag' defaults to 0 (torch: False)"),
    ("input, dim=None", "input, dim", "'dim' is required"),
    ("input, dim", "input, *, dim", "'dim' is keyword-only"),
    ("input", "input, extra", "requires 'extra', which torch does not have"),
    ("*tensors", "tensors", "takes no *tensors"),
    ("input, **kwargs", "input", "takes no **kwargs"),
])
def test_signature_rules(torch_sig, vt_sig, reason):
    found = check_api_parity.incompatibility(_sig(torch_sig), _sig(vt_sig))
    assert (found is None) if reason is None else (found is not None and found.startswith(reason)), found


def test_reading_native_and_stub_signatures():
    import vt.torch as vtorch

    (add,) = api_surface.signatures(vtorch.add, name="add", method=False, side="vt")
    assert [(p.name, p.kind, p.default) for p in add.params][:3] == [
        ("input", P.POSITIONAL_OR_KEYWORD, P.empty), ("other", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("alpha", P.KEYWORD_ONLY, 1)]
    stub = api_surface.signatures(torch.Tensor.add, name="add", method=True, side="torch", section="torch.Tensor")
    assert any([p.name for p in s.params][:2] == ["other", "alpha"] for s in stub)
    uniform = api_surface.signatures(torch.Tensor.uniform_, name="uniform_", method=True, side="torch",
                                     section="torch.Tensor")
    assert uniform[0].params[0].name == "from"  # the stub's from_ is torch's keyword `from`


def test_stub_corrections_describe_what_torch_accepts():
    assert torch.tensor([1.0], dtype=torch.float64).dtype == torch.float64
    with pytest.raises(TypeError):
        torch.tensor([1.0], torch.float64)  # dtype is keyword-only
    assert torch.numel(input=torch.zeros(2)) == 2
    with pytest.raises(TypeError, match="keyword"):
        torch.set_num_threads(num=torch.get_num_threads())
    np = pytest.importorskip("numpy")
    with pytest.raises(TypeError, match="keyword"):
        torch.from_numpy(ndarray=np.ones(1))
    assert torch.ones(1).requires_grad_(requires_grad=True).requires_grad
    with pytest.raises(TypeError):
        torch.ones(1).requires_grad_(mode=True)
    x = torch.ones(2)
    for method, default in (("contiguous", torch.contiguous_format), ("is_contiguous", torch.contiguous_format),
                            ("cpu", torch.preserve_format)):
        getattr(x, method)(memory_format=default)
        with pytest.raises(TypeError, match="positional"):  # memory_format is keyword-only
            getattr(x, method)(default)
    assert x.new_tensor([1], dtype=torch.float64, device="cpu", requires_grad=False).dtype == torch.float64
    with pytest.raises(TypeError, match="positional"):
        x.new_tensor([1], torch.float64)
    with pytest.raises(TypeError, match="pin_memory"):  # the stub lists it; the parser does not take it
        x.new_tensor([1], pin_memory=False)
    logits = torch.tensor([[0.5, -1.0]])
    unreduced = torch.binary_cross_entropy_with_logits(logits, torch.ones(1, 2))  # the stub says reduction=1
    assert torch.equal(unreduced, torch.binary_cross_entropy_with_logits(logits, torch.ones(1, 2), reduction=0))
    assert set(api_surface.STUB_CORRECTIONS) == {("torch", "tensor"), ("torch", "numel"),
                                                 ("torch", "set_num_threads"), ("torch", "from_numpy"),
                                                 ("torch", "binary_cross_entropy_with_logits"),
                                                 ("torch.Tensor", "requires_grad_"), ("torch.Tensor", "contiguous"),
                                                 ("torch.Tensor", "is_contiguous"), ("torch.Tensor", "cpu"),
                                                 ("torch.Tensor", "new_tensor")}


def test_regenerating_keeps_claimed_names_and_reports_new_ones():
    existing = {"sections": {"torch": {"gone_from_vt": {"kind": "function", "known_incompatible": "note"}}}}
    fresh = {"torch": {"abs": {"kind": "function"}}, "torch.nn": {"Linear": {"kind": "class"}}}
    manifest, added = make_api_manifest.merge(existing, fresh)
    assert manifest["sections"]["torch"]["gone_from_vt"] == {"kind": "function", "known_incompatible": "note"}
    assert manifest["sections"]["torch"]["abs"] == {"kind": "function"}
    assert added == ["torch.abs", "torch.nn.Linear"]
    again, added_again = make_api_manifest.merge(manifest, fresh)
    assert again == manifest and added_again == []


def test_the_shipped_manifest_has_every_current_candidate():
    # Names vt.torch gained since the manifest was written must be added by make_api_manifest.py.
    sections = check_api_parity.load_manifest()["sections"]
    unclaimed = [f"{section}.{name}" for section, names in make_api_manifest.candidates().items()
                 for name in names if name not in sections.get(section, {})]
    assert unclaimed == [], f"run packages/vt-torch/tools/make_api_manifest.py: {unclaimed}"

"""Checks that vt.torch keeps every torch name that api_manifest.json claims: the name exists, its
kind (class, function, property) is torch's, and its signature accepts every call torch's does.

    python packages/vt-torch/tools/check_api_parity.py [--manifest PATH] [--verbose]

A signature is compatible when each torch parameter exists in vt by name, positional ones at
the same position, keyword-only ones by keyword, with the same default where torch has one,
and vt requires nothing torch does not. torch's signatures come from Python where it has them,
else from its type stubs (generated from the declarations its argument parser uses), else from
its aten schemas; vt's from Python, from nanobind's recorded signatures, else from vt.core's op
schemas. Where torch has several overloads, vt must accept one of them. Two conventions: out=
is not claimed, and a torch default naming a constant (layout=torch.strided) is matched by
None, which torch's argument parser accepts in its place. Where a side has no readable signature the name is
reported as "signature unchecked". An entry may carry a "known_incompatible" note: a recorded gap
that is reported but does not fail (--strict fails on it too). Prints a summary line; exits 1
on a missing name, a wrong kind or an incompatible signature.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import pathlib
import sys
from typing import NamedTuple

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import api_surface as surface

P = inspect.Parameter
EMPTY = inspect.Parameter.empty
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
DEFAULT_MANIFEST = pathlib.Path(__file__).resolve().parents[1] / "api_manifest.json"


class Finding(NamedTuple):
    section: str
    name: str
    # "compatible", "unchecked", "no signature needed", "known incompatible", "missing", "wrong kind",
    # "incompatible"
    status: str
    detail: str = ""


def _normalized(value):
    """Defaults compared across the two libraries: dtypes, devices and enum-like objects by
    their name without the library prefix, callables by name."""
    if isinstance(value, (list, tuple)):
        return [_normalized(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    text = str(value)
    if " object at 0x" in text:  # an instance, such as the default generator: compare its type
        return type(value).__name__
    for prefix in ("torch.", "vt."):
        text = text.removeprefix(prefix)
    return text


def same_default(a, b) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if a is surface.ANY_DEFAULT or (isinstance(a, surface.ConstantName) and b is None):
        return True
    return _normalized(a) == _normalized(b)


def _show(value) -> str:
    """A default as messages show it: stable across runs and machines (no addresses, no paths)."""
    if inspect.ismodule(value):
        return f"<module {value.__name__}>"
    text = repr(value)
    return f"<{type(value).__name__}>" if " object at 0x" in text else text


def incompatibility(torch_sig: surface.Sig, vt_sig: surface.Sig) -> str | None:
    """Why a call torch accepts might fail in vt, or None when every such call works."""
    vt_named = vt_sig.named()
    torch_positional = [p.name for p in torch_sig.params if p.kind in POSITIONAL]
    vt_positional = [p.name for p in vt_sig.params if p.kind in POSITIONAL]
    matched = {p.name for p in torch_sig.params}
    for p in torch_sig.params:
        if p.name == "out" and p.kind != P.POSITIONAL_ONLY:
            continue
        if p.kind in (P.VAR_POSITIONAL, P.VAR_KEYWORD):
            if not vt_sig.has(p.kind):
                return f"takes no {'*' if p.kind == P.VAR_POSITIONAL else '**'}{p.name}"
            continue
        if p.kind == P.POSITIONAL_ONLY:  # matched by position: its name is not part of torch's API
            index = torch_positional.index(p.name)
            if index >= len(vt_positional):
                if vt_sig.has(P.VAR_POSITIONAL):
                    continue
                return f"takes fewer than {index + 1} positional arguments"
            q = vt_named[vt_positional[index]][1]
            matched.add(q.name)
            if p.default is not EMPTY and (q.default is EMPTY or not same_default(p.default, q.default)):
                return f"positional argument {index} defaults to {_show(q.default)} (torch: {_show(p.default)})"
            continue
        if p.name not in vt_named:
            if p.kind == P.KEYWORD_ONLY and vt_sig.has(P.VAR_KEYWORD):
                continue
            return f"has no parameter '{p.name}'"
        _, q = vt_named[p.name]
        if p.kind in POSITIONAL:
            if q.kind == P.KEYWORD_ONLY and vt_sig.has(P.VAR_POSITIONAL):
                continue  # vt sorts positional arguments out of *args itself
            if q.kind not in POSITIONAL:
                return f"'{p.name}' is keyword-only (torch takes it by position)"
            if torch_positional.index(p.name) != vt_positional.index(q.name):
                return (f"'{p.name}' is positional argument {vt_positional.index(q.name)} "
                        f"(torch: {torch_positional.index(p.name)})")
        if p.kind != P.POSITIONAL_ONLY and q.kind == P.POSITIONAL_ONLY:
            return f"'{p.name}' is positional-only (torch takes it by keyword)"
        if p.default is not EMPTY:
            if q.default is EMPTY:
                return f"'{p.name}' is required (torch defaults it to {_show(p.default)})"
            if not same_default(p.default, q.default):
                return f"'{p.name}' defaults to {_show(q.default)} (torch: {_show(p.default)})"
    for q in vt_sig.params:
        if q.default is EMPTY and q.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD) and q.name not in matched:
            return f"requires '{q.name}', which torch does not have"
    return None


def _render(sig: surface.Sig) -> str:
    parts = []
    for p in sig.params:
        prefix = {P.VAR_POSITIONAL: "*", P.VAR_KEYWORD: "**"}.get(p.kind, "")
        parts.append(prefix + p.name + ("" if p.default is EMPTY else f"={_show(p.default)}"))
    return f"({', '.join(parts)}) [{sig.source}]"


def check_signature(section: str, name: str, torch_obj, vt_obj) -> Finding:
    method = section == surface.TENSOR_SECTION
    torch_sigs = surface.signatures(torch_obj, name=name, method=method, side="torch", section=section)
    vt_sigs = surface.signatures(vt_obj, name=name, method=method, side="vt", section=section)
    if not torch_sigs or not vt_sigs:
        side = "torch's" if not torch_sigs else "vt's"
        return Finding(section, name, "unchecked", f"{side} signature cannot be read")
    torch_open, vt_open = (all(surface.is_catch_all(s) for s in sigs) for sigs in (torch_sigs, vt_sigs))
    if torch_open != vt_open:
        return Finding(section, name, "unchecked", f"{'torch' if torch_open else 'vt'} takes (*args, **kwargs)")
    def problem(t: surface.Sig) -> str | None:
        reasons = [incompatibility(t, v) for v in vt_sigs]
        if any(r is None for r in reasons):
            return None
        return f"{reasons[0]}; torch {_render(t)} vs vt {_render(vt_sigs[0])}"

    # A builtin's overloads include deprecated and rarely used forms: accepting one suffices.
    problems = [problem(t) for t in torch_sigs]
    if all(problems):
        return Finding(section, name, "incompatible", " | ".join(dict.fromkeys(problems)))
    return Finding(section, name, "compatible", f"{torch_sigs[0].source} vs {vt_sigs[0].source}")


def _vt_lookup(owner, name: str, section: str):
    if section == surface.TENSOR_SECTION:
        return surface.static_attribute(owner, name) is not None, getattr(owner, name, None)
    return hasattr(owner, name), getattr(owner, name, None)


def check(manifest: dict) -> list[Finding]:
    findings = []
    for section, entries in manifest["sections"].items():
        torch_owner = surface.import_side("torch", section)
        vt_owner = surface.import_side("vt.torch", section)
        member = section == surface.TENSOR_SECTION
        for name, entry in sorted(entries.items()):
            exists, vt_obj = _vt_lookup(vt_owner, name, section)
            if not exists:
                findings.append(Finding(section, name, "missing", "vt.torch lacks it"))
                continue
            vt_kind = surface.kind_of(vt_owner, name, is_class_member=member)
            if vt_kind != entry["kind"]:
                findings.append(Finding(section, name, "wrong kind", f"vt has a {vt_kind}, torch a {entry['kind']}"))
                continue
            if entry["kind"] == "property":
                findings.append(Finding(section, name, "no signature needed"))
                continue
            finding = check_signature(section, name, getattr(torch_owner, name), vt_obj)
            if "known_incompatible" in entry:
                finding = finding._replace(
                    status="known incompatible" if finding.status == "incompatible" else "known, now passes",
                    detail=finding.detail or "the manifest's known_incompatible note can go")
            findings.append(finding)
    return findings


FAILING = ("missing", "wrong kind", "incompatible")


def summary(findings: list[Finding]) -> str:
    count = {s: sum(f.status == s for f in findings) for s in
             ("compatible", "unchecked", "no signature needed", "known incompatible", "known, now passes",
              *FAILING)}
    return (f"api parity: {len(findings)} names; {count['compatible']} signatures compatible, "
            f"{count['unchecked']} signature unchecked, {count['no signature needed']} properties, "
            f"{count['known incompatible']} known incompatible ({count['known, now passes']} of the known now "
            f"pass); {count['missing']} missing, {count['wrong kind']} wrong kind, "
            f"{count['incompatible']} incompatible")


def load_manifest(path: pathlib.Path = DEFAULT_MANIFEST) -> dict:
    return json.loads(pathlib.Path(path).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=pathlib.Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--verbose", action="store_true",
                        help="also list unchecked signatures and known incompatibilities")
    parser.add_argument("--strict", action="store_true",
                        help="fail on the manifest's known incompatibilities as well")
    args = parser.parse_args(argv)
    findings = check(load_manifest(args.manifest))
    failing = (*FAILING, "known incompatible") if args.strict else FAILING
    shown = (*failing, "known, now passes", *(("unchecked", "known incompatible") if args.verbose else ()))
    for f in findings:
        if f.status in shown:
            print(f"{f.status:>18}  {f.section}.{f.name}: {f.detail}")
    print(summary(findings))
    return 1 if any(f.status in failing for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())

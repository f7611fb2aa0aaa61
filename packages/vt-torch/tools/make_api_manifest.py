"""Writes api_manifest.json: every torch name vt.torch claims, by section, with torch's kind.

    python packages/vt-torch/tools/make_api_manifest.py [--manifest PATH] [--dry-run]

A name is claimed when both torch and vt.torch have it in the same section (torch, torch.nn,
torch.nn.functional, ..., Tensor methods and properties) and torch counts it as its own API.
Names already in the manifest are kept even when vt.torch no longer has them, so a removal
shows up as a failure of check_api_parity.py instead of vanishing; new names are added and
listed.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import api_surface as surface

DEFAULT_MANIFEST = pathlib.Path(__file__).resolve().parents[1] / "api_manifest.json"
DESCRIPTION = ("torch names vt.torch claims, with torch's kind of each; written by "
               "tools/make_api_manifest.py, checked by tools/check_api_parity.py")


def vt_has(section: str, name: str) -> bool:
    owner = surface.import_side("vt.torch", section)
    if section == surface.TENSOR_SECTION:
        return surface.static_attribute(owner, name) is not None
    return hasattr(owner, name)


def candidates() -> dict[str, dict[str, dict]]:
    """{section: {name: {"kind": kind}}} for every torch name vt.torch has today."""
    found = {}
    for section in surface.SECTIONS:
        try:
            torch_names = surface.torch_surface(section)
        except ImportError:
            continue
        try:
            found[section] = {name: {"kind": kind} for name, kind in sorted(torch_names.items())
                              if vt_has(section, name)}
        except ImportError:  # vt.torch does not have this module yet
            found[section] = {}
    return found


def merge(existing: dict, fresh: dict[str, dict[str, dict]]) -> tuple[dict, list[str]]:
    """The manifest with fresh names added and every existing entry kept as it was."""
    sections = {s: dict(entries) for s, entries in existing.get("sections", {}).items()}
    added = []
    for section, entries in fresh.items():
        kept = sections.setdefault(section, {})
        for name, entry in entries.items():
            if name not in kept:
                kept[name] = entry
                added.append(f"{section}.{name}")
    ordered = {s: dict(sorted(sections[s].items())) for s in surface.SECTIONS if s in sections}
    ordered.update({s: e for s, e in sorted(sections.items()) if s not in ordered})
    return {"description": DESCRIPTION, "sections": ordered}, added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=pathlib.Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--dry-run", action="store_true", help="list new names without writing")
    parser.add_argument("--accept-incompatible", action="store_true",
                        help="record each incompatible signature as known_incompatible instead of "
                             "leaving it to fail check_api_parity.py")
    args = parser.parse_args(argv)
    existing = json.loads(args.manifest.read_text()) if args.manifest.exists() else {}
    manifest, added = merge(existing, candidates())
    for name in added:
        print(f"new: {name}")
    if args.accept_incompatible:
        import check_api_parity

        for finding in check_api_parity.check(manifest):
            if finding.status == "incompatible":
                entry = manifest["sections"][finding.section][finding.name]
                entry["known_incompatible"] = " | ".join(
                    part.split("; torch (")[0] for part in finding.detail.split(" | "))
                print(f"known incompatible: {finding.section}.{finding.name}")
    total = sum(len(e) for e in manifest["sections"].values())
    print(f"{len(added)} new names; {total} claimed in all")
    if not args.dry_run:
        args.manifest.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

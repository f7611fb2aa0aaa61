#!/usr/bin/env python3
"""Check that every pin on a repo package admits that package's current version.

Reads packages/*/pyproject.toml ([project] name, version, dependencies and optional
dependencies) and packages/vt-node/package.json. Exits 1 naming each broken pin, each
dependency on a vt- package that is not in the repo, and each folder without metadata.
Usage: ci/check_pins.py [repo-root]
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version


def npm_range_to_pep440(spec: str) -> SpecifierSet:
    """Translate the npm ranges we use (exact, ~x.y.z, ^x.y.z) to a PEP 440 set."""
    m = re.fullmatch(r"([~^]?)(\d+)\.(\d+)\.(\d+)", spec.strip())
    if not m:
        raise ValueError(f"unsupported npm range {spec!r} (use x.y.z, ~x.y.z or ^x.y.z)")
    op, major, minor, patch = m.group(1), *map(int, m.group(2, 3, 4))
    low = f">={major}.{minor}.{patch}"
    if op == "":
        return SpecifierSet(f"=={major}.{minor}.{patch}")
    if op == "~":
        return SpecifierSet(f"{low},<{major}.{minor + 1}.0")
    # Caret: the first non-zero component is fixed.
    if major:
        return SpecifierSet(f"{low},<{major + 1}.0.0")
    if minor:
        return SpecifierSet(f"{low},<0.{minor + 1}.0")
    return SpecifierSet(f"{low},<0.0.{patch + 1}")


def read_packages(packages_dir: Path, errors: list[str]) -> dict[str, dict]:
    """Map distribution name -> {folder, version, deps: [(name, SpecifierSet, raw)]}."""
    packages = {}
    for folder in sorted(p for p in packages_dir.iterdir() if p.is_dir()):
        pyproject, package_json = folder / "pyproject.toml", folder / "package.json"
        if pyproject.is_file():
            project = tomllib.loads(pyproject.read_text()).get("project", {})
            reqs = list(project.get("dependencies", []))
            for extra in project.get("optional-dependencies", {}).values():
                reqs += extra
            deps = []
            for raw in reqs:
                req = Requirement(raw)
                deps.append((req.name, req.specifier, raw))
        elif package_json.is_file():
            project = json.loads(package_json.read_text())
            deps = []
            for name, spec in project.get("dependencies", {}).items():
                if name.startswith("vt-"):
                    deps.append((name, npm_range_to_pep440(spec), f"{name}@{spec}"))
        else:
            errors.append(f"{folder.name}: no pyproject.toml or package.json")
            continue
        if "name" not in project or "version" not in project:
            errors.append(f"{folder.name}: metadata lacks a static name or version")
            continue
        packages[project["name"]] = {
            "folder": folder.name,
            "version": project["version"],
            "deps": deps,
        }
    return packages


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    errors: list[str] = []
    packages = read_packages(root / "packages", errors)
    folders = {p.name for p in (root / "packages").iterdir() if p.is_dir()}

    rows = []
    for name, info in sorted(packages.items()):
        for dep, spec, raw in info["deps"]:
            if not dep.startswith("vt-"):
                continue
            target = packages.get(dep)
            if target is None:
                status = "MISSING"
                where = "has no readable metadata" if dep in folders else "is not in packages/"
                errors.append(f"{name} depends on {raw!r} but {dep} {where}")
            elif spec.contains(Version(target["version"]), prereleases=True):
                status = "ok"
            else:
                status = "BROKEN"
                errors.append(
                    f"{name} pins {raw!r}, which excludes the repo's {dep} {target['version']}"
                )
            have = target["version"] if target else "-"
            rows.append((f"{name} {info['version']}", f"{dep}{spec}", have, status))

    header = ("package", "pin", "repo version", "status")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())

    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""Imports point down the layer table of docs/architecture.md ("Layers").

Every module of `riskmodel/`, `features/` and `kernels/` belongs to the unit of the table
with the longest matching name; a module may import its own unit and units on lower layers
only. Imports inside functions count like those at the top of a module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("riskmodel", "features", "kernels")
RULE = "a unit imports only units on lower layers (docs/architecture.md, Layers)"

# Upward imports the table does not allow, kept only while a circle is being broken (the
# docs' Layers section names them too); empty when every import points down.
KNOWN: set[tuple[str, str]] = set()


def layer_table(doc: Path) -> dict[str, int]:
    """Unit name -> layer number, from the Markdown table of the doc's "## Layers"."""
    text = doc.read_text(encoding="utf-8")
    section = re.search(r"^## Layers\n(.*?)(?=^## )", text, re.M | re.S)
    assert section, f"{doc}: no '## Layers' section"
    table = {}
    for number, units in re.findall(r"^\| (\d+) \| ([^|]*) \|", section.group(1), re.M):
        for unit in re.findall(r"`([\w.]+)`", units):
            assert unit not in table, f"{doc}: {unit} is on two layers"
            table[unit] = int(number)
    assert table, f"{doc}: the Layers section has no table rows '| N | `unit`, ... | ... |'"
    return table


def unit_of(module: str, table: dict[str, int]) -> str | None:
    """The unit of `module`: the longest table name equal to it or a package above it (the
    root package `riskmodel` is a unit of its own `__init__.py`, not of everything)."""
    best = None
    for unit in table:
        inside = module.startswith(unit + ".") and unit != "riskmodel"
        if (module == unit or inside) and (best is None or len(unit) > len(best)):
            best = unit
    return best


def exists(module: str, root: Path) -> bool:
    """Whether `module` is a module file or a package folder under `root`."""
    path = root.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or path.is_dir()


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import in `path` of one of `PACKAGES`, at any depth
    of the syntax tree. `from a import b` yields `a.b` when `b` is a module."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((node.lineno, sub if exists(sub, root) else base))
    # `from a import b, c` is one import of `a`: report it once.
    return [(line, m) for line, m in dict.fromkeys(out) if m.split(".")[0] in PACKAGES]


def violations(root: Path, table: dict[str, int],
               known: Collection[tuple[str, str]] = ()) -> list[str]:
    """One line per import in the packages under `root` that breaks the table, and per
    module no unit of the table holds."""
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            where = path.relative_to(root)
            module = module_name(path, root)
            unit = unit_of(module, table)
            if unit is None:
                out.append(f"{where}: module {module} is in no layer of the table; add it")
                continue
            for line, target in imports(path, root):
                to = unit_of(target, table)
                if to is None or to == unit or (module, target) in known:
                    continue  # unplaced targets are reported as modules of their own
                if table[to] >= table[unit]:
                    out.append(f"{where}:{line}: {module} ({unit}, layer {table[unit]}) "
                               f"imports {target} ({to}, layer {table[to]}): {RULE}")
    return out


def test_every_import_points_down_the_layer_table() -> None:
    table = layer_table(ROOT / "docs" / "architecture.md")
    missing = [u for u in table if not exists(u, ROOT)]
    assert not missing, f"docs/architecture.md, Layers: no such module or package {missing}"
    found = violations(ROOT, table, KNOWN)
    assert not found, "\n".join(found)


def test_the_check_finds_upward_sibling_and_lazy_imports(tmp_path: Path) -> None:
    """The checker on a made-up tree: it must name file, line and rule of each bad import."""
    pkg = tmp_path / "riskmodel"
    (pkg / "low").mkdir(parents=True)
    (tmp_path / "features").mkdir()
    (tmp_path / "kernels").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("import os\n\ndef f():\n    from riskmodel.top import g\n")
    (pkg / "mid.py").write_text("from riskmodel.low import a\nfrom riskmodel import side\n")
    (pkg / "side.py").write_text("")
    (pkg / "top.py").write_text("from . import mid\nfrom riskmodel.low.a import f\n")
    (pkg / "stray.py").write_text("")
    (tmp_path / "kernels" / "k.py").write_text("import features\n")
    table = {"kernels": 1, "features": 2, "riskmodel": 3, "riskmodel.low": 3,
             "riskmodel.mid": 4, "riskmodel.side": 4, "riskmodel.top": 5}
    found = violations(tmp_path, table)
    assert found == [
        "riskmodel/low/a.py:4: riskmodel.low.a (riskmodel.low, layer 3) imports riskmodel.top "
        "(riskmodel.top, layer 5): " + RULE,
        "riskmodel/mid.py:2: riskmodel.mid (riskmodel.mid, layer 4) imports riskmodel.side "
        "(riskmodel.side, layer 4): " + RULE,
        "riskmodel/stray.py: module riskmodel.stray is in no layer of the table; add it",
        "kernels/k.py:1: kernels.k (kernels, layer 1) imports features (features, layer 2): "
        + RULE,
    ]
    assert violations(tmp_path, table, {("riskmodel.low.a", "riskmodel.top")}) == found[1:]

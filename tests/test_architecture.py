"""The tree is the architecture (issue 19): what the layer contract of `make lint` does not check itself.

`lint-imports` (pyproject.toml, `[tool.importlinter]`) proves that no module imports a layer above its own
and that only orchestration imports Dagster; these tests hold the rest of the rule: orchestration is
Dagster wiring and nothing else, an `__init__.py` only hands names on, and the layer contract itself
names every top-level package of the project, so a new package cannot slip past it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(
    p.parent.name
    for p in ROOT.glob("*/__init__.py")
    if p.parent.name not in {"tests", "dbt_project"} and not p.parent.name.startswith(".")
)


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_layer_contract_names_every_package_and_holds():
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = contract["contracts"][0]["layers"]
    in_layers = sorted(name.strip() for layer in layers for name in layer.split("|"))
    assert in_layers == PACKAGES, "every top-level package has its place in the layers"
    assert sorted(contract["root_packages"]) == PACKAGES
    assert layers[0] == "fairshare" and layers[-1] == "basics", "the CLI on top, the basics at the bottom"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "0 broken" in done.stdout


def test_the_layer_contract_fails_on_an_upward_import(tmp_path):
    """A copy of the tree with one upward import (basics importing warehouse) breaks the contract."""
    copy = tmp_path / "tree"
    copy.mkdir()
    for package in PACKAGES:
        subprocess.run(
            ["cp", "-r", str(ROOT / package), str(copy / package)],
            check=True,
        )
    (copy / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (copy / "basics" / "upward.py").write_text("from warehouse import store  # noqa: F401\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=copy,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode != 0
    assert "basics.upward -> warehouse" in done.stdout


def test_every_orchestration_module_speaks_dagster():
    """orchestration/ is Dagster wiring only: a module that imports no Dagster belongs in another layer."""
    plain = [
        p.name
        for p in _modules("orchestration")
        if p.name != "__init__.py" and not _imported(ast.parse(p.read_text())) & {"dagster", "dagster_dbt"}
    ]
    assert plain == []


def test_init_files_only_hand_names_on():
    """No code in an `__init__.py`: a docstring, imports and `__all__`, nothing else."""
    offenders = []
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            for node in ast.parse(init.read_text()).body:
                docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                handing_on = isinstance(node, ast.Import | ast.ImportFrom)
                exported = isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
                    "__all__"
                ]
                if not (docstring or handing_on or exported):
                    offenders.append(f"{init.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_nothing_outside_dbt_reads_the_intermediate_layer():
    """Python reads marts, info views and audit tables; `intermediate.*` is dbt's own (issue 19)."""
    readers = [
        f"{p.relative_to(ROOT)}:{n}"
        for package in [*PACKAGES, "tests"]
        for p in _modules(package)
        if p.name != "test_architecture.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if "intermediate." in line
    ]
    assert readers == []

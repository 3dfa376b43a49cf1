"""Shared fixtures: a landing folder and a warehouse file per test, both real; one real sample run per worker.

The suite runs on two pytest-xdist workers (pyproject.toml, `-n 2 --dist loadgroup`). Session fixtures are per
worker (each has its own ``tmp_path_factory``); the groups below keep tests that must not run beside each other,
or that share an expensive module fixture, on one worker, one after the other. ``-m "not slow"`` leaves out every
test that needs a real pipeline run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.config import load_config
from tools.sample import write_sample

ROOT = Path(__file__).resolve().parents[1]


# Modules whose tests run on one worker, in order (`--dist loadgroup`): the module fixture runs once, and the
# tests that read or change regions/ never run beside each other. test_hostile_runs.py's region-pack test puts a
# pack into regions/ for its duration; test_regions.py digests and lists every pack, and the province
# (test_province_hostile.py) takes every pack in regions/ as a region: they share the group "regions/".
GROUPS = {
    "test_history.py": "history",
    "test_marts_definitions.py": "marts_definitions",
    "test_province_hostile.py": "regions/",
    "test_regions.py": "regions/",
    "test_serving.py": "serving",
    "test_hostile_runs.py::test_a_region_pack_without_a_seed_or_with_a_bad_header_stops_before_anything_is_read": (
        "regions/"
    ),
}
# Fixtures that make a real pipeline run (the sample's, or a module's own): a test using one is slow.
PIPELINE_FIXTURES = {"sample_run", "two_builds", "copies", "two_regions", "voorbeeld", "wh"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Group (``xdist_group``, before xdist reads the marks) and mark slow by the table above."""
    for item in items:
        module, name = item.path.name, item.originalname
        group = GROUPS.get(f"{module}::{name}") or GROUPS.get(module)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
        if PIPELINE_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture
def landing(tmp_path):
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse" / "fairshare.duckdb"


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.getLogger("fairshare").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """`fairshare sample` then `fairshare run --demo`, as a new user would."""
    base = tmp_path_factory.mktemp("sample")
    landing, warehouse = base / "landing", base / "warehouse" / "fairshare.duckdb"
    summary = write_sample(landing)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fairshare.cli",
            "run",
            "--demo",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--reports",
            str(base / "reports"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    return summary, landing, warehouse, result


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def two_regions(tmp_path_factory):
    """Both regions from their samples, run at the same time as two `fairshare run` processes.

    Returns (base, {regio: (exit code, stdout, stderr)}, digests of the landing folders before the runs, digest
    of regions/ before them). test_regions.py checks the runs themselves; the province's tests
    (test_province_hostile.py) read their published copies. Both modules are in the xdist group "regions/",
    so one worker makes it once; every test only reads its folders (a test's own output goes elsewhere)."""
    fairshare = str(Path(sys.executable).parent / "fairshare")
    base = tmp_path_factory.mktemp("regios")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRSHARE_", "DAGSTER_HOME"))}
    for regio in ("amersfoort", "voorbeeld"):
        subprocess.run(
            [fairshare, "sample", "--regio", regio, "--out", str(base / regio / "landing")],
            env=env,
            check=True,
            capture_output=True,
        )
    before = {r: _digest(base / r / "landing") for r in ("amersfoort", "voorbeeld")}
    packs = _digest(ROOT / "regions")
    runs = {
        r: subprocess.Popen(
            [
                fairshare,
                "run",
                "--regio",
                r,
                "--demo",
                "--landing",
                str(base / r / "landing"),
                "--warehouse",
                str(base / r / "warehouse" / "fairshare.duckdb"),
                "--reports",
                str(base / r / "reports"),
            ],
            env=env,
            cwd=base,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in ("amersfoort", "voorbeeld")
    }
    results = {r: (p.wait(timeout=1500), *p.communicate()) for r, p in runs.items()}
    return base, results, before, packs

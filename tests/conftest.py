"""Shared fixtures: a landing folder and a warehouse file per test, both real; one real sample run per worker.

The suite runs on two pytest-xdist workers (pyproject.toml, `-n 2 --dist loadgroup`). Session fixtures are per
worker (each has its own ``tmp_path_factory``); the groups below keep tests that must not run beside each other,
or that share an expensive module fixture, on one worker, one after the other. ``-m "not slow"`` leaves out every
test that needs a real pipeline run.
"""

from __future__ import annotations

import logging
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

"""Shared fixtures: a landing folder and a warehouse file per test, both real; one real sample run per worker.

The suite runs on two pytest-xdist workers (pyproject.toml, `-n 2 --dist loadfile`): a module's tests run on one
worker, one after the other. Session fixtures are per worker (each has its own ``tmp_path_factory``); regions/,
shared by all workers, is guarded by ``helpers.regions_lock`` (below). ``-m "not slow"`` leaves out every test
that needs a real pipeline run.
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
from tests.helpers import demo_run, regions_lock
from tools.sample import write_sample

ROOT = Path(__file__).resolve().parents[1]


# Tests are spread over two workers by module (`--dist loadfile`: a module's fixtures run once, on one worker).
# regions/ is shared by every worker: the region-pack test of test_hostile_runs.py puts a pack there for its
# duration, while test_regions.py and test_province_hostile.py list and digest every pack, so those two hold
# `helpers.regions_lock` shared for their whole module and the pack test holds it exclusively.
# (`--dist loadgroup` would be the obvious tool, but xdist 3.8 writes its group suffix to a node attribute
# pytest 9 no longer reads, so its groups are silently ignored.)
# Fixtures that make a real pipeline run (the sample's, or a module's own): a test using one is slow.
PIPELINE_FIXTURES = {"sample_run", "two_builds", "copies", "two_regions", "voorbeeld", "wh"}


def pytest_collection_modifyitems(config, items):
    """Mark slow every test that uses a pipeline fixture."""
    for item in items:
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
    result = demo_run(landing, warehouse, base / "reports")
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
    (test_province_hostile.py) read their published copies (a worker that runs both makes it once); every
    test only reads its folders (a test's own output goes elsewhere). regions/ is digested and run under the
    shared regions lock: no test adds a pack meanwhile."""
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
    with regions_lock(exclusive=False):  # no test adds a pack while the packs are digested and run
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

"""Shared fixtures: a landing folder and a warehouse file per test, both real."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.config import load_config
from tools.sample import write_sample

ROOT = Path(__file__).resolve().parents[1]


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

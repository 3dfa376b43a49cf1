"""Shared fixtures: a landing folder and a warehouse file per test, both real."""

from __future__ import annotations

import logging

import pytest

from ingest.config import load_config


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

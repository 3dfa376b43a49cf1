"""The report opens from disk in headless Chromium (Debian's `chromium`), renders, and logs no console errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1280,6000",
]


def screenshot(page: Path, out: Path, profile: Path) -> str:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (make test installs it)"
    result = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={out}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def console_messages(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def test_console_errors_would_be_seen(tmp_path):
    page = tmp_path / "fout.html"
    page.write_text("<html><body><script>console.error('kapot'); undefinedFunction();</script></body></html>")
    log = screenshot(page, tmp_path / "fout.png", tmp_path / "profile")
    assert any("kapot" in m for m in console_messages(log))


@pytest.fixture(scope="module")
def report_html(sample_run):
    _, _, warehouse, result = sample_run
    assert result.returncode == 0
    return warehouse.parent.parent / "reports" / "bo_wonen_zorg_2026-12.html"


def test_report_renders_in_headless_chromium_without_console_errors(report_html, tmp_path):
    out = tmp_path / "rapport.png"
    log = screenshot(report_html, out, tmp_path / "profile")
    assert console_messages(log) == []
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000  # a rendered page, not a blank one

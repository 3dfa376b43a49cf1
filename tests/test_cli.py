"""spec/marts.md "Command line": the `fairshare` command, its settings and exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from basics.settings import DEMO_KEY, MIN_KEY_LENGTH, ConfigError, Settings
from tests.helpers import TOEWIJZINGEN_HEADER, fairshare, query, toewijzing_row, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
KEY_ONE = "sleutel-een-" + "x" * 32  # long enough: outside demo mode a key needs 32 characters
KEY_TWO = "sleutel-twee-" + "y" * 32


def test_settings_flags_win_over_environment_over_defaults():
    env = {
        "FAIRSHARE_LANDING": "/l",
        "FAIRSHARE_WAREHOUSE": "/w/f.duckdb",
        "FAIRSHARE_PSEUDONYM_KEY": KEY_ONE,
    }
    s = Settings.from_env(env, landing="/flag")
    # relative paths are taken from the working folder, as absolute paths (messages name the real folder)
    assert (s.landing, s.warehouse, s.reports) == (
        Path("/flag"),
        Path("/w/f.duckdb"),
        Path.cwd() / "data/reports",
    )
    assert s.serving_file == Path("/serving/f.duckdb")
    assert Settings.from_env({}).serving_file == Path.cwd() / "data/serving/fairshare.duckdb"
    assert s.key_bytes() == KEY_ONE.encode()
    assert Settings.from_env({}, demo=True).key_bytes() == DEMO_KEY.encode()
    with pytest.raises(ConfigError, match="FAIRSHARE_PSEUDONYM_KEY"):
        Settings.from_env({}).key_bytes()


def test_run_without_key_and_without_demo_exits_2(tmp_path):
    result = fairshare(
        "run", "--landing", str(tmp_path / "l"), "--warehouse", str(tmp_path / "warehouse" / "w.duckdb")
    )
    assert result.returncode == 2
    assert "no pseudonym key" in result.stderr and "FAIRSHARE_PSEUDONYM_KEY" in result.stderr
    assert not (tmp_path / "warehouse" / "w.duckdb").exists()


def landing_with(tmp_path: Path) -> Path:
    """A landing folder with its three subfolders and one SWEV delivery."""
    landing = tmp_path / "landing"
    for sub in ("urgentie", "planregister"):
        (landing / sub).mkdir(parents=True)
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)])
    return landing


@pytest.mark.slow  # a real pipeline run first
def test_run_with_a_different_key_on_an_existing_warehouse_exits_2(tmp_path):
    landing = landing_with(tmp_path)
    args = [
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(tmp_path / "warehouse" / "w.duckdb"),
        "--reports",
        str(tmp_path / "r"),
    ]
    first = fairshare(*args, env={"FAIRSHARE_PSEUDONYM_KEY": KEY_ONE})
    assert first.returncode == 1, first.stderr  # loads, then the gate blocks: one delivery is not a report
    second = fairshare(*args, env={"FAIRSHARE_PSEUDONYM_KEY": KEY_TWO})
    assert second.returncode == 2
    assert "pseudonym key differs" in second.stderr
    fingerprints = query(
        tmp_path / "warehouse" / "w.duckdb", "SELECT vingerafdruk FROM audit.pseudoniem_sleutel"
    )
    assert (
        fingerprints and fingerprints[0][0] not in second.stderr + second.stdout + first.stderr + first.stdout
    )


@pytest.mark.parametrize("key", ["k", "x" * (MIN_KEY_LENGTH - 1), " " * 40, "\t\n" * 20, DEMO_KEY])
def test_a_weak_key_is_refused_outside_demo_mode(key):
    with pytest.raises(ConfigError, match="secrets.token_urlsafe"):
        Settings.from_env({"FAIRSHARE_PSEUDONYM_KEY": key}).key_bytes()


def test_run_with_a_weak_key_exits_2_with_how_to_make_one(tmp_path):
    result = fairshare(
        "run",
        "--landing",
        str(tmp_path / "l"),
        "--warehouse",
        str(tmp_path / "warehouse" / "w.duckdb"),
        env={"FAIRSHARE_PSEUDONYM_KEY": "kort"},
    )
    assert result.returncode == 2
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in result.stderr
    assert "kort" not in result.stderr  # the key itself is never echoed
    assert not (tmp_path / "warehouse" / "w.duckdb").exists()


def test_bad_peildatum_is_a_usage_error(tmp_path):
    result = fairshare(
        "run", "--demo", "--peildatum", "1-11-2026", "--warehouse", str(tmp_path / "warehouse" / "w.duckdb")
    )
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr


@pytest.mark.slow
def test_demo_mode_is_announced(tmp_path):
    landing = landing_with(tmp_path)
    result = fairshare(
        "run",
        "--demo",
        "--landing",
        str(landing),
        "--warehouse",
        str(tmp_path / "warehouse" / "w.duckdb"),
        "--reports",
        str(tmp_path / "r"),
    )
    assert result.returncode == 1, result.stderr  # the gate blocks an incomplete landing folder
    assert "DEMO MODE" in result.stderr and DEMO_KEY in result.stderr
    assert "BLOCKED, see" in result.stdout
    assert query(tmp_path / "warehouse" / "w.duckdb", "SELECT count(*) FROM raw.swev_toewijzingen") == [(1,)]


def test_the_command_exits_with_its_code_and_all_it_printed_without_the_interpreter_s_teardown(tmp_path):
    """``fairshare.cli.entry`` ends the process itself (``os._exit`` after threads, atexit and a flush): in a
    process of its own, as a user starts it (not the tests' zygote), each exit code and every line survive a
    pipe, for the console script and for ``python -m``, and an atexit handler (the xlsx worker's stop, logging's
    flush) still runs."""
    import subprocess
    import sys

    from tests.helpers import clean_env

    script = Path(sys.executable).with_name("fairshare")
    landing = tmp_path / "geen"
    usage = subprocess.run(
        [str(script), "run", "--demo", "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=ROOT,
        timeout=300,
    )
    assert usage.returncode == 2 and str(landing) in usage.stderr, usage.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "fairshare.cli", "quarantaine", "--help"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=ROOT,
        timeout=300,
    )
    assert helped.returncode == 0 and helped.stdout.startswith("Usage:") and helped.stdout.endswith("\n")
    marker = tmp_path / "atexit-ran"
    hook = (
        "import atexit, pathlib, sys; from fairshare import cli; "
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ja'); "
        "sys.argv = ['fairshare', 'bestaat-niet']; cli.entry()"
    )
    unknown = subprocess.run(
        [sys.executable, "-c", hook], capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=300
    )
    assert unknown.returncode == 2 and "bestaat-niet" in unknown.stderr
    assert marker.read_text() == "ja"

"""pyproject.toml's extras: `make run` installs the lean set, a command that needs an extra names it (exit 2).

Each test runs the real command in a child process in which the extra's package cannot be imported: Python
refuses the import of a module whose ``sys.modules`` entry is None, as in a venv without the extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.helpers import TOEWIJZINGEN_HEADER, toewijzing_row, write_xlsx

ROOT = Path(__file__).resolve().parents[1]


def fairshare_without(missing: list[str], *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m fairshare.cli ARGS` in a process where the packages ``missing`` are not importable."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FAIRSHARE_")}
    blocked = "".join(f"sys.modules[{m!r}] = None; " for m in missing)
    code = f"import sys; {blocked}from fairshare.cli import main; sys.argv[0] = 'fairshare'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **(env or {})},
        timeout=600,
    )


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    for sub in ("urgentie", "planregister"):
        (landing / sub).mkdir(parents=True)
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)])
    return landing


def _one_sentence(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_the_lean_set_leaves_out_the_extras_and_dev_installs_them():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lean = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for package in ("psycopg", "psutil", "openpyxl", "dagster-duckdb"):
        assert package not in lean, package
    assert any(r.startswith("psycopg") for r in extras["postgres"])
    assert {r.split("=")[0] for r in extras["bench"]} == {"psutil", "openpyxl"}
    assert "fairshare[postgres,bench]" in extras["dev"]  # make test installs .[dev]: every extra
    # The lock file pins the whole tree, every extra included (make install uses it as constraints).
    locked = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if "==" in line
    }
    for requirement in [*project["dependencies"], *(r for rs in extras.values() for r in rs)]:
        name = requirement.split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower()
        if name != "fairshare":
            assert name.replace("_", "-") in locked, name


def test_a_postgres_dsn_without_psycopg_exits_2_naming_the_extra_before_anything_is_written(tmp_path):
    landing = _landing(tmp_path)
    warehouse = tmp_path / "wh" / "fairshare.duckdb"
    result = fairshare_without(
        ["psycopg"],
        "run",
        "--demo",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--reports",
        str(tmp_path / "reports"),
        "--serving",
        str(tmp_path / "serving" / "fairshare.duckdb"),
        env={"FAIRSHARE_PUBLISH_POSTGRES_DSN": "postgresql://nobody@127.0.0.1:1/none"},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    line = _one_sentence(result.stderr)
    assert "psycopg" in line and "'postgres' extra" in line and ".[postgres]" in line, line
    assert not (tmp_path / "wh").exists() and not (tmp_path / "reports").exists()
    assert not (tmp_path / "serving").exists()


def test_an_adhoc_run_never_publishes_so_it_needs_no_psycopg(tmp_path):
    """The check is where the publication is: an ad-hoc report with the DSN set passes it (and runs on)."""
    from basics import extras
    from basics.settings import Settings

    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from basics.settings import Settings\nfrom fairshare.runner import check_configuration\n"
        f"s = Settings.from_env({{'FAIRSHARE_PUBLISH_POSTGRES_DSN': 'postgresql://x@127.0.0.1:1/y'}}, "
        f"peildatum='2026-06-15', adhoc=True, warehouse={str(tmp_path / 'w.duckdb')!r}, "
        f"reports={str(tmp_path / 'r')!r})\ncheck_configuration(s)\nprint('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
    # With psycopg present (this process) a board run with a DSN passes the check too.
    extras.require_postgres(Settings.from_env({"FAIRSHARE_PUBLISH_POSTGRES_DSN": "x"}).publish_postgres_dsn)


def test_the_province_with_a_postgres_dsn_without_psycopg_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "provincie"
    result = fairshare_without(
        ["psycopg"],
        "provincie",
        "--out",
        str(out),
        env={"FAIRSHARE_PUBLISH_POSTGRES_DSN": "postgresql://nobody@127.0.0.1:1/none"},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    line = _one_sentence(result.stderr)
    assert "psycopg" in line and "'postgres' extra" in line, line
    assert not out.exists()


def test_bench_without_its_extra_exits_2_naming_it(tmp_path):
    workdir = tmp_path / "bench"
    result = fairshare_without(["psutil", "openpyxl"], "bench", "--dir", str(workdir))
    assert result.returncode == 2, result.stderr[-2000:]
    line = _one_sentence(result.stderr)
    assert "fairshare bench needs psutil, openpyxl" in line and "'bench' extra" in line, line
    assert ".[bench]" in line
    assert not workdir.exists()

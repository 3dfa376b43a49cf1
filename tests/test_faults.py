"""Killing the pipeline's whole process group at any point, then running again, gives exactly the marts of an
uninterrupted run: nothing lost, nothing doubled (sources.md §6, issue 5 "Faults")."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from basics.manifest import mart_names
from tests import zygote
from tests.helpers import run_command

ROOT = Path(__file__).resolve().parents[1]


def marts(path: Path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return {m: conn.execute(f"SELECT * FROM marts.{m} ORDER BY ALL").fetchall() for m in mart_names()}


def _group(pid: int) -> list[str]:
    """Command lines of the live processes in a process group (the pipeline and any child of it); zombies are dead."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if os.getpgid(int(entry.name)) == pid and state != "Z":
                    found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except (ProcessLookupError, FileNotFoundError, PermissionError):
                continue
    return found


def _in_phase(phase: str, proc: subprocess.Popen, base: Path) -> bool:
    # dbt runs in the run's process (orchestration/dbt_build.py): it has begun once it logs to its target folder.
    dbt_log = base / "warehouse" / "fairshare.duckdb.dbt" / "dbt.log"
    if phase == "ingest":
        return (base / "warehouse" / "fairshare.duckdb").exists() and not dbt_log.exists()
    if phase == "dbt":
        return dbt_log.exists()
    return any((base / "serving").glob(".fairshare.duckdb.*.tmp"))


@pytest.mark.dagster_instance  # the rerun marks the killed run failed in the instance
@pytest.mark.parametrize("phase,delay", [("ingest", 1.0), ("dbt", 2.5), ("publish", 0.0)])
def test_kill_at_any_point_then_rerun_gives_the_same_marts(sample_run, tmp_path, phase, delay):
    _, landing, reference, result = sample_run
    assert result.returncode == 0
    shutil.copytree(landing, tmp_path / "landing")
    cmd = run_command(tmp_path / "landing", tmp_path / "warehouse" / "fairshare.duckdb", tmp_path / "reports")
    proc = zygote.popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 600
    # dbt is killed 2.5 s after it is seen and ingest 1 s after, so looking every 50 ms is as good there; the
    # publication is short and killed at once, so it is looked for every 5 ms.
    poll = 0.005 if phase == "publish" else 0.05
    while not _in_phase(phase, proc, tmp_path):
        assert proc.poll() is None, f"the run ended before reaching {phase}"
        assert time.time() < deadline
        time.sleep(poll)
    time.sleep(delay)
    assert proc.poll() is None, f"the run ended before it could be killed during {phase}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _group(proc.pid) == []  # dbt died with it
    again = zygote.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert marts(tmp_path / "warehouse" / "fairshare.duckdb") == marts(reference)
    assert marts(tmp_path / "serving" / "fairshare.duckdb") == marts(reference)
    assert not list((tmp_path / "serving").glob(".*.tmp"))
    _killed_run_is_failed_in_the_instance()


def _killed_run_is_failed_in_the_instance() -> None:
    """The killed run was recorded in the Dagster instance (this test's DAGSTER_HOME, tests/conftest.py) as started;
    the next run marked it failed, so the UI never shows it running and the sensor does not wait for it."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(os.environ["DAGSTER_HOME"])) as instance:
        records = instance.get_run_records()  # newest first
        assert [r.dagster_run.status for r in records] == [
            dg.DagsterRunStatus.SUCCESS,
            dg.DagsterRunStatus.FAILURE,
        ]
        [failure] = instance.get_records_for_run(
            records[1].dagster_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        assert "ended before the run finished (killed?)" in failure.event_log_entry.dagster_event.message

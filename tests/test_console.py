"""What `fairshare run` shows a data engineer (issue 12, "Console"): a stage line each, a short summary, no floods."""

from __future__ import annotations

import shutil

from tests.test_operation import fairshare, run_args
from warehouse import publish


def test_a_sample_run_prints_a_short_console_with_peildatum_gate_and_paths(sample_run):
    _, _, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (result.stderr + result.stdout).strip().splitlines()
    assert len(lines) <= 40, "\n".join(lines)
    text = "\n".join(lines)
    assert "peildatum 1 november 2026 (data up to 31 oktober 2026)" in text
    assert "files this run: 44 new, 0 unchanged, 0 rejected" in text
    assert "gate: passed" in text
    reports = warehouse.parent.parent / "reports"
    assert f"Report: {(reports / 'bo_wonen_zorg_2026-12.html').resolve()}" in text
    assert (
        f"Published for readers (read-only copy): {(warehouse.parent.parent / 'serving' / warehouse.name).resolve()}"
        in text
    )
    for stage in ("ingest swev", "ingest urgentie", "ingest planregister", "dbt build", "report", "publish"):
        assert any(line.startswith(stage) and " s " in line for line in lines), stage
    assert "Done. PASS=" in text  # dbt's summary line, not its per-node log
    assert "OK created" not in text and "dagster" not in text.lower().replace("dagster dev", "")
    assert "see fairshare quarantaine" in text


def test_a_run_with_nothing_new_says_so_and_quiet_prints_only_the_summary(sample_run, tmp_path):
    _, landing, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("warehouse", "reports", "serving"):
        shutil.copytree(warehouse.parent.parent / name, tmp_path / name)
    publish.owner_file(tmp_path / "serving" / warehouse.name).unlink()  # another warehouse published it
    again = fairshare(*run_args(tmp_path, landing))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "files this run: 0 new, 44 unchanged, 0 rejected" in again.stdout
    assert "nothing new since the last complete build" in again.stdout
    assert len((again.stdout + again.stderr).strip().splitlines()) <= 15
    quiet = fairshare(*run_args(tmp_path, landing, "--quiet"))
    assert quiet.returncode == 0 and quiet.stdout.startswith("Summary")
    assert [line for line in quiet.stderr.splitlines() if not line.startswith("fairshare: DEMO MODE")] == []

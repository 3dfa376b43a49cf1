"""A run with nothing new: no row is read again, and nothing downstream of ingest is rebuilt."""

from __future__ import annotations

import shutil

from fairshare import timing
from fairshare.runner import run_pipeline
from fairshare.settings import Settings
from orchestration import builds
from tests.helpers import query
from warehouse import store


def _copy(sample_run, tmp_path):
    """The sample run's warehouse, reports and published copy, in a folder of this test's own."""
    _, landing, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    base = warehouse.parent.parent
    for name in ("warehouse", "reports", "serving"):
        shutil.copytree(base / name, tmp_path / name)
    return landing, tmp_path / "warehouse" / warehouse.name


def test_nothing_new_reads_no_rows_and_rebuilds_nothing(sample_run, tmp_path):
    landing, warehouse = _copy(sample_run, tmp_path)
    settings = Settings.from_env(landing=str(landing), warehouse=str(warehouse), reports=str(tmp_path / "reports"),
                                 demo=True)
    marts_before = query(warehouse, "SELECT * FROM marts.fair_share ORDER BY ALL")
    files_before = query(warehouse, "SELECT count(*) FROM audit.bestanden")[0][0]
    report = next((tmp_path / "reports").glob("bo_wonen_zorg_*.html"))
    stamp = report.stat().st_mtime_ns

    timing.reset()
    outcome = run_pipeline(settings)

    assert outcome.success and not outcome.blocked, outcome.error
    assert timing.snapshot()["counts"].get("rijen_gelezen", 0) == 0
    seen = query(warehouse, "SELECT status, count(*), coalesce(sum(rijen_gelezen), 0) FROM audit.bestanden "
                            "WHERE bestand_id > ? GROUP BY status", [files_before])
    assert seen == [("ongewijzigd", 44, 0)]  # every file sighted, none read
    assert timing.snapshot()["seconds"]["dbt"] == 0 and timing.snapshot()["seconds"]["gate"] == 0
    assert report.stat().st_mtime_ns == stamp
    assert query(warehouse, "SELECT * FROM marts.fair_share ORDER BY ALL") == marts_before


def test_the_build_is_redone_when_its_inputs_or_outputs_change(sample_run, tmp_path):
    landing, warehouse = _copy(sample_run, tmp_path)
    settings = Settings.from_env(landing=str(landing), warehouse=str(warehouse), reports=str(tmp_path / "reports"),
                                 demo=True)
    with store.connect(warehouse) as conn:
        assert builds.up_to_date(conn, settings)[0]
        assert not builds.up_to_date(conn, Settings.from_env(
            landing=str(landing), warehouse=str(warehouse), demo=True, peildatum="2026-04-01"))[0]
        # a newly loaded delivery changes the fingerprint
        conn.execute("INSERT INTO audit.bestanden (bron, pad, inhoud_hash, config_hash, leverdatum, status) "
                     "VALUES ('swev', 'swev/toewijzingen_2027-04-02.csv', 'x', 'y', DATE '2027-04-02', 'geladen')")
        assert not builds.up_to_date(conn, settings)[0]
        conn.execute("DELETE FROM audit.bestanden WHERE pad = 'swev/toewijzingen_2027-04-02.csv'")
        assert builds.up_to_date(conn, settings)[0]
    # a report someone deleted is written again
    for path in (tmp_path / "reports").glob("bo_wonen_zorg_*"):
        path.unlink()
    with store.connect(warehouse) as conn:
        assert not builds.up_to_date(conn, settings)[0]

"""A run with nothing new: no row is read again, and nothing downstream of ingest is rebuilt."""

from __future__ import annotations

import shutil

from basics import timing
from basics.region import DEFAULT_REGIO
from basics.settings import Settings
from fairshare.runner import run_pipeline
from orchestration import keys
from orchestration.definitions import build_definitions
from tests.helpers import lock_held_elsewhere, query
from warehouse import builds, store


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
    settings = Settings.from_env(
        landing=str(landing), warehouse=str(warehouse), reports=str(tmp_path / "reports"), demo=True
    )
    marts_before = query(warehouse, "SELECT * FROM marts.fair_share ORDER BY ALL")
    files_before = query(warehouse, "SELECT count(*) FROM audit.bestanden")[0][0]
    report = next((tmp_path / "reports").glob("bo_wonen_zorg_*.html"))
    stamp = report.stat().st_mtime_ns

    timing.reset()
    outcome = run_pipeline(settings)

    assert outcome.success and not outcome.blocked, outcome.error
    assert timing.snapshot()["counts"].get("rijen_gelezen", 0) == 0
    seen = query(
        warehouse,
        "SELECT status, count(*), coalesce(sum(rijen_gelezen), 0) FROM audit.bestanden "
        "WHERE bestand_id > ? GROUP BY status",
        [files_before],
    )
    assert seen == [("ongewijzigd", 44, 0)]  # every file sighted, none read
    assert timing.snapshot()["seconds"]["dbt"] == 0 and timing.snapshot()["seconds"]["gate"] == 0
    assert report.stat().st_mtime_ns == stamp
    assert query(warehouse, "SELECT * FROM marts.fair_share ORDER BY ALL") == marts_before


def test_the_build_is_redone_when_its_inputs_or_outputs_change(sample_run, tmp_path):
    landing, warehouse = _copy(sample_run, tmp_path)
    settings = Settings.from_env(
        landing=str(landing), warehouse=str(warehouse), reports=str(tmp_path / "reports"), demo=True
    )
    with store.connect(warehouse) as conn:
        assert builds.up_to_date(conn, settings)[0]
        assert not builds.up_to_date(
            conn,
            Settings.from_env(
                landing=str(landing), warehouse=str(warehouse), demo=True, peildatum="2026-04-01"
            ),
        )[0]
        # a newly loaded delivery changes the fingerprint
        conn.execute(
            "INSERT INTO audit.bestanden (bron, pad, inhoud_hash, config_hash, leverdatum, status) "
            "VALUES ('swev', 'swev/toewijzingen_2027-04-02.csv', 'x', 'y', DATE '2027-04-02', 'geladen')"
        )
        assert not builds.up_to_date(conn, settings)[0]
        conn.execute("DELETE FROM audit.bestanden WHERE pad = 'swev/toewijzingen_2027-04-02.csv'")
        assert builds.up_to_date(conn, settings)[0]
    # a report someone deleted is written again
    for path in (tmp_path / "reports").glob("bo_wonen_zorg_*"):
        path.unlink()
    with store.connect(warehouse) as conn:
        assert not builds.up_to_date(conn, settings)[0]


def test_the_schedule_launches_no_run_when_the_last_build_is_current(sample_run, tmp_path):
    """On 1 May / 1 December nothing new means no run at all: the checks of the last build stay as they were."""
    from tests.test_automation import _schedule_tick

    landing, warehouse = _copy(sample_run, tmp_path)
    shutil.copytree(landing, tmp_path / "landing")
    landing = tmp_path / "landing"
    schedule = build_definitions().resolve_schedule_def(keys.schedule_name(DEFAULT_REGIO))
    skipped = _schedule_tick(schedule, landing, warehouse, tmp_path / "reports")
    assert skipped.run_requests == [] and "niets nieuw" in skipped.skip_message
    with lock_held_elsewhere(
        warehouse
    ):  # a run in progress: the schedule does not open the warehouse, it asks
        assert (
            len(_schedule_tick(schedule, landing, warehouse, tmp_path / "reports").run_requests) == 1
        )  # for a run (which queues)
    shutil.copy(
        landing / "swev" / "toewijzingen_2026-11-03.csv", landing / "swev" / "toewijzingen_2026-11-20.csv"
    )
    assert (
        len(_schedule_tick(schedule, landing, warehouse, tmp_path / "reports").run_requests) == 1
    )  # a new delivery: build


def test_a_run_with_nothing_new_reports_the_last_builds_dbt_checks_again(sample_run, tmp_path):
    """In Dagster (a persistent instance), the dbt checks of a no-op run show the last real results, not 'Skipped'."""
    import dagster as dg

    landing, warehouse = _copy(sample_run, tmp_path)
    settings = Settings.from_env(
        landing=str(landing), warehouse=str(warehouse), reports=str(tmp_path / "reports"), demo=True
    )
    for path in (tmp_path / "reports").glob("bo_wonen_zorg_*"):
        path.unlink()  # the last build's outputs are gone: this instance sees one real build first
    with dg.instance_for_test() as instance:
        assert run_pipeline(settings, instance).success
        built = {
            (e.asset_check_key, e.passed)
            for r in instance.get_run_records()
            for e in _evaluations(instance, r.dagster_run.run_id)
        }
        assert run_pipeline(settings, instance).success
        latest = instance.get_run_records(limit=1)[0].dagster_run.run_id
        again = {(e.asset_check_key, e.passed) for e in _evaluations(instance, latest)}
    dbt_checks = {
        (k, p)
        for k, p in built
        if k.asset_key.path[1] in ("staging", "intermediate", "marts") and k.name != keys.FRESHNESS_CHECK
    }  # a check of its own step, not a dbt test
    assert dbt_checks and dbt_checks <= again  # every dbt test reported again, with its last outcome


def _evaluations(instance, run_id: str):
    import dagster as dg

    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [r.event_log_entry.dagster_event.event_specific_data for r in records]

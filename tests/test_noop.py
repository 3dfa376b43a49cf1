"""A run with nothing new: no row is read again, and nothing downstream of ingest is rebuilt."""

from __future__ import annotations

import os
import shutil

import pytest

from basics import timing
from basics.region import DEFAULT_REGIO
from basics.settings import Settings
from fairshare.runner import run_pipeline
from orchestration import keys
from orchestration.definitions import build_definitions
from tests import zygote
from tests.helpers import lock_held_elsewhere, query, run_command, sample_built
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
    later = landing / "swev" / "toewijzingen_2026-11-20.csv"
    shutil.copy(landing / "swev" / "toewijzingen_2026-11-03.csv", later)
    skipped = _schedule_tick(schedule, landing, warehouse, tmp_path / "reports")
    # the same bytes under another date: a run would only record it as unchanged (same content), so no run
    assert skipped.run_requests == [] and "niets nieuw" in skipped.skip_message
    with open(later, "a", encoding="utf-8") as fh:
        fh.write("\n")
    assert (
        len(_schedule_tick(schedule, landing, warehouse, tmp_path / "reports").run_requests) == 1
    )  # a new delivery: build


@pytest.fixture(scope="module")
def three_runs(sample_run, tmp_path_factory):
    """`fairshare run` three times on a complete build of the sample, as a data engineer at the command line, with
    no DAGSTER_HOME set (so into data/dagster_home of the working folder, as `make dev` uses): nothing new, then
    ``--opnieuw`` (everything rebuilt and published again), then nothing new again.

    Returns (working folder, warehouse, [(result, report mtime after the run)], the instance's folder)."""
    base = tmp_path_factory.mktemp("drie_runs")
    warehouse = sample_built(sample_run, base)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRSHARE_", "DAGSTER_HOME"))}
    report = base / "reports" / "bo_wonen_zorg_2026-12.html"
    runs = []
    for extra in ([], ["--opnieuw"], []):
        result = zygote.run(
            run_command(base / "landing", warehouse, base / "reports") + extra,
            capture_output=True,
            text=True,
            cwd=base,
            env=env,
            timeout=900,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        runs.append((result, report.stat().st_mtime_ns))
    return base, warehouse, runs, base / "data" / "dagster_home"


def _instance(home):
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def test_fairshare_run_records_in_make_devs_instance_under_the_regions_keys(three_runs):
    """After `fairshare run` the UI's instance (data/dagster_home, made with orchestration/dagster.yaml as
    `make dev` makes it) holds the runs, every materialisation and check result, under the region's keys."""
    import dagster as dg

    from orchestration.run import INSTANCE_CONFIG

    _, _, runs, home = three_runs
    assert (home / "dagster.yaml").read_text() == INSTANCE_CONFIG.read_text()
    R = DEFAULT_REGIO
    with _instance(home) as instance:
        records = instance.get_run_records()
        assert [r.dagster_run.job_name for r in records] == [keys.job_name(R)] * 3
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
        rebuilt = records[1].dagster_run.run_id  # newest first: the --opnieuw run
        materialised = {
            e.asset_key
            for e in (
                r.event_log_entry.dagster_event
                for r in instance.get_records_for_run(
                    rebuilt, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
                ).records
            )
        }
        assert {keys.asset_key(R, *keys.REPORT), keys.asset_key(R, *keys.PUBLICATION)} <= materialised
        assert keys.asset_key(R, "marts", "fair_share") in materialised
        assert keys.asset_key(R, "raw", "swev_toewijzingen") in materialised
        assert all(k.path[0] == R for k in materialised) and len(materialised) > 30
        latest = instance.get_latest_materialization_event(keys.asset_key(R, *keys.REPORT))
        assert latest.run_id == rebuilt
        for check in (
            keys.check_key(R, keys.REPORT, keys.GATE_CHECK),
            keys.check_key(R, ("raw", "swev_toewijzingen"), "quarantaine"),
            keys.check_key(R, keys.FRESHNESS_ASSET, keys.FRESHNESS_CHECK),
        ):
            evaluated = {
                r.run_id
                for r in instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
                if r.event and r.event.asset_check_evaluation is not None
            }
            assert rebuilt in evaluated, check


def test_opnieuw_rebuilds_and_republishes_after_a_run_with_nothing_new(three_runs):
    base, warehouse, runs, _ = three_runs
    (noop, before), (again, rebuilt), (noop_after, after) = runs
    assert "nothing new since the last complete build" in noop.stdout and "dbt build" not in noop.stderr
    assert "rebuilding on request (--opnieuw)" in again.stderr
    assert "dbt build" in again.stderr and "gate (GX)" in again.stderr and "publish" in again.stderr
    assert "nothing new" not in again.stdout and "gate: passed" in again.stdout
    assert rebuilt > before  # the report written again
    assert "(build 2)" in again.stdout  # published again, as a build of its own
    assert after == rebuilt and "nothing new since the last complete build" in noop_after.stdout
    assert query(warehouse, "SELECT count(*) FROM audit.bouw") == [(2,)]


def test_a_run_with_nothing_new_reports_the_last_builds_dbt_checks_again(three_runs):
    """In Dagster (a persistent instance), the dbt checks of a no-op run show the last real results, not 'Skipped'."""
    *_, home = three_runs
    with _instance(home) as instance:
        records = instance.get_run_records()  # newest first: nothing new, --opnieuw, nothing new
        latest, built = records[0].dagster_run.run_id, records[1].dagster_run.run_id
        built_checks = {(e.asset_check_key, e.passed) for e in _evaluations(instance, built)}
        again = {(e.asset_check_key, e.passed) for e in _evaluations(instance, latest)}
    dbt_checks = {
        (k, p)
        for k, p in built_checks
        if k.asset_key.path[1] in ("staging", "intermediate", "marts") and k.name != keys.FRESHNESS_CHECK
    }  # a check of its own step, not a dbt test
    assert dbt_checks and dbt_checks <= again  # every dbt test reported again, with its last outcome


def test_after_a_run_with_nothing_new_the_gate_shows_its_last_verdict_not_skipped(three_runs):
    """The gate's and the freshness check's steps do not run when nothing is new: their last evaluations are
    reported again, so the region's blocking check `poort` shows the last verdict, naming the run that made it."""
    *_, home = three_runs
    with _instance(home) as instance:
        built = instance.get_run_records()[1].dagster_run.run_id  # the --opnieuw run
        for check in (
            keys.check_key(DEFAULT_REGIO, keys.REPORT, keys.GATE_CHECK),
            keys.check_key(DEFAULT_REGIO, keys.FRESHNESS_ASSET, keys.FRESHNESS_CHECK),
        ):
            [latest] = instance.event_log_storage.get_asset_check_execution_history(check, limit=1)
            evaluation = latest.event.asset_check_evaluation
            assert evaluation is not None, f"{check} shows as skipped"
            assert evaluation.metadata["uit_run"].value == built, check


def test_the_ui_can_ask_for_a_rebuild_in_the_runs_config():
    """The launchpad's field: resources.fairshare.config.opnieuw, the same field `fairshare run --opnieuw` sets."""
    import dagster as dg

    job = build_definitions().resolve_job_def(keys.job_name(DEFAULT_REGIO))
    config = {"resources": {"fairshare": {"config": {"opnieuw": True}}}}
    assert dg.validate_run_config(job, config)["resources"]["fairshare"]["config"]["opnieuw"] is True
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"resources": {"fairshare": {"config": {"opnieuw": "ja"}}}})


def _evaluations(instance, run_id: str):
    import dagster as dg

    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [r.event_log_entry.dagster_event.event_specific_data for r in records]


def test_a_dagster_home_that_cannot_be_written_is_a_usage_error(tmp_path):
    """DAGSTER_HOME naming a file: exit 2 with one sentence naming it, before anything is read or written."""
    landing = tmp_path / "landing"
    for folder in ("swev", "urgentie", "planregister"):
        (landing / folder).mkdir(parents=True)
    home = tmp_path / "home"
    home.write_text("not a folder")
    result = zygote.run(
        run_command(landing, tmp_path / "warehouse" / "w.duckdb", tmp_path / "reports"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    [line] = result.stderr.strip().splitlines()[-1:]
    assert f"the Dagster instance folder {home}" in line and "point DAGSTER_HOME at a writable folder" in line
    assert not (tmp_path / "warehouse" / "w.duckdb").exists()

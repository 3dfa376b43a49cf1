"""Sensor and schedule (Dagster test utilities): new files start one run, the same file none; May and December only."""

from __future__ import annotations

import datetime as dt
import os
import time
from contextlib import nullcontext
from pathlib import Path

import dagster as dg
import yaml
from dagster._utils.schedules import cron_string_iterator

from basics.region import DEFAULT_REGIO
from orchestration import keys
from orchestration.definitions import build_definitions
from orchestration.resources import WAREHOUSE_POOL, FairshareResource
from tests.helpers import TOEWIJZINGEN_HEADER, toewijzing_row, write_xlsx

ROOT = Path(__file__).resolve().parents[1]


def _sensor_and_schedule(landing):
    defs = build_definitions(FairshareResource(landing=str(landing)))
    return (
        defs.resolve_sensor_def(keys.sensor_name(DEFAULT_REGIO)),
        defs.resolve_schedule_def(keys.schedule_name(DEFAULT_REGIO)),
    )


def _tick(sensor, landing, cursor, settle: float = 0, instance=None):
    """One sensor evaluation; ``settle`` 0 takes files written a moment ago as complete."""
    resources = {"fairshare": FairshareResource(landing=str(landing), settle_seconds=settle)}
    with (
        nullcontext(instance) if instance else dg.instance_for_test() as inst,
        dg.build_sensor_context(instance=inst, cursor=cursor, resources=resources) as context,
    ):
        result = sensor.evaluate_tick(context)
        return result.run_requests, result.cursor


def test_a_new_file_yields_one_run_request_and_the_same_file_none(landing):
    sensor, _ = _sensor_and_schedule(landing)
    assert _tick(sensor, landing, None)[0] == []  # empty landing folder
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)])
    (landing / "swev" / "~$toewijzingen_2025-04-02.xlsx").write_bytes(b"lock")
    requests, cursor = _tick(sensor, landing, None)
    assert len(requests) == 1
    again, cursor2 = _tick(sensor, landing, cursor)
    assert again == [] and cursor2 == cursor
    # The run key is the content's: a renamed copy or a lost cursor gives the same key, which Dagster deduplicates.
    lost_cursor, _ = _tick(sensor, landing, None)
    assert lost_cursor[0].run_key == requests[0].run_key
    write_xlsx(
        landing / "urgentie" / "baarn_2025-04-02.xlsx",
        ["Registratienummer", "Aanvraagdatum", "Besluit"],
        [["R1", "01-03-2025", ""]],
    )
    more, _ = _tick(sensor, landing, cursor)
    assert len(more) == 1 and more[0].run_key != requests[0].run_key
    assert more[0].tags["fairshare/bestanden"] == "urgentie/baarn_2025-04-02.xlsx"


def test_changed_content_triggers_again(landing):
    sensor, _ = _sensor_and_schedule(landing)
    path = write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)]
    )
    first, cursor = _tick(sensor, landing, None)
    write_xlsx(path, TOEWIJZINGEN_HEADER, [toewijzing_row(1), toewijzing_row(2)])
    second, _ = _tick(sensor, landing, cursor)
    assert len(second) == 1 and second[0].run_key != first[0].run_key


def test_schedule_fires_on_1_may_and_1_december_only(landing):
    _, schedule = _sensor_and_schedule(landing)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    ticks = cron_string_iterator(start, schedule.cron_schedule, schedule.execution_timezone)
    fired = [next(ticks) for _ in range(6)]
    assert [(t.year, t.month, t.day) for t in fired] == [
        (2026, 5, 1),
        (2026, 12, 1),
        (2027, 5, 1),
        (2027, 12, 1),
        (2028, 5, 1),
        (2028, 12, 1),
    ]
    assert (
        len(_schedule_tick(schedule, landing, landing.parent / "w.duckdb").run_requests) == 1
    )  # nothing built yet


def _schedule_tick(schedule, landing, warehouse, reports=None):
    resources = {
        "fairshare": FairshareResource(
            landing=str(landing),
            warehouse=str(warehouse),
            reports=str(reports or warehouse.parent / "reports"),
        )
    }
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC),
            resources=resources,
        ) as context,
    ):
        return schedule.evaluate_tick(context)


def test_the_sensor_waits_while_a_run_is_starting_or_in_progress(landing):
    sensor, _ = _sensor_and_schedule(landing)
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)])
    with dg.instance_for_test() as instance:
        instance.add_run(
            dg.DagsterRun(
                job_name=keys.job_name(DEFAULT_REGIO), run_id="lopend", status=dg.DagsterRunStatus.STARTED
            )
        )
        requests, cursor = _tick(sensor, landing, None, instance=instance)
        assert requests == [] and cursor is None  # nothing remembered: the file still triggers later
        instance.add_run(
            dg.DagsterRun(
                job_name=keys.job_name(DEFAULT_REGIO), run_id="start", status=dg.DagsterRunStatus.STARTING
            )
        )
        assert _tick(sensor, landing, None, instance=instance)[0] == []
    with dg.instance_for_test() as instance:  # no run active: one request
        instance.add_run(
            dg.DagsterRun(
                job_name=keys.job_name(DEFAULT_REGIO), run_id="klaar", status=dg.DagsterRunStatus.SUCCESS
            )
        )
        assert len(_tick(sensor, landing, None, instance=instance)[0]) == 1


def test_the_sensor_does_not_wait_for_a_run_whose_fairshare_process_was_killed(landing):
    """A killed `fairshare run` leaves its run "started" in the instance: its process tag (this host, a pid that no
    longer exists) tells the sensor nothing holds the warehouse; a live process still makes it wait."""
    import subprocess

    from orchestration.automation import PROCESS_TAG, process_tag

    sensor, _ = _sensor_and_schedule(landing)
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)])
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process
    host = process_tag().rpartition(":")[0]
    for tag, waits in ((f"{host}:{gone.pid}", False), (process_tag(), True)):
        with dg.instance_for_test() as instance:
            instance.add_run(
                dg.DagsterRun(
                    job_name=keys.job_name(DEFAULT_REGIO),
                    run_id="gedood",
                    status=dg.DagsterRunStatus.STARTED,
                    tags={PROCESS_TAG: tag},
                )
            )
            assert (_tick(sensor, landing, None, instance=instance)[0] == []) is waits, tag


def test_a_file_still_being_written_waits_for_a_later_tick_and_links_are_never_read(landing, tmp_path):
    sensor, _ = _sensor_and_schedule(landing)
    path = write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)]
    )
    secret = tmp_path / "geheim.txt"
    secret.write_text("geheim")
    (landing / "urgentie").mkdir()
    (landing / "urgentie" / "baarn_2025-04-02.csv").symlink_to(secret)
    assert _tick(sensor, landing, None, settle=60)[0] == []  # written just now: not complete yet
    old = path.stat().st_mtime - 120
    os.utime(path, (old, old))  # a copy that keeps the source's time is still new by its change time
    assert _tick(sensor, landing, None, settle=60)[0] == []
    time.sleep(1.2)
    requests, cursor = _tick(sensor, landing, None, settle=1)
    assert (
        len(requests) == 1 and requests[0].tags["fairshare/bestanden"] == "swev/toewijzingen_2025-04-02.xlsx"
    )
    assert "urgentie" not in cursor


def test_the_shipped_instance_config_runs_one_fairshare_run_at_a_time():
    """orchestration/dagster.yaml (copied into DAGSTER_HOME by `make dev`): the queue and the pool both limit to one."""
    config = yaml.safe_load((ROOT / "orchestration" / "dagster.yaml").read_text())
    defs = build_definitions()
    job = defs.resolve_job_def(keys.job_name(DEFAULT_REGIO))
    with dg.instance_for_test(overrides=config) as instance:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert [(lim["key"], lim.get("value"), lim["limit"]) for lim in queue.tag_concurrency_limits] == [
            *[(k, v, 1) for k, v in job.tags.items() if k == "fairshare/schrijver"]
        ]
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    pools = {node.definition.pool for node in job.graph.node_dict.values()}
    assert pools == {WAREHOUSE_POOL}


def test_make_dev_uses_demo_mode_only_without_a_pseudonym_key(tmp_path):
    """`make dev` (the real Makefile recipe) with `dagster` replaced by a script that prints what it was given:
    demo mode, said on start-up, only when FAIRSHARE_PSEUDONYM_KEY is not set."""
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dagster").write_text('#!/bin/sh\necho "demo=${FAIRSHARE_DEMO:-uit} home=$DAGSTER_HOME $*"\n')
    (bin_dir / "dagster").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRSHARE_", "DAGSTER_", "MAKE"))}

    def dev(**extra: str) -> str:
        result = subprocess.run(
            ["make", "-s", "-o", "install", "dev", f"BIN={bin_dir}", f"DAGSTER_HOME={tmp_path / 'home'}"],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    without = dev()
    assert "FAIRSHARE_PSEUDONYM_KEY is not set, so runs use demo mode" in without
    assert f"demo=1 home={tmp_path / 'home'} dev -w workspace.yaml" in without
    with_key = dev(FAIRSHARE_PSEUDONYM_KEY="een-echte-sleutel-van-de-regio")
    assert "pseudonyms use FAIRSHARE_PSEUDONYM_KEY" in with_key and "demo=uit " in with_key
    assert (tmp_path / "home" / "dagster.yaml").read_text() == (
        ROOT / "orchestration" / "dagster.yaml"
    ).read_text()

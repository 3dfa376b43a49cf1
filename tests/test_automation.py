"""Sensor and schedule (Dagster test utilities): new files start one run, the same file none; May and December only."""

from __future__ import annotations

import datetime as dt

import dagster as dg
from dagster._utils.schedules import cron_string_iterator

from orchestration.definitions import build_definitions
from orchestration.resources import FairshareResource
from tests.helpers import SWEV_HEADER, swev_row, write_xlsx


def _sensor_and_schedule(landing):
    defs = build_definitions(FairshareResource(landing=str(landing)))
    return defs.resolve_sensor_def("nieuwe_leveringen"), defs.resolve_schedule_def("bo_rapport_mei_december")


def _tick(sensor, landing, cursor):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                          resources={"fairshare": FairshareResource(landing=str(landing))})
        result = sensor.evaluate_tick(context)
        return result.run_requests, result.cursor


def test_a_new_file_yields_one_run_request_and_the_same_file_none(landing):
    sensor, _ = _sensor_and_schedule(landing)
    assert _tick(sensor, landing, None)[0] == []  # empty landing folder
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", SWEV_HEADER, [swev_row(1)])
    (landing / "swev" / "~$toewijzingen_2025-04-02.xlsx").write_bytes(b"lock")
    requests, cursor = _tick(sensor, landing, None)
    assert len(requests) == 1
    again, cursor2 = _tick(sensor, landing, cursor)
    assert again == [] and cursor2 == cursor
    # The run key is the content's: a renamed copy or a lost cursor gives the same key, which Dagster deduplicates.
    lost_cursor, _ = _tick(sensor, landing, None)
    assert lost_cursor[0].run_key == requests[0].run_key
    write_xlsx(landing / "urgentie" / "baarn_2025-04-02.xlsx", ["Registratienummer", "Aanvraagdatum", "Besluit"],
               [["R1", "01-03-2025", ""]])
    more, _ = _tick(sensor, landing, cursor)
    assert len(more) == 1 and more[0].run_key != requests[0].run_key
    assert more[0].tags["fairshare/bestanden"] == "urgentie/baarn_2025-04-02.xlsx"


def test_changed_content_triggers_again(landing):
    sensor, _ = _sensor_and_schedule(landing)
    path = write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", SWEV_HEADER, [swev_row(1)])
    first, cursor = _tick(sensor, landing, None)
    write_xlsx(path, SWEV_HEADER, [swev_row(1), swev_row(2)])
    second, _ = _tick(sensor, landing, cursor)
    assert len(second) == 1 and second[0].run_key != first[0].run_key


def test_schedule_fires_on_1_may_and_1_december_only(landing):
    _, schedule = _sensor_and_schedule(landing)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    ticks = cron_string_iterator(start, schedule.cron_schedule, schedule.execution_timezone)
    fired = [next(ticks) for _ in range(6)]
    assert [(t.year, t.month, t.day) for t in fired] == [(2026, 5, 1), (2026, 12, 1), (2027, 5, 1), (2027, 12, 1),
                                                         (2028, 5, 1), (2028, 12, 1)]
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=fired[0])
        assert len(schedule.evaluate_tick(context).run_requests) == 1

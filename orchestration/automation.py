"""Automation around the two rhythms: deliveries arriving in the landing folder, and the board meetings.

The sensor starts a run when files are new or changed; its run key is a hash of their contents, so
the same file never triggers twice (a run key deduplicates forever, so it must not be a file name).
It waits while a run of the job is queued or in progress (one writer per warehouse), and leaves a
file modified within the settle interval for a later tick, as a run would.
The schedule builds the report on 1 May and 1 December. The freshness check warns, never blocks.
"""

import hashlib
import json
import os
import socket
import time

import dagster as dg

from expectations import gate
from ingest.config import source_folders
from ingest.landing import candidates, content_hash
from orchestration import keys
from orchestration.resources import WAREHOUSE_POOL, FairshareResource
from warehouse import audit, builds, store

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


# A `fairshare run` tags its run with the process that runs it (orchestration/run.py): a run whose process is gone
# (killed) stays "started" in the instance, but holds nothing, so nothing may wait for it.
PROCESS_TAG = "fairshare/proces"


def process_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def abandoned(run: dg.DagsterRun) -> bool:
    """A run of `fairshare run` on this host whose process no longer exists (killed before it could finish)."""
    host, _, pid = run.tags.get(PROCESS_TAG, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # not a `fairshare run`, or another host's: its state is its own
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    return False


def landing_hashes(fairshare: FairshareResource) -> dict[str, str]:
    """Content hash of every complete file in the source folders.

    Lock, hidden and linked files are skipped, and so is a file modified within the settle interval
    (still being copied): it is hashed at a later tick.
    """
    settings = fairshare.settings()
    now = time.time()
    hashes = {}
    for folder in source_folders().values():
        paths, _ = candidates(settings.landing, folder)
        for path in paths:
            st = path.stat()
            if now - max(st.st_mtime, st.st_ctime) >= settings.settle_seconds:
                hashes[path.relative_to(settings.landing).as_posix()] = content_hash(path)
    return hashes


def build_automation(job, regio: str):
    """The region's sensor and schedule that start `job` (its names: ``orchestration.keys``)."""

    @dg.sensor(
        name=keys.sensor_name(regio),
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Start een run zodra er nieuwe of gewijzigde bestanden in de landingsmap staan.",
    )
    def nieuwe_leveringen(context: dg.SensorEvaluationContext, fairshare: FairshareResource):
        # Only this region's runs (its writer tag; an untagged run counts): another region's never holds it back.
        mine = job.tags.get("fairshare/schrijver")
        active = context.instance.get_runs(dg.RunsFilter(job_name=job.name, statuses=ACTIVE), limit=100)
        if any(r.tags.get("fairshare/schrijver", mine) == mine and not abandoned(r) for r in active):
            return dg.SkipReason(
                "een run van deze job loopt al of staat in de wachtrij: volgende keer kijken"
            )
        seen = json.loads(context.cursor) if context.cursor else {}
        current = landing_hashes(fairshare)
        new = {pad: h for pad, h in current.items() if seen.get(pad) != h}
        context.update_cursor(json.dumps(current, sort_keys=True))
        if not new:
            return dg.SkipReason("geen nieuwe of gewijzigde bestanden")
        key = hashlib.sha256("".join(sorted(new.values())).encode()).hexdigest()
        return dg.RunRequest(run_key=key, tags={"fairshare/bestanden": ", ".join(sorted(new))[:1000]})

    @dg.schedule(
        name=keys.schedule_name(regio),
        job=job,
        cron_schedule="0 6 1 5,12 *",
        execution_timezone="Europe/Amsterdam",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Bouwt het rapport voor het BO Wonen en Zorg op 1 mei en 1 december, tenzij de laatste "
        "volledige bouw al actueel is (dan blijven de checks van die bouw staan).",
    )
    def bo_rapport_mei_december(context: dg.ScheduleEvaluationContext, fairshare: FairshareResource):
        if builds.nothing_new(fairshare.settings()):
            return dg.SkipReason(
                "niets nieuw: rapport, publicatie en checks van de laatste volledige bouw zijn actueel"
            )
        return dg.RunRequest()

    return nieuwe_leveringen, bo_rapport_mei_december


def build_freshness_check(regio: str) -> dg.AssetChecksDefinition:
    """The region's freshness check on its staging/stg_audit__leveringen."""

    @dg.asset_check(
        asset=keys.asset_key(regio, *keys.FRESHNESS_ASSET),
        name=keys.FRESHNESS_CHECK,
        pool=WAREHOUSE_POOL,
        blocking=False,
        description="Planregister op tijd (15 april / 15 november) en elke commissie "
        "heeft dit halfjaar geleverd; waarschuwt, blokkeert niet.",
    )
    def _check(fairshare: FairshareResource) -> dg.AssetCheckResult:
        return actualiteit_leveringen(fairshare)

    return _check


def actualiteit_leveringen(fairshare: FairshareResource) -> dg.AssetCheckResult:
    """Warn when the planregister is late or a committee has not delivered this half-year."""
    with store.connect(fairshare.settings().warehouse) as conn:
        regels = gate.poort_regels(conn, audit.peildatum(conn))
    versheid = regels[regels["regel"].isin(["planregister_tijdig", "register_levering"])]
    missing = versheid[~versheid["geslaagd"]]
    return dg.AssetCheckResult(
        passed=missing.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "ontbrekend": len(missing),
            "berichten": dg.MetadataValue.md("\n".join(f"- {b}" for b in missing["bericht"]) or "geen"),
        },
    )

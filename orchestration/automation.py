"""Automation around the two rhythms: deliveries arriving in the landing folder, and the board meetings.

The sensor starts a run when files are new or changed; its run key is a hash of their contents, so
the same file never triggers twice (a run key deduplicates forever, so it must not be a file name).
The schedule builds the report on 1 May and 1 December. The freshness check warns, never blocks.
"""

import hashlib
import json

import dagster as dg

from expectations import gate
from ingest.landing import content_hash
from orchestration.resources import FairshareResource
from warehouse import store

SOURCES = ("swev", "urgentie", "planregister")


def landing_hashes(fairshare: FairshareResource) -> dict[str, str]:
    """Content hash of every file in the source folders (lock and hidden files skipped)."""
    landing = fairshare.settings().landing
    hashes = {}
    for bron in SOURCES:
        folder = landing / bron
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith(("~$", ".")):
                    hashes[path.relative_to(landing).as_posix()] = content_hash(path)
    return hashes


def build_automation(job):
    """The sensor and schedule that start `job`."""
    @dg.sensor(job=job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
               description="Start een run zodra er nieuwe of gewijzigde bestanden in de landingsmap staan.")
    def nieuwe_leveringen(context: dg.SensorEvaluationContext, fairshare: FairshareResource):
        seen = json.loads(context.cursor) if context.cursor else {}
        current = landing_hashes(fairshare)
        new = {pad: h for pad, h in current.items() if seen.get(pad) != h}
        context.update_cursor(json.dumps(current, sort_keys=True))
        if not new:
            return dg.SkipReason("geen nieuwe of gewijzigde bestanden")
        key = hashlib.sha256("".join(sorted(new.values())).encode()).hexdigest()
        return dg.RunRequest(run_key=key, tags={"fairshare/bestanden": ", ".join(sorted(new))[:1000]})

    bo_rapport_schedule = dg.ScheduleDefinition(
        name="bo_rapport_mei_december", job=job, cron_schedule="0 6 1 5,12 *", execution_timezone="Europe/Amsterdam",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Bouwt het rapport voor het BO Wonen en Zorg op 1 mei en 1 december.")
    return nieuwe_leveringen, bo_rapport_schedule


@dg.asset_check(asset=dg.AssetKey(["staging", "stg_audit__leveringen"]), name="actualiteit_leveringen",
                blocking=False, description="Planregister op tijd (15 april / 15 november) en elke commissie "
                                            "heeft dit halfjaar geleverd; waarschuwt, blokkeert niet.")
def actualiteit_leveringen(fairshare: FairshareResource) -> dg.AssetCheckResult:
    with store.connect(fairshare.settings().warehouse) as conn:
        regels = gate.poort_regels(conn)
    versheid = regels[regels["regel"].isin(["planregister_tijdig", "register_levering"])]
    missing = versheid[~versheid["geslaagd"]]
    return dg.AssetCheckResult(passed=missing.empty, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"ontbrekend": len(missing), "berichten": dg.MetadataValue.md(
                                   "\n".join(f"- {b}" for b in missing["bericht"]) or "geen")})

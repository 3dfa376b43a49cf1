"""Every Dagster name of a region, spelled once: asset keys, check keys, job, sensor and schedule names.

Each region is its own code location (``orchestration.regions``) and every name in it carries the region:
asset keys start with the region's code (``voorbeeld/raw/swev_toewijzingen``), and the job, sensor and
schedule end with it (``fairshare_voorbeeld``). One Dagster instance (``make dev``'s, which ``fairshare run``
records in too) then shows each region's lineage, runs and checks apart; the same path in two locations
would be one asset with two definitions whose events mix both regions.

Why a key prefix and not a static partition per region: a partition is a slice of one asset, materialised
by one job in one code location, which would have to hold every region's pseudonym key and warehouse
(``orchestration.regions`` says why a region is a location of its own). A prefix keeps the region in every
key, check and event, and lets a location be deployed with only its region's secret.
"""

from __future__ import annotations

import dagster as dg

from basics import region

REPORT = ("rapport", "bo_wonen_zorg")  # the BO report, carrying the blocking gate check
PUBLICATION = ("publicatie", "marts")  # the copy for readers
GATE_CHECK = "poort"
FRESHNESS_CHECK = "actualiteit_leveringen"  # on staging/stg_audit__leveringen: warns, never blocks
FRESHNESS_ASSET = ("staging", "stg_audit__leveringen")


def regio_of(regio: str | None) -> str:
    """The region a set of definitions serves: the one named, else the default (never the environment:
    a location's names may not change with a variable of the process that loads it)."""
    return regio or region.DEFAULT_REGIO


def asset_key(regio: str, *path: str) -> dg.AssetKey:
    """A region's asset: ``<regio>/<schema>/<name>``."""
    return dg.AssetKey([regio, *path])


def check_key(regio: str, path: tuple[str, ...], name: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(asset_key(regio, *path), name)


def job_name(regio: str) -> str:
    return f"fairshare_{regio}"


def sensor_name(regio: str) -> str:
    return f"nieuwe_leveringen_{regio}"


def schedule_name(regio: str) -> str:
    return f"bo_rapport_mei_december_{regio}"


def regio_of_run(run: dg.DagsterRun) -> str | None:
    """The region a run is of: its job's (``fairshare_<regio>``), else its selected assets' or checks' prefix."""
    known = region.regions()
    prefix = job_name("")
    if run.job_name.startswith(prefix) and run.job_name[len(prefix) :] in known:
        return run.job_name[len(prefix) :]
    selected = [*(run.asset_selection or ()), *(c.asset_key for c in run.asset_check_selection or ())]
    found = {k.path[0] for k in selected if k.path and k.path[0] in known}
    return found.pop() if len(found) == 1 else None


def regio_metadata(regio: str) -> dict[str, str]:
    """The metadata every asset of a region carries (shown on its asset page)."""
    return {"regio": regio, "regio_naam": region.load_regio(regio).naam}


def regio_tags(regio: str) -> dict[str, str]:
    """The tag every asset of a region carries: the UI filters on it (``tag:regio=<regio>``)."""
    return {"regio": regio}


def describe(regio: str, text: str | None) -> str:
    """An asset's description, naming the region it belongs to."""
    return f"{text or ''}\n\n{region.load_regio(regio).naam} (`{regio}`).".lstrip()

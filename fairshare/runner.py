"""Run the Dagster asset graph in-process for `fairshare run`, and summarise what it did."""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import dataclass

import dagster as dg

from fairshare.settings import ConfigError, Settings
from ingest.values import key_fingerprint
from warehouse import store


@dataclass
class RunOutcome:
    success: bool
    blocked: bool
    summary: str
    error: str | None = None


def check_ready(settings: Settings) -> None:
    """Refuse to start without a key (outside demo mode) or with a key the warehouse does not know."""
    key = settings.key_bytes()
    stored = store.stored_fingerprint(settings.warehouse)
    if stored is not None and stored != key_fingerprint(key):
        raise ConfigError(
            f"the pseudonym key differs from the one {settings.warehouse} was built with "
            "(pseudonyms would no longer link): use the original FAIRSHARE_PSEUDONYM_KEY or a new warehouse file")


def run_pipeline(settings: Settings, instance: dg.DagsterInstance | None = None) -> RunOutcome:
    """Materialise every asset of the definitions, in this process, one step at a time.

    The Dagster instance is ephemeral unless DAGSTER_HOME is set: then the run is kept there.
    """
    from orchestration.definitions import build_definitions
    from orchestration.resources import FairshareResource

    resource = FairshareResource(landing=str(settings.landing), warehouse=str(settings.warehouse),
                                 reports=str(settings.reports), serving=str(settings.serving_file),
                                 demo=settings.demo,
                                 peildatum=settings.peildatum.isoformat() if settings.peildatum else None)
    defs = build_definitions(resource)
    job = defs.resolve_job_def("fairshare")
    started = time.perf_counter()
    if instance is None and os.environ.get("DAGSTER_HOME"):
        instance = dg.DagsterInstance.get()  # opt-in: keep the run, its events and logs (as `make dev` does)
    with (dg.DagsterInstance.ephemeral() if instance is None else nullcontext(instance)) as inst:
        # Dagster's DEBUG events would bury the summary; assets log what matters at INFO.
        result = job.execute_in_process(instance=inst, raise_on_error=False, run_config={
            "loggers": {"console": {"config": {"log_level": "INFO"}}}})
    seconds = time.perf_counter() - started
    failures = [e for e in result.all_events if e.is_step_failure]
    # A failing blocking gate check fails its step; that is the gate doing its work, not a broken pipeline.
    gate = [e for e in failures if e.step_failure_data.error.cls_name == "DagsterAssetCheckFailedError"]
    blocked = bool(gate) and len(gate) == len(failures)
    error = None
    if not result.success and not blocked:
        error = "; ".join(str(e.step_failure_data.error.message).strip() for e in failures) or "unknown error"
    return RunOutcome(success=result.success or blocked, blocked=blocked, summary=summarise(settings, seconds),
                      error=error)


def summarise(settings: Settings, seconds: float) -> str:
    """Files and rows per source from the audit tables, and where the warehouse is."""
    if not settings.warehouse.exists():
        return f"No warehouse written ({settings.warehouse})."
    lines = [f"Run finished in {seconds:.1f}s. Warehouse: {settings.warehouse.resolve()}"]
    with store.connect(settings.warehouse, read_only=True) as conn:
        for bron, files, geladen, afgewezen, rijen, quarantaine in conn.execute("""
            SELECT bron, count(*), count(*) FILTER (status = 'geladen'), count(*) FILTER (status = 'afgewezen'),
                   coalesce(sum(rijen_geladen) FILTER (status = 'geladen'), 0),
                   coalesce(sum(rijen_quarantaine) FILTER (status = 'geladen'), 0)
            FROM audit.bestanden_actueel GROUP BY bron ORDER BY bron""").fetchall():
            lines.append(f"  {bron:<13} {files:>3} files ({geladen} loaded, {afgewezen} rejected), "
                         f"{rijen} rows loaded, {quarantaine} quarantined")
        for (reden,) in conn.execute("SELECT reden FROM audit.bestanden_actueel WHERE status = 'afgewezen' "
                                     "ORDER BY pad").fetchall():
            lines.append(f"  rejected: {reden}")
    for path in sorted(settings.reports.glob("bo_wonen_zorg_*")) if settings.reports.exists() else []:
        label = "BLOCKED, see" if path.name.endswith("_geblokkeerd.html") else "Report:"
        lines.append(f"{label} {path.resolve()}")
    if settings.serving_file.exists():
        served = settings.serving_file.resolve()
        lines.append(f"Published for readers (read-only copy): {served}")
        lines.append(f"  connect: duckdb -readonly {served}   or in Python: duckdb.connect('{served}', read_only=True)")
        lines.append("  never open the warehouse file itself: it is the pipeline's (see README, 'For the province')")
    return "\n".join(lines)

"""The one resource every asset uses: settings resolved at run time, never at import."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from pathlib import Path

import dagster as dg
from pydantic import Field

from basics import extras, packcheck, region
from basics.settings import ConfigError, Settings
from orchestration import keys
from products.report import compensatie
from warehouse import lock, publish

# Every step that touches the warehouse sits in this concurrency pool (limit 1 in orchestration/dagster.yaml).
WAREHOUSE_POOL = "fairshare_warehouse"


class FairshareResource(dg.ConfigurableResource):
    """Paths and mode of this run; empty fields fall back to FAIRSHARE_* variables, then defaults.

    The pseudonym key is never part of the resource's config (it would show in the UI):
    it is read from FAIRSHARE_PSEUDONYM_KEY when the run starts.

    A run holds the warehouse lock (``warehouse.lock``) from its first step to its end, so two
    runs never interleave on one warehouse, whichever way they were started; a run that cannot
    take it within ``wait_seconds`` fails with one sentence naming the holder.
    """

    landing: str | None = None
    warehouse: str | None = None
    reports: str | None = None
    serving: str | None = None
    demo: bool = False
    peildatum: str | None = None
    adhoc: bool = False
    als_huidig: bool = False  # a board run for an older peildatum replaces the newer publication
    settle_seconds: float | None = None
    wait_seconds: float = (
        600.0  # a Dagster run waits for another writer; `fairshare run` holds the lock already
    )
    regio: str | None = None  # the region pack (regions/<regio>/); empty: FAIRSHARE_REGIO, else the default
    echo_dbt: bool = True  # dbt's own log in the step's output (`fairshare run` shows it only with --verbose)
    # `fairshare run --opnieuw`; in the UI's launchpad: resources.fairshare.config.opnieuw: true.
    opnieuw: bool = Field(
        default=False,
        description="Alles opnieuw bouwen en publiceren, ook als er niets nieuw is (dbt, poort, rapport, publicatie).",
    )

    def settings(self) -> Settings:
        return Settings.from_env(
            landing=self.landing,
            warehouse=self.warehouse,
            reports=self.reports,
            serving=self.serving,
            demo=self.demo or None,
            peildatum=self.peildatum,
            adhoc=self.adhoc or None,
            als_huidig=self.als_huidig or None,
            settle_seconds=self.settle_seconds,
            regio=self.regio,
        )

    @contextlib.contextmanager
    def yield_for_execution(
        self, context: dg.InitResourceContext
    ) -> Generator[FairshareResource, None, None]:
        if context.dagster_run is None:  # a sensor or schedule evaluation: reads the landing folder only
            yield self
            return
        run = self._for_run(context.dagster_run)
        try:
            settings = run.settings()
            settings.check_separate()  # as `fairshare run` does before anything is read (fairshare.runner)
            packcheck.check(settings.regio)  # as `fairshare run` (region.check_pack and the pack rules)
            compensatie.check(region.regio_dir(settings.regio))  # the pack's optional compensation rule
            if settings.publishes:  # psycopg is an extra: missing, the run stops before it reads anything
                extras.require_postgres(settings.publish_postgres_dsn)
                if settings.publish_postgres_dsn:  # the publishing user's privileges, before anything is read
                    publish.check_postgres(settings.publish_postgres_dsn, settings.postgres_reader_password)
            held = lock.hold(Path(settings.warehouse), wait=run.wait_seconds)
            held.__enter__()
        except (
            lock.WarehouseLocked,
            ConfigError,
            region.BadPack,
            compensatie.BadRule,
            publish.PostgresNotReady,
        ) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        except OSError as exc:
            raise dg.Failure(
                description=f"the warehouse lock cannot be created ({exc.strerror or exc})",
                allow_retries=False,
            ) from exc
        try:
            yield run
        finally:
            held.__exit__(None, None, None)

    def _for_run(self, dagster_run: dg.DagsterRun) -> FairshareResource:
        """This resource for a run of one region's assets: bound to that region.

        Config given at launch (the launchpad's ``resources.fairshare.config``) replaces the location's bound
        values as a whole, so ``regio`` would fall back to FAIRSHARE_REGIO or the default: the region is the one
        the run's job or assets carry (``orchestration.keys``); a different ``regio`` in the config fails."""
        ran = keys.regio_of_run(dagster_run)
        if ran is None or self.regio == ran:
            return self
        if self.regio is not None:
            raise dg.Failure(
                description=f"this run is of region '{ran}' (its job and assets), but its config names "
                f"regio '{self.regio}': each region is its own code location",
                allow_retries=False,
            )
        return self.model_copy(update={"regio": ran})

"""The one resource every asset uses: settings resolved at run time, never at import."""

from __future__ import annotations

import dagster as dg

from fairshare.settings import Settings


class FairshareResource(dg.ConfigurableResource):
    """Paths and mode of this run; empty fields fall back to FAIRSHARE_* variables, then defaults.

    The pseudonym key is never part of the resource's config (it would show in the UI):
    it is read from FAIRSHARE_PSEUDONYM_KEY when the run starts.
    """

    landing: str | None = None
    warehouse: str | None = None
    reports: str | None = None
    serving: str | None = None
    demo: bool = False
    peildatum: str | None = None

    def settings(self) -> Settings:
        return Settings.from_env(landing=self.landing, warehouse=self.warehouse, reports=self.reports,
                                 serving=self.serving, demo=self.demo or None, peildatum=self.peildatum)

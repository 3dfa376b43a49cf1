"""The gate before the BO report: rules per peildatum, validated with Great Expectations.

Every rule becomes rows (regel, onderwerp, ernst, geslaagd, bericht); GX validates the
blocking rows, and the Dutch `bericht` of each failed row is what the blocked page lists. The data
suites (``expectations.suites``) are validated by GX on every row of their tables, so the Data Docs
show real row counts and unexpected percentages.
Warnings (ernst = waarschuwing) never block; the report's data-quality section shows them.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from basics.dutch import MAANDEN, datum_nl, pct_nl
from expectations.suites import Suite
from ingest.config import TOEWIJZINGEN, source_labels

GATE_CONFIG = Path(__file__).with_name("config.yaml")


@functools.cache
def gate_config() -> dict:
    """The gate's thresholds and the funnel's first year (expectations/config.yaml)."""
    return yaml.safe_load(GATE_CONFIG.read_text(encoding="utf-8"))


def snapshot_for(peildatum: dt.date) -> dt.date:
    """The planregister snapshot a report needs: that March (May report) or October (December report)."""
    return dt.date(peildatum.year, 3, 31) if peildatum.month <= 6 else dt.date(peildatum.year, 10, 31)


def poort_regels(conn: duckdb.DuckDBPyConnection, peil: tuple[dt.date, dt.date]) -> pd.DataFrame:
    """All gate rules and freshness warnings for the peildatum of the marts: ``peil`` = (peildatum, data_tot)
    of the build (``warehouse.audit.peildatum``)."""
    cfg = gate_config()
    peildatum, data_tot = peil
    rows: list[dict] = []

    def add(regel, onderwerp, geslaagd, bericht, ernst="blokkerend"):
        rows.append(
            {
                "regel": regel,
                "onderwerp": onderwerp,
                "ernst": ernst,
                "geslaagd": bool(geslaagd),
                "bericht": None if geslaagd else bericht,
            }
        )

    lever = conn.execute(
        "SELECT bron, commissie, leverdatum, pad, rijen_geladen, rijen_quarantaine "
        "FROM staging.stg_audit__leveringen"
    ).df()
    # The region's label for its cooperating corporations, which also deliver the allocations (seed regio).
    [label] = conn.execute("SELECT samenwerkend_label FROM referentie.regio").fetchone()
    toewijzingen = lever[lever["bron"] == TOEWIJZINGEN]
    add(
        "toewijzingen_levering",
        label,
        (pd.to_datetime(toewijzingen["leverdatum"]).dt.date >= peildatum).any(),
        f"Er is geen {label}-levering met extractiedatum op of na {datum_nl(peildatum)} geladen.",
    )

    # The region's committees (seed commissies): the gate requires those marked verplicht, warns for the others.
    commissies = conn.execute(
        "SELECT commissie, naam, verplicht FROM referentie.commissies ORDER BY soort = 'advies', naam"
    ).fetchall()
    regs = lever[lever["bron"] == "urgentie"]
    for commissie, naam, verplicht in commissies:
        eigen = regs[regs["commissie"] == commissie]
        recent = (pd.to_datetime(eigen["leverdatum"]).dt.date >= peildatum).any()
        add(
            "register_levering",
            naam,
            recent,
            f"De urgentiecommissie van {naam} heeft geen register geleverd met extractiedatum op of na "
            f"{datum_nl(peildatum)}.",
            ernst="blokkerend" if verplicht else "waarschuwing",
        )

    snapshot = snapshot_for(peildatum)
    plan = lever[lever["bron"] == "planregister"]
    geladen = (pd.to_datetime(plan["leverdatum"]).dt.date == snapshot).any()
    add(
        "planregister_momentopname",
        f"planregister {snapshot:%Y-%m}",
        geladen,
        f"Het Planregister Wonen van {MAANDEN[snapshot.month - 1]} {snapshot.year} "
        f"(planregister_{snapshot:%Y-%m}) is niet geladen.",
    )
    uiterlijk = dt.date.fromisoformat(
        f"{snapshot.year}-{cfg['planregister_uiterlijk'][f'{snapshot.month:02d}']}"
    )
    add(
        "planregister_tijdig",
        f"planregister {snapshot:%Y-%m}",
        geladen,
        f"Het Planregister van {MAANDEN[snapshot.month - 1]} {snapshot.year} moest uiterlijk {datum_nl(uiterlijk)} "
        "zijn geleverd.",
        ernst="waarschuwing",
    )

    # Quarantine over the deliveries the report uses: the latest allocations, each committee's latest, the snapshot for P.
    used = pd.concat(
        [
            toewijzingen.sort_values("leverdatum").tail(1),
            regs.sort_values("leverdatum").groupby("commissie", dropna=False).tail(1),
            plan[pd.to_datetime(plan["leverdatum"]).dt.date == snapshot],
        ]
    )
    for bron, naam in source_labels(label).items():
        part = used[used["bron"] == bron]
        bad, good = int(part["rijen_quarantaine"].sum()), int(part["rijen_geladen"].sum())
        share = bad / (bad + good) if bad + good else 0.0
        worst = part.assign(
            aandeel=part["rijen_quarantaine"] / (part["rijen_quarantaine"] + part["rijen_geladen"])
        )
        worst = worst.sort_values("aandeel", ascending=False).head(3)
        detail = "; ".join(
            f"{r.pad}: {r.rijen_quarantaine} van {r.rijen_quarantaine + r.rijen_geladen} rijen"
            for r in worst.itertuples()
            if r.rijen_quarantaine
        )
        add(
            "quarantaine",
            naam,
            share <= cfg["max_quarantaine_aandeel"],
            f"{naam}: {pct_nl(share)} van de rijen staat in quarantaine (ten hoogste "
            f"{pct_nl(cfg['max_quarantaine_aandeel'])} toegestaan). {detail}",
        )

    jaren = [
        j
        for (j,) in conn.execute(
            "SELECT jaar FROM info.jaren WHERE jaar >= ? ORDER BY 1", [cfg["trechter_vanaf"]]
        ).fetchall()
    ]
    grenzen = {j: v for j, v in conn.execute("SELECT jaar, voorlopig FROM referentie.huurgrenzen").fetchall()}
    for jaar in jaren:
        add(
            "huurgrenzen",
            str(jaar),
            jaar in grenzen,
            f"Voor {jaar} ontbreken de huurgrenzen in dbt_project/seeds/huurgrenzen.csv.",
        )
        if grenzen.get(jaar):
            add(
                "huurgrenzen_voorlopig",
                str(jaar),
                False,
                f"De huurgrenzen van {jaar} zijn voorlopig (nog niet gecontroleerd in de Staatscourant).",
                ernst="waarschuwing",
            )
    # Over the gemeenten of the agreement only: one outside it may be listed (the province shows it) with a
    # figure of another year, and counts in no key of the region (README, "Adopting fairshare for your region").
    oud = conn.execute(
        "WITH i AS (SELECT g.gemeente_naam, i.peildatum FROM referentie.inwoners i JOIN referentie.gemeenten g "
        "USING (gemeente_code) WHERE g.in_afspraak) "
        "SELECT gemeente_naam, peildatum FROM i WHERE peildatum < (SELECT max(peildatum) FROM i) ORDER BY 1"
    ).fetchall()
    for naam, datum in oud:
        add(
            "inwoners_peildatum",
            naam,
            False,
            f"Het inwonertal van {naam} is van {datum_nl(datum)}, ouder dan dat "
            "van de andere gemeenten (verdeelsleutel inwoners).",
            ernst="waarschuwing",
        )
    # An unknown landlord is stored as a keyed placeholder (README "Personal data"): say where to look it up.
    for corp, aantal, pad, rij in conn.execute(
        "SELECT corporatie, toewijzingen, pad, rijnummer FROM info.verhuurders_onbekend ORDER BY 1"
    ).fetchall():
        waar = (
            f" ({aantal} {'toewijzing' if aantal == 1 else 'toewijzingen'}, o.a. {pad} rij {rij})"
            if pad
            else ""
        )
        add(
            "verhuurder_onbekend",
            corp,
            False,
            f"Verhuurder '{corp}'{waar} staat niet in de seed corporaties en telt als niet-{label}.",
            ernst="waarschuwing",
        )
    frame = pd.DataFrame(rows)
    frame["peildatum"] = peildatum
    frame["data_tot"] = data_tot
    return frame


@dataclass
class Fout:
    """One failed expectation: its Dutch explanation, how many rows, some examples."""

    uitleg: str
    aantal: int
    voorbeelden: list[str] = field(default_factory=list)


@dataclass
class SuiteOutcome:
    """A suite's verdict over every row of its table (``rijen``), validated by GX in ``delen`` batches."""

    suite: str
    geslaagd: bool
    fouten: list[Fout]
    rijen: int
    delen: int = 1


@functools.cache
def gx_context(root: str):
    """One file-backed GX context per folder (its Data Docs live there), progress bars and how-to buttons off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=root)
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    site = context.list_data_docs_sites().get("local_site")
    if site and site.get("show_how_to_buttons", True):  # GX's walkthrough pop-up on every validation page
        context.update_data_docs_site("local_site", {**site, "show_how_to_buttons": False})
    return context


def run_identifier(run_name: str | None = None):
    """One GX run for all suites of one gate (the Dagster run id as its name), so the Data Docs group them."""
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))


_UNIQUE = ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique")


def _batch_key(expectations: list, columns: list[str]) -> list[str] | None:
    """The columns a table is split on so that every batch is judged as the whole table would be: the key of its
    uniqueness expectation (duplicates share a batch), else every column; None when two keys differ (no split)."""
    keys = {
        tuple(getattr(e, "column_list", None) or [e.column])
        for e in expectations
        if type(e).__name__ in _UNIQUE
    }
    if len(keys) > 1:
        return None
    return list(next(iter(keys))) if keys else columns


def suite_frames(
    conn: duckdb.DuckDBPyConnection,
    suite: Suite,
    peil: tuple[dt.date, dt.date],
    batch_rows: int | None = None,
) -> tuple[int, int, Iterator[pd.DataFrame]]:
    """Every row of the suite's table, as DataFrames for GX: (rows, batches, frames).

    At regional volume that is the whole table in one frame. A table of more than ``batch_rows`` rows
    (expectations/config.yaml, ``gx_batch_rijen``) is split by a hash of its uniqueness key into batches
    of about that size, validated one after the other, so a national table never sits in pandas whole
    and every row is still judged by GX, duplicates included.
    """
    if suite.name == "poort":
        frame = poort_regels(conn, peil)
        frame = frame[frame["ernst"] == "blokkerend"].reset_index(drop=True)
        return len(frame), 1, iter([frame])
    rows = conn.execute(f"SELECT count(*) FROM ({suite.sql})").fetchone()[0]
    limit = batch_rows or int(gate_config()["gx_batch_rijen"])
    parts = max(1, -(-rows // limit))
    if parts > 1:
        columns = [d[0] for d in conn.execute(f"SELECT * FROM ({suite.sql}) LIMIT 0").description]
        key = _batch_key(suite.expectations(), columns)
        parts = parts if key else 1
    if parts == 1:
        return rows, 1, iter([conn.execute(suite.sql).df()])
    hashed = f"hash({', '.join(key)}) % {parts}"
    return (
        rows,
        parts,
        (
            conn.execute(f"WITH _basis AS ({suite.sql}) SELECT * FROM _basis WHERE {hashed} = ?", [i]).df()
            for i in range(parts)
        ),
    )


def _gx_definition(context, source, gx_suite, asset_name: str):
    """The validation definition of one suite on one DataFrame asset (created once, kept in the context)."""
    import great_expectations as gx

    asset = next((a for a in source.assets if a.name == asset_name), None) or source.add_dataframe_asset(
        asset_name
    )
    batch = next(
        (b for b in asset.batch_definitions if b.name == "geheel"), None
    ) or asset.add_batch_definition_whole_dataframe("geheel")
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=asset_name, data=batch, suite=gx_suite)
    )


def _fouten(suite: Suite, frame: pd.DataFrame, result) -> list[Fout]:
    """The failed expectations of one batch, in Dutch, with examples."""
    fouten = []
    for r in result.results:
        if r.success:
            continue
        uitleg = r.expectation_config.meta.get("uitleg", r.expectation_config.type)
        aantal = int(r.result.get("unexpected_count") or 0)
        if suite.name == "poort":  # the rows themselves say what is wrong, in Dutch
            failed = frame[~frame["geslaagd"].astype(bool)]
            fouten += [Fout(b, 1) for b in failed["bericht"]]
            continue
        if suite.name == "invarianten":
            failed = frame[frame["verschil"] != 0]
            voorbeelden = [f"{c}: {o} (verschil {v})" for c, o, v in failed.head(5).itertuples(index=False)]
        else:
            voorbeelden = [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]]
        fouten.append(Fout(uitleg, aantal, voorbeelden))
    return fouten


def _merged(fouten: list[Fout]) -> list[Fout]:
    """One failure per expectation over all batches (counts added, the first five examples)."""
    merged: dict[str, Fout] = {}
    for f in fouten:
        seen = merged.setdefault(f.uitleg, Fout(f.uitleg, 0))
        seen.aantal += f.aantal
        seen.voorbeelden = (seen.voorbeelden + f.voorbeelden)[:5]
    return list(merged.values())


def validate(
    conn: duckdb.DuckDBPyConnection,
    suite: Suite,
    docs_root: Path,
    peil: tuple[dt.date, dt.date],
    run=None,
    batch_rows: int | None = None,
) -> SuiteOutcome:
    """Run one suite with GX on every row of its table (its results kept for the Data Docs, built by ``build_docs``).

    ``peil``: (peildatum, data_tot) of the build; ``run``: the GX run (``run_identifier``) the result belongs to.
    """
    context = gx_context(str(docs_root))
    run = run or run_identifier()
    import great_expectations as gx

    rows, parts, frames = suite_frames(conn, suite, peil, batch_rows)
    source = context.data_sources.add_or_update_pandas("fairshare")
    gx_suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=suite.name, expectations=suite.expectations())
    )
    geslaagd, fouten = True, []
    for i, frame in enumerate(frames, start=1):
        name = suite.name if parts == 1 else f"{suite.name}_deel_{i}_van_{parts}"
        # The result is stored in the context's validation store; the Data Docs are built once after every suite
        # (build_docs), not once per suite as a checkpoint's UpdateDataDocsAction would.
        result = _gx_definition(context, source, gx_suite, name).run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
            run_id=run,
        )
        geslaagd &= bool(result.success)
        fouten += _fouten(suite, frame, result)
    return SuiteOutcome(suite.name, geslaagd, fouten if parts == 1 else _merged(fouten), rows, parts)


def build_docs(docs_root: Path, run=None, titel: str | None = None) -> Path:
    """Render the Data Docs of this run's validation results (all when ``run`` is None), make them open offline
    styled, and write the overview of every run's suites (``overzicht.html``), whose path is returned."""
    from expectations import data_docs

    return data_docs.build(gx_context(str(docs_root)), run, titel)


def docs_index(docs_root: Path) -> Path:
    """The overview page of the Data Docs (every run, every suite, pass or fail): written by ``build_docs``."""
    from expectations import data_docs

    return data_docs.site(docs_root) / data_docs.OVERVIEW

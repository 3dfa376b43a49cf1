"""The sample landing folder: deterministic, calibrated to the documents, messy like real exports."""

from __future__ import annotations

import datetime as dt
import warnings
from collections import defaultdict

import numpy as np
import pytest

from basics import region
from ingest.headers import match_headers, synonyms
from ingest.landing import scan
from ingest.readers import read_sheets
from ingest.text import match_key
from tests.helpers import query
from tools.sample import model, write_sample


def test_sample_run_loads_every_row_but_the_bad_ones(sample_run):
    summary, landing, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert str(warehouse.resolve()) in result.stdout
    loaded = dict(
        query(warehouse, "SELECT bron, sum(rijen_geladen) FROM audit.bestanden_actueel GROUP BY bron")
    )
    quarantined = dict(query(warehouse, "SELECT bron, count(*) FROM audit.quarantaine GROUP BY bron"))
    for bron in ("swev", "urgentie", "planregister"):
        assert loaded[bron] == summary.rows[bron] - summary.bad_rows[bron], bron
        assert quarantined[bron] == summary.bad_rows[bron], bron
        assert 0 < summary.bad_rows[bron] < 0.01 * summary.rows[bron], bron
    assert query(warehouse, "SELECT count(*) FROM audit.bestanden_actueel WHERE status <> 'geladen'") == [
        (0,)
    ]
    assert len(summary.files) == 4 + 4 * 9 + 4


def test_the_sample_run_names_the_dbt_test_that_warns(sample_run):
    """dbt's summary only counts warnings (WARN=1): the console names the test, its rows and its file."""
    _, _, _, result = sample_run
    text = result.stdout + result.stderr
    assert "WARN=1 " in text
    assert (
        "dbt warning: the published per-gemeente targets do not add up to the agreed totals" in text
        and "(4 rows; dbt_project/tests/reconciliatie_opgaven_verschil.sql)" in text
    ), text[-3000:]


def test_sample_is_calibrated_to_the_documents(sample_run):
    _, _, warehouse, _ = sample_run
    basis = {
        r["gemeente_code"]: int(r["toewijzingen_2024"])
        for r in region.read_seed("basis_toewijzingen_2024.csv")
    }
    per_gemeente = dict(
        query(
            warehouse,
            "SELECT gemeente, count(*) FROM raw.swev_toewijzingen_actueel "
            "WHERE year(toewijzingsdatum) = 2024 GROUP BY 1",
        )
    )
    assert {g: per_gemeente[g] for g in basis} == basis
    funnel = {r["stap"]: int(r["aantal"]) for r in region.read_seed("geschiktheid_referentie.csv")}
    in_scope = tuple(basis)
    assert query(
        warehouse,
        f"SELECT count(*) FROM raw.swev_toewijzingen_actueel WHERE year(toewijzingsdatum) "
        f"BETWEEN 2022 AND 2024 AND gemeente IN {in_scope}",
    ) == [(funnel["toewijzingen"],)]
    assert (
        query(warehouse, "SELECT count(*) FROM raw.swev_toewijzingen_actueel WHERE gemeente = 'GM0203'")[0][0]
        > 0
    )


def test_sample_is_messy_like_real_exports(sample_run, config):
    _, landing, warehouse, _ = sample_run
    seen = defaultdict(set)
    files = defaultdict(int)
    for bron, source in config.sources.items():
        for f in scan(landing, config, bron):
            files[bron] += 1
            for sheet in read_sheets(f.path):
                for pos in range(min(sheet.header_search_rows, len(sheet.head))):
                    match = match_headers(list(sheet.head.iloc[pos]), source, config)
                    if not match.missing(source):
                        for col, header in match.seen.items():
                            seen[(bron, col)].add(header)
                        for header in match.ignored:  # a recognised column never read (plannaam) is ignored
                            if match_key(header) in synonyms(source):
                                seen[(bron, synonyms(source)[match_key(header)])].add(header)
                        break
        for col in source.columns.values():
            want = min(len(col.headers), files[bron] - 1)
            assert len(seen[(bron, col.name)]) >= want, (bron, col.name, seen[(bron, col.name)])
    suffixes = {p.suffix for p in landing.rglob("*.*")}
    assert suffixes == {".xlsx", ".csv"}
    assert (
        query(warehouse, "SELECT count(*) FROM audit.bestanden WHERE totaalrijen_overgeslagen > 0")[0][0] > 0
    )
    assert (
        query(warehouse, "SELECT count(*) FROM audit.bestanden WHERE len(kolommen_verwijderd) > 0")[0][0] > 0
    )
    styles = set()
    for p in landing.rglob("*.csv"):
        raw = p.read_bytes()
        try:
            raw.decode("utf-8")
            styles.add("utf-8")
        except UnicodeDecodeError:
            styles.add("cp1252")
        header = raw.split(b"\n", 1)[0]
        styles.add(";" if header.count(b";") > header.count(b",") else ",")
    assert {"utf-8", "cp1252", ";", ","} <= styles
    kinds = {r[0] for r in query(warehouse, "SELECT DISTINCT kolom FROM audit.quarantaine")}
    assert {
        "toewijzingsdatum",
        "netto_huur",
        "aantal_kamers",
        "toewijzing_id",
        "gemeente",
        "besluitdatum",
        "afwijzingsgrond",
        "besluit",
        "registratie_id",
        "urgentiecategorie",
    } <= kinds


def test_sample_writes_every_spelling_of_the_vocabularies(sample_run, config):
    """The sample's spellings come from the vocabulary configuration: each accepted value is in some file."""
    _, landing, _, _ = sample_run
    seen = {
        str(v).strip()
        for f in landing.rglob("*")
        if f.is_file()
        for sheet in read_sheets(f)
        for v in sheet.cells.to_numpy().ravel()
    }
    for name in (
        "urgentiecategorie",
        "toewijzingsroute",
        "label",
        "besluit",
        "afwijzingsgrond",
        "planstatus",
    ):
        spellings = [s for values in config.vocabularies[name].spellings.values() for s in values if s]
        assert spellings and not [s for s in spellings if s not in seen], name


def test_sample_has_corrections_in_later_deliveries(sample_run):
    _, _, warehouse, _ = sample_run
    changed = query(
        warehouse,
        """
        SELECT count(*) FROM (SELECT toewijzing_id FROM raw.swev_toewijzingen
        GROUP BY toewijzing_id HAVING count(DISTINCT (subcategorie, herkomstgemeente)) > 1)""",
    )[0][0]
    assert changed > 0


@pytest.mark.slow
def test_same_seed_same_files(sample_run, tmp_path):
    """The session's sample (written by another test process, the default seed) written again gives the same
    files, cell for cell; another seed gives others."""
    a, landing = sample_run[0], sample_run[1]
    b = write_sample(tmp_path / "b")
    c = write_sample(tmp_path / "c", seed=8)
    assert [p.relative_to(landing) for p in a.files] == [p.relative_to(tmp_path / "b") for p in b.files]

    def content(files):
        return [[s.cells.to_numpy().tolist() for s in read_sheets(p)] for p in files]

    first = content(a.files)
    assert first == content(b.files)
    assert first != content(c.files)


def test_scale_multiplies_volumes_without_changing_the_shape():
    ref = model.load_reference()
    one = model.allocations(np.random.default_rng(1), ref, 1, 2022)
    three = model.allocations(np.random.default_rng(1), ref, 3, 2022)
    for frame, k in ((one, 1), (three, 3)):
        year_2024 = frame[frame["jaar"] == 2024].groupby("gemeente").size()
        assert all(year_2024[g] == n * k for g, n in ref.basis_2024.items())
        funnel = frame[frame["jaar"].isin([2022, 2023, 2024]) & frame["gemeente"].isin(ref.in_scope)]
        assert len(funnel) == ref.funnel["toewijzingen"] * k
        assert (funnel["profiel"] != "A").sum() == ref.funnel["swev"] * k
    assert abs(len(three) / len(one) - 3) < 0.05


def test_registrations_are_concatenated_without_a_pandas_warning():
    """A pending registration has no decision date yet: its NaT has the unit of the others' dates, so pandas
    has no all-empty column of another dtype to warn about (a FutureWarning on every `fairshare sample`)."""
    ref = model.load_reference()
    rng = np.random.default_rng(1)
    allocs = model.allocations(rng, ref, 1, 2022)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        regs = model.registrations(rng, ref, allocs, 1, dt.date(2022, 1, 1))
    pending = regs[regs["besluit"] == "in_behandeling"]
    assert len(pending) and pending["besluitdatum"].isna().all()


def test_a_one_year_sample_leaves_out_the_extractions_before_its_first_allocation(tmp_path):
    """`fairshare sample --years 1` (data from January 2026 only) crashed on the extractions of 2025, which hold
    no allocation yet: those are not delivered; every allocation file written holds rows, and the latest
    extraction holds every allocation of the year."""
    summary = write_sample(tmp_path / "l", years=1)
    swev = sorted(p for p in summary.files if p.parent.name == "swev")
    assert swev and all(p.name >= "toewijzingen_2026" for p in swev)
    assert all(len(s.cells) > 1 for p in swev for s in read_sheets(p))
    assert summary.rows["swev"] > summary.bad_rows["swev"] > 0

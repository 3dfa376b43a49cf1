"""GX that shows its work: every suite validates every row of its table (real row counts and unexpected
percentages in the stored results and the Data Docs), the same verdicts in batches, one docs folder per report,
and Data Docs that render styled in headless Chromium with the network off."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.helpers import query
from tests.test_browser import FLAGS, console_messages

STEM = "bo_wonen_zorg_2026-12"
TABLES = {
    "toewijzingen": "staging.stg_swev__toewijzingen",
    "registraties": "staging.stg_urgentie__registraties",
    "plannen": "staging.stg_planregister__plannen",
}


def site(docs: Path) -> Path:
    """The Data Docs site of a GX folder (``reports/gx/<report>``)."""
    return docs / "gx" / "uncommitted" / "data_docs" / "local_site"


def stored_results(docs: Path) -> dict[str, list[dict]]:
    """The validation results GX stored in a GX folder, per suite, as its JSON files (every run)."""
    found: dict[str, list[dict]] = {}
    for path in sorted((docs / "gx" / "uncommitted" / "validations").glob("*/*/*/*.json")):
        found.setdefault(path.parts[-4], []).append(json.loads(path.read_text(encoding="utf-8")))
    return found


@pytest.fixture(scope="module")
def sample(sample_run):
    _, _, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    return warehouse, warehouse.parent.parent / "reports" / "gx" / STEM


def test_every_data_suite_validates_every_row_of_its_table(sample):
    warehouse, docs = sample
    results = stored_results(docs)
    assert set(results) == {*TABLES, "invarianten", "poort"}
    for suite, table in TABLES.items():
        [result] = results[suite]  # one run, one batch at regional volume
        [[rows]] = query(warehouse, f"SELECT count(*) FROM {table}")
        assert rows > 500, suite
        counts = {r["result"]["element_count"] for r in result["results"]}
        assert counts == {rows}, (suite, counts)
        assert result["success"] and all(r["result"]["unexpected_percent"] == 0.0 for r in result["results"])
    [invarianten] = results["invarianten"]
    assert invarianten["results"][0]["result"]["element_count"] >= 100  # one row per check and subject


def test_the_overview_lists_every_suite_with_its_verdict_and_rows(sample):
    warehouse, docs = sample
    page = site(docs) / "overzicht.html"
    text = page.read_text(encoding="utf-8")
    assert "Kwaliteitscontroles bo_wonen_zorg_2026-12 (peildatum 1 november 2026)" in text
    cells = re.findall(r'data-suite="(\w+)" data-geslaagd="(\w+)" data-rijen="(\d+)"', text)
    assert [c[0] for c in cells] == ["toewijzingen", "registraties", "plannen", "invarianten", "poort"]
    assert all(c[1] == "true" for c in cells)
    for suite, table in TABLES.items():
        assert (suite, "true", str(query(warehouse, f"SELECT count(*) FROM {table}")[0][0])) in cells
    links = re.findall(r'href="([^"]+)"', text)
    assert all((page.parent / link).exists() for link in links), links
    assert len([link for link in links if link.startswith("validations/")]) == 5
    assert not re.search(r'(src|href)="(https?:)?//', text)


def _remote_loads(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return re.findall(r'<(?:script|img)\b[^>]*\bsrc="((?:https?:)?//[^"]+)"', text) + re.findall(
        r'<link\b[^>]*\bhref="((?:https?:)?//[^"]+)"', text
    )


def test_gx_pages_load_nothing_from_the_network(sample):
    _, docs = sample
    pages = list(site(docs).rglob("*.html"))
    assert len(pages) >= 11  # index, overview, five suites, five validations
    assert {p.name: _remote_loads(p) for p in pages if _remote_loads(p)} == {}
    for page in pages:  # every local file a page loads is there
        for ref in re.findall(
            r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"#?]+)', page.read_text(encoding="utf-8")
        ):
            assert (page.parent / ref).exists(), (page, ref)


def _shot(page: Path, out: Path, profile: Path) -> str:
    """A screenshot in headless Chromium with every network request refused (a proxy that is not there)."""
    import subprocess

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (make test installs it)"
    flags = [f for f in FLAGS if not f.startswith("--window-size")]
    result = subprocess.run(
        [
            chromium,
            *flags,
            "--window-size=1400,900",
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def _colours(png: Path) -> set[tuple[int, int, int]]:
    from PIL import Image

    with Image.open(png) as image:
        return {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 20)}


@pytest.mark.parametrize("name", ["overzicht.html", "index.html", "validations"])
def test_data_docs_render_styled_offline_in_headless_chromium(sample, tmp_path, name):
    _, docs = sample
    root = site(docs)
    page = (
        next((root / "validations" / "toewijzingen").rglob("*.html"))
        if name == "validations"
        else root / name
    )
    log = _shot(page, tmp_path / "shot.png", tmp_path / "profile")
    assert console_messages(log) == []  # jQuery, Bootstrap and bootstrap-table loaded and ran
    colours = _colours(tmp_path / "shot.png")
    # Bootstrap's text (#212529) and table borders (#dee2e6), only there when its CSS loaded; Bootstrap's success
    # green (#28a745) of Font Awesome's check icon, drawn only when its font loaded.
    assert {(33, 37, 41), (222, 226, 230), (40, 167, 69)} <= colours
    if name == "overzicht.html":
        assert (195, 230, 203) in colours  # Bootstrap's table-success cells: every suite passed


@pytest.fixture(scope="module")
def hostile(sample, tmp_path_factory):
    """A copy of the sample's warehouse with 25 rents out of range and one allocation number twice in staging."""
    warehouse, _ = sample
    base = tmp_path_factory.mktemp("gx_vijandig")
    copy = base / "kopie.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as conn:
        conn.execute(
            "UPDATE staging.stg_swev__toewijzingen SET netto_huur = 5000 WHERE toewijzing_id IN "
            "(SELECT toewijzing_id FROM staging.stg_swev__toewijzingen ORDER BY 1 LIMIT 25)"
        )
        conn.execute(
            "UPDATE staging.stg_swev__toewijzingen SET toewijzing_id = (SELECT max(toewijzing_id) FROM "
            "staging.stg_swev__toewijzingen) WHERE toewijzing_id = (SELECT min(toewijzing_id) FROM "
            "staging.stg_swev__toewijzingen)"
        )
    return copy, base


@pytest.mark.parametrize("batch_rows", [None, 3000], ids=["whole", "batches"])
def test_a_hostile_table_fails_with_real_counts_whole_or_in_batches(hostile, batch_rows):
    """At regional volume GX sees the whole table; above ``gx_batch_rijen`` it sees batches split on the uniqueness
    key. Either way: the same verdict and failures, element counts adding up to the table, real percentages."""
    from expectations import gate
    from expectations.suites import SUITES
    from warehouse import audit

    copy, base = hostile
    docs = base / f"gx_{batch_rows}"
    suite = next(s for s in SUITES if s.name == "toewijzingen")
    with duckdb.connect(str(copy)) as conn:
        [[rows]] = conn.execute("SELECT count(*) FROM staging.stg_swev__toewijzingen").fetchall()
        run = gate.run_identifier("vijandig")
        outcome = gate.validate(conn, suite, docs, audit.peildatum(conn), run, batch_rows=batch_rows)
    gate.build_docs(docs, run, "vijandig")
    assert not outcome.geslaagd and outcome.rijen == rows
    assert outcome.delen == (1 if batch_rows is None else -(-rows // batch_rows))
    assert [(f.uitleg, f.aantal) for f in outcome.fouten] == [
        ("Na ontdubbeling komt elk toewijzingsnummer één keer voor.", 2),
        ("Netto huur ligt tussen 100 en 3000 euro.", 25),
    ]
    batches = stored_results(docs)["toewijzingen"]
    assert len(batches) == outcome.delen
    rents = [
        next(r for r in b["results"] if r["expectation_config"]["kwargs"].get("column") == "netto_huur")
        for b in batches
    ]
    assert sum(r["result"]["element_count"] for r in rents) == rows
    assert sum(r["result"]["unexpected_count"] for r in rents) == 25
    if batch_rows is None:
        assert rents[0]["result"]["unexpected_percent"] == pytest.approx(100 * 25 / rows)
    text = (site(docs) / "overzicht.html").read_text(encoding="utf-8")
    assert 'data-suite="toewijzingen" data-geslaagd="false"' in text
    rent_row = re.search(r"Netto huur ligt tussen.*?</tr>", text).group(0)
    assert f">{rows:,}<".replace(",", ".") in rent_row and ">25<" in rent_row
    assert f"{100 * 25 / rows:.1f} %".replace(".", ",") in rent_row

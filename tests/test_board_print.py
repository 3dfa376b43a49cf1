"""Issue 21, the report anyone can read and print: accessible charts, axe-core in headless Chromium, the meeting
pack (a PDF beside the html), the fictief marking of a made-up pack, and links that stay inside the report folder.

Every test reads the session's sample run (its html and PDF) or the two regions' runs; none makes a run of its
own. The PDF's text is read with pypdf (a dev dependency); axe-core is the pinned npm package of tests/browser/
(`make browser` installs it) and runs inside the report in Debian's headless Chromium.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from basics import region
from basics.dutch import getal
from products.report import afdruk, render_blocked
from tests.board_words import SERVER_PATH, offending
from tests.helpers import query

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
STEM = "bo_wonen_zorg_2026-12"


@pytest.fixture(scope="module")
def pack(sample_run):
    """(html text, PDF page texts, reports folder, warehouse) of the session's sample run (amersfoort)."""
    _, _, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    reports = warehouse.parent.parent / "reports"
    pages = [p.extract_text() for p in PdfReader(reports / f"{STEM}.pdf").pages]
    return (reports / f"{STEM}.html").read_text(encoding="utf-8"), pages, reports, warehouse


def _visible(page: str) -> str:
    """The text a reader sees in the html (styles and scripts left out, tags removed, entities decoded)."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def _figures(page: str) -> dict[str, str]:
    return dict(re.findall(r'<figure class="grafiek-figuur" id="grafiek-([^"]+)">(.*?)</figure>', page, re.S))


def _pct(gehuisvest: float, opgave: float) -> str:
    return f"{getal(100 * gehuisvest / opgave)}%"


# 1. Accessible charts -------------------------------------------------------------------------------------------


def test_every_chart_keeps_its_text_as_text_in_one_type_size_with_a_dutch_caption_and_name(pack):
    page = pack[0]
    figures = _figures(page)
    assert {"fair-share", "ingroeipad", "compensatie", "instroom", "trechter", "sleutels"} <= set(figures)
    widths = set()
    for key, fig in figures.items():
        svg = re.search(r"<svg\b[^>]*>", fig).group(0)
        assert 'role="img"' in svg and f'aria-labelledby="grafiek-{key}-alt"' in svg, key
        [name] = re.findall(rf'<title id="grafiek-{key}-alt">(.*?)</title>', fig, re.S)
        [caption] = re.findall(r"<figcaption>(.*?)</figcaption>", fig, re.S)
        assert len(name) > 40 and len(caption) > 40, key  # a sentence that says what the chart shows
        assert offending(htmllib.unescape(name + " " + caption)) == [], key
        # Text stays text (no glyph outlines), all of it in the one size of the type scale.
        assert "<text" in fig and 'id="' + key + "-DejaVuSans" not in fig, key
        sizes = set(re.findall(r"font-size: ([\d.]+)px", fig))
        assert sizes == {"9"}, (key, sizes)
        widths.add(re.search(r'width="([\d.]+pt)"', svg).group(1))
    assert len(widths) == 1  # one width: the page scales every chart (and its type) alike
    # Ids are unique across the page's charts (matplotlib numbers each figure's elements from 1).
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_fair_share_chart_tells_above_from_below_by_sign_as_well_as_colour(pack):
    page, _, _, warehouse = pack
    chart = _figures(page)["fair-share"]
    rows = query(
        warehouse,
        "SELECT gemeente_naam, gehuisvest, opgave_naar_rato FROM marts.fair_share_gemeente "
        "WHERE jaar = 2026 AND opgave_naar_rato > 0",
    )
    assert rows
    for naam, gehuisvest, opgave in rows:
        teken = "▲" if gehuisvest >= opgave else "▼"
        assert f"{teken} {_pct(gehuisvest, opgave)}" in chart, naam  # the value on its bar, with its sign
        assert naam in chart
    assert "▲ op of boven het eigen deel" in chart and "▼ onder het eigen deel" in chart


def test_compensation_chart_writes_every_saldo_and_has_no_saldo_legend(pack):
    page, _, _, warehouse = pack
    chart = _figures(page)["compensatie"]
    rows = query(warehouse, "SELECT gemeente_naam, saldo FROM marts.compensatie_saldo WHERE jaar = 2026")
    assert rows
    for naam, saldo in rows:
        sign = "+" if saldo > 0 else "−" if saldo < 0 else ""
        teken = "▲" if saldo >= 0 else "▼"
        assert f"{teken} {sign}{getal(abs(saldo), 1)}" in chart, naam  # even Woudenberg's small +0,3 is read
    assert not re.search(r">\s*saldo\s*<", chart)  # the meaningless one-entry legend is gone


def test_table_one_marks_above_and_below_with_a_sign_not_colour_only(pack):
    page, pdf, _, warehouse = pack
    assert 'td.neg::before { content: "▼ "; }' in page and 'td.pos::before { content: "▲ "; }' in page
    text = "\n".join(pdf)
    for naam, verschil in query(
        warehouse, "SELECT gemeente_naam, verschil FROM marts.fair_share_gemeente WHERE jaar = 2026"
    ):
        assert f"{'▼' if verschil < 0 else '▲'} {getal(verschil, 1)}" in text, naam


# 2. axe-core in headless Chromium -------------------------------------------------------------------------------


def axe_violations(page: Path, work: Path) -> list[dict]:
    """axe-core's violations on ``page``: a copy with axe (and a runner that writes its result into the page)
    loaded in headless Chromium, its DOM dumped once axe is done (``--virtual-time-budget`` waits for it)."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (make test installs it)"
    assert AXE.exists(), "axe-core is missing: `make browser` installs it (tests/browser/)"
    runner = (
        f"<script>{AXE.read_text(encoding='utf-8')}</script><script>"
        "axe.run(document).then(r => { const p = document.createElement('pre'); p.id = 'axe-resultaat';"
        "p.textContent = JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        "nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))); document.body.appendChild(p); });</script>"
    )
    text = page.read_text(encoding="utf-8")
    end = text.rindex("</body>")
    checked = work / "axe.html"
    checked.write_text(text[:end] + runner + text[end:], encoding="utf-8")
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={work / 'profile'}",
            "--virtual-time-budget=60000",
            "--dump-dom",
            checked.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    found = re.search(r'<pre id="axe-resultaat">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stderr[-2000:]
    return json.loads(htmllib.unescape(found.group(1)))


def test_axe_would_see_a_chart_without_a_name_and_an_image_without_alt(tmp_path):
    page = tmp_path / "fout.html"
    page.write_text(
        '<!DOCTYPE html><html lang="nl"><head><title>t</title></head><body><main>'
        '<svg role="img" width="10" height="10"><rect width="10" height="10"/></svg>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        "</main></body></html>"
    )
    seen = {v["id"]: v["impact"] for v in axe_violations(page, tmp_path)}
    assert seen.get("svg-img-alt") == "serious" and seen.get("image-alt") == "critical"


def test_axe_core_finds_no_serious_or_critical_violation_in_the_report(pack, tmp_path):
    _, _, reports, _ = pack
    violations = axe_violations(reports / f"{STEM}.html", tmp_path)
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == []


# 3. The meeting pack --------------------------------------------------------------------------------------------


def test_meeting_pack_pdf_has_page_numbers_the_date_and_a_colofon_on_its_pages(pack):
    page, pdf, reports, _ = pack
    assert (reports / f"{STEM}.pdf").read_bytes().startswith(b"%PDF")
    n = len(pdf)
    assert n >= 5
    for i, text in enumerate(pdf, start=1):
        assert f"pagina {i} van {n}" in text, i
        assert "Peildatum 1 november 2026" in text and "gemaakt op" in text, i
        assert afdruk.FICTIEF not in text  # Regio Amersfoort is a real region
    colofon = pdf[-1] if "Colofon" in pdf[-1] else next(t for t in pdf if "Colofon" in t)
    contact = region.load_regio("amersfoort").contact
    assert contact and contact in colofon.replace("\n", " ")
    for word in ("Bronnen", "Peildatum", "Gemaakt op", "Contact"):
        assert word in colofon, word
    assert offending(_visible(page.split('<section id="colofon"', 1)[1])) == []


def test_contents_lists_every_section_with_its_page_and_no_page_is_mostly_empty(pack):
    page, pdf, _, _ = pack
    sections = re.findall(r'<section id="([^"]+)"[^>]*>\s*<h2[^>]*>(.*?)</h2>', page, re.S)
    [nav] = re.findall(r'<nav id="inhoud".*?</nav>', page, re.S)
    assert re.findall(r'<a href="#([^"]+)">', nav) == [sid for sid, _ in sections]
    # The contents page numbers (target-counter) in section order: several sections share a page, since no
    # section forces a new one; every page but the last holds real content (a forced break per section left
    # pages with a heading and one table: 255 to 352 characters in the sample's report).
    first = next(t for t in pdf if "Inhoud" in t)
    numbers = [int(m) for m in re.findall(r"\.{3,}\s*(\d+)", first)]
    assert len(numbers) == len(sections) and numbers == sorted(numbers) and numbers[-1] <= len(pdf)
    assert len(set(numbers)) < len(numbers)
    assert [len(t) for t in pdf[:-1] if len(t) < 500] == []


def test_every_table_has_a_real_header_that_print_repeats_on_each_page(pack, tmp_path):
    page = pack[0]
    tables = re.findall(r"<table\b.*?</table>", page, re.S)
    assert len(tables) >= 10
    for t in tables:
        assert re.match(r"<table\b[^>]*>\s*<thead><tr\b", t) and "<tbody>" in t, t[:120]
    # A table longer than a page, as the templates write one: its header on every printed page.
    rows = "".join(f"<tr><td>Rij {i}</td><td>{i}</td></tr>" for i in range(150))
    long = f'<html lang="nl"><body><table id="lang"><tr><th>Gemeente</th><th>Kopregel</th></tr>{rows}</table></body></html>'
    out = afdruk.schrijf_pdf(afdruk.afwerken(long), tmp_path / "lang.pdf")
    texts = [p.extract_text() for p in PdfReader(out).pages]
    assert len(texts) >= 3 and all("Kopregel" in t for t in texts)


def test_pdf_adds_no_word_a_board_member_must_not_read(pack):
    page, pdf, _, _ = pack
    text = "\n".join(pdf)
    # The PDF says no more than the html: its margins, contents and colofon add none of the list (the words of
    # the sections themselves are issue 21's page-one and words part).
    assert set(offending(text)) <= set(offending(_visible(page)))
    assert SERVER_PATH.findall(text) == []


# 5. Links inside the folder -------------------------------------------------------------------------------------


def test_data_docs_link_is_relative_to_the_report_and_no_server_path_appears(pack, tmp_path):
    page, _, reports, _ = pack
    assert "file://" not in page and SERVER_PATH.findall(_visible(page)) == []
    [link] = re.findall(r'<a href="(gx/[^"]+)">', page)
    assert (reports / link).is_file()
    # The folder mailed or copied elsewhere: the link still finds the Data Docs there.
    copy = tmp_path / "kopie"
    shutil.copytree(reports, copy)
    assert (copy / link).is_file()


# 4. A made-up region says so on every page ----------------------------------------------------------------------


def test_fictional_pack_puts_its_marking_on_every_page_of_html_and_pdf(two_regions):
    base, results, _, _ = two_regions
    assert results["voorbeeld"][0] == 0, results["voorbeeld"][2][-3000:]
    assert region.load_regio("voorbeeld").fictief and not region.load_regio("amersfoort").fictief
    reports = base / "voorbeeld" / "reports"
    [pdf] = sorted(reports.glob("bo_wonen_zorg_*.pdf"))
    page = pdf.with_suffix(".html").read_text(encoding="utf-8")
    assert f'<p class="fictief-balk" role="note">{afdruk.FICTIEF}</p>' in page
    texts = [p.extract_text() for p in PdfReader(pdf).pages]
    assert len(texts) >= 3 and all(afdruk.FICTIEF in t for t in texts)
    assert region.load_regio("voorbeeld").contact in texts[-1].replace("\n", " ")


def _pack_with_regio(tmp_path: Path, header: str, row: str) -> Path:
    root = tmp_path / "regions"
    shutil.copytree(region.regio_dir("voorbeeld"), root / "proef")
    (root / "proef" / "seeds" / "regio.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    return root


def test_a_bad_fictief_flag_is_refused_naming_file_line_and_column(tmp_path, monkeypatch):
    root = _pack_with_regio(
        tmp_path,
        "regio_code,regio_naam,provincie,bestuur,samenwerkend_label,max_aandeel_urgent_pct,bron,fictief,contact",
        "proef,Regio Proef,Utrecht,BO,SCV,40,bron,ja,team Wonen",
    )
    monkeypatch.setattr(region, "REGIONS_DIR", root)
    with pytest.raises(region.BadPack) as err:
        region.check_pack("proef")
    message = str(err.value)
    assert (
        "regio.csv" in message and "line 2" in message and "column fictief" in message and "'ja'" in message
    )


def test_a_pack_without_the_new_columns_keeps_working(tmp_path, monkeypatch):
    root = _pack_with_regio(
        tmp_path,
        "regio_code,regio_naam,provincie,bestuur,samenwerkend_label,max_aandeel_urgent_pct,bron",
        "proef,Regio Proef,Utrecht,BO,SCV,40,bron",
    )
    monkeypatch.setattr(region, "REGIONS_DIR", root)
    region.check_pack("proef")
    loaded = region.load_regio("proef")
    assert (loaded.fictief, loaded.contact) == (False, "")
    assert afdruk.fictief({"regio_code": "proef"}) is False


def test_blocked_page_links_its_data_docs_relatively(tmp_path):
    reports = tmp_path / "reports"
    docs = reports / "gx" / STEM / "gx" / "uncommitted" / "data_docs" / "local_site" / "overzicht.html"
    docs.parent.mkdir(parents=True)
    docs.write_text("<html></html>")
    page = render_blocked(reports, dt.date(2026, 11, 1), [("swev", "Geen levering van SWEV.", [])], docs)
    text = page.read_text(encoding="utf-8")
    [link] = re.findall(r'<a href="([^"]+)">', text)
    assert (
        link == f"gx/{STEM}/gx/uncommitted/data_docs/local_site/overzicht.html" and (reports / link).is_file()
    )
    assert str(tmp_path) not in text and SERVER_PATH.findall(text) == []

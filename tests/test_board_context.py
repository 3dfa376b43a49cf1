"""Context from the region (duiding, afsprakenkader §5.6) and compensation as a scenario (issue 21).

Both render in-process from a copy of the session's sample run (``tests.helpers.sample_built``): a duiding file's
notes beside their sections and gemeente rows and in ``historie.duiding``, each note that cannot be placed with its
message (file, line, heading) in the run summary while the rest is shown; a pack with a compensation rule shows
the scenario consistent with ``marts.compensatie_saldo``, Amersfoort's pack (no rule) shows none, a bad rule is
refused with file, line and key, by `fairshare run` too (exit 2, nothing read). Regio Voorbeeld's fictional rule
is read from the session's two-region run.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from basics import progress, region
from expectations import gate
from products.report import compensatie, render_report
from products.report.duiding import read
from tests import zygote
from tests.board_words import offending
from tests.helpers import clean_env, regions_lock, sample_built
from warehouse import audit

ROOT = Path(__file__).resolve().parents[1]
PEILDATUM = dt.date(2026, 11, 1)  # the sample's

GOED = """# Duiding bij de monitor, peildatum 1 november 2026

De cijfers over 2026 lopen tot en met oktober; twee corporaties leverden laat.

## 1. Fair share per gemeente
Drie toewijzingen van de zomer staan pas in november in het systeem.

Een tweede alinea bij dezelfde sectie.

### Baarn
Baarn levert in januari twaalf sociale huurwoningen op.

### GM0307
Amersfoort ving extra uitstroom uit de maatschappelijke opvang op.

## Compensatiesaldo
### Woudenberg
Het saldo van Woudenberg is klein positief.

## Ingroeipad
De groep Overige gemeenten loopt achter op het pad.
"""

SLECHT = """## Fair sahre per gemeente
Onder een kop met een tikfout.

### Baarn
Ook deze notitie valt onder die kop.

## Compensatiesaldo
### Jansen
Een notitie over iemand, niet over een gemeente.

### Soest
Soest heeft de achterstand in beeld.

## Verdeelsleutels (peildatum 1 april 2026)
Een notitie die bij het vorige rapport hoorde.

## Geschiktheid
Bel mevrouw op 06-12345678 voor de details.

## Urgentie
Het aantal aanvragen steeg in de zomer.
"""


@pytest.fixture(scope="module")
def built(sample_run, tmp_path_factory):
    return sample_built(sample_run, tmp_path_factory.mktemp("context"))


def _render(warehouse: Path, tmp: Path, duiding: Path | None = None, pack: Path | None = None):
    """The report rendered in-process on a copy of the sample's warehouse; (html, copy, the run summary's lines)."""
    copy = tmp / f"kopie-{uuid.uuid4().hex[:6]}.duckdb"
    shutil.copy(warehouse, copy)
    sink = progress.Sink()
    progress.use(sink)
    try:
        with duckdb.connect(str(copy)) as conn:
            paths = render_report(
                conn,
                tmp / "rapport",
                gate.poort_regels(conn, audit.peildatum(conn)),
                None,
                duiding,
                pack,
                pdf=False,
            )
    finally:
        progress.use(None)
    return paths[0].read_text(encoding="utf-8"), copy, sink.log.problems


def _section(html: str, sectie: str) -> str:
    start = html.index(f'<section id="{sectie}"')
    return html[start : html.index("</section>", start)]


def _aside(html: str, sectie: str) -> str:
    m = re.search(rf'<aside class="duiding" id="duiding-{sectie}".*?</aside>', html, re.S)
    assert m, sectie
    return m.group(0)


def _folder(tmp: Path, text: str, encoding: str = "utf-8", day: dt.date = PEILDATUM) -> Path:
    folder = tmp / "duiding"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"duiding_{day.isoformat()}.md").write_bytes(text.encode(encoding))
    return folder


# -- duiding ---------------------------------------------------------------------------------------------------


def test_a_duiding_files_notes_appear_beside_their_sections_and_gemeente_rows(built, tmp_path):
    html, copy, problems = _render(built, tmp_path, _folder(tmp_path, GOED))
    assert problems == []
    fair = _section(html, "fair-share")
    note = _aside(fair, "fair-share")  # inside its own section, after its table
    assert fair.index('id="tabel-fair-share"') < fair.index('id="duiding-fair-share"')
    assert "<p>Drie toewijzingen van de zomer staan pas in november in het systeem.</p>" in note
    assert "<p>Een tweede alinea bij dezelfde sectie.</p>" in note
    # per gemeente, by name or CBS code, in the report's gemeente order, and the rows get a marker
    assert re.search(r"<dt>Amersfoort</dt><dd data-gemeente=\"GM0307\"><p>Amersfoort ving", note)
    assert note.index("<dt>Amersfoort</dt>") < note.index("<dt>Baarn</dt>")
    assert '#fair-share tr[data-gemeente="GM0308"] td:first-child::after' in note
    assert 'data-gemeente="GM0351"' in _aside(_section(html, "compensatie"), "compensatie")
    assert "De groep Overige gemeenten loopt achter" in _aside(_section(html, "ingroeipad"), "ingroeipad")
    # the text before the first section: beside the summary, before section 1
    assert html.index('id="duiding-algemeen"') < html.index('<section id="fair-share"')
    assert "twee corporaties leverden laat" in _aside(html, "algemeen")
    for sectie in ("urgentie", "geschiktheid", "verdeelsleutels"):
        assert f'id="duiding-{sectie}"' not in html
    words = " ".join(
        re.sub(r"<[^>]+>", " ", m) for m in re.findall(r'<aside class="duiding".*?</aside>', html, re.S)
    )
    assert offending(re.sub(r"#[\w-]+ tr\[.*?\}", " ", words)) == []
    # historie keeps them with the report, one row per note
    with duckdb.connect(str(copy), read_only=True) as conn:
        rows = conn.execute(
            "SELECT rapport_peildatum, sectie, gemeente_code, gemeente_naam, tekst, bestand, regel "
            "FROM historie.duiding ORDER BY regel"
        ).fetchall()
        described = conn.execute(
            "SELECT count(*) FILTER (WHERE comment IS NULL OR comment = '') FROM duckdb_columns() "
            "WHERE schema_name = 'historie' AND table_name = 'duiding'"
        ).fetchone()[0]
    assert [(r[1], r[2], r[6]) for r in rows] == [
        ("algemeen", None, 1),
        ("fair-share", None, 5),
        ("fair-share", "GM0308", 10),
        ("fair-share", "GM0307", 13),
        ("compensatie", "GM0351", 17),
        ("ingroeipad", None, 20),
    ]
    assert {r[0] for r in rows} == {PEILDATUM} and {r[5] for r in rows} == {"duiding_2026-11-01.md"}
    assert rows[1][4] == "Drie toewijzingen van de zomer staan pas in november in het systeem.\n\n" + (
        "Een tweede alinea bij dezelfde sectie."
    )
    assert rows[2][3] == "Baarn" and described == 0


def test_an_edited_duiding_file_replaces_the_reports_notes_in_historie(built, tmp_path):
    folder = _folder(tmp_path, GOED)
    _, copy, _ = _render(built, tmp_path, folder)
    (folder / "duiding_2026-11-01.md").write_text(
        "## Ingroeipad\nAlleen deze notitie nog.\n", encoding="utf-8"
    )
    with duckdb.connect(str(copy)) as conn:
        render_report(
            conn, tmp_path / "r2", gate.poort_regels(conn, audit.peildatum(conn)), None, folder, pdf=False
        )
        rows = conn.execute("SELECT sectie, tekst FROM historie.duiding").fetchall()
    assert rows == [("ingroeipad", "Alleen deze notitie nog.")]


def test_each_note_that_cannot_be_placed_gets_its_message_and_the_rest_is_shown(built, tmp_path):
    html, copy, problems = _render(built, tmp_path, _folder(tmp_path, SLECHT))
    name = "duiding/duiding_2026-11-01.md"
    assert problems == [
        f"WARNING: {name} line 1: unknown section 'Fair sahre per gemeente' (did you mean 'Fair share per "
        "gemeente'?) (known: Algemeen, Fair share per gemeente, Ingroeipad, Compensatiesaldo, Instroom = "
        "uitstroom, Urgentieaanvragen en besluiten, Geschiktheid van de toewijzingen, Ouderenhuisvesting en sociale "
        "huur in plannen, Verdeelsleutels naast elkaar, Correcties op eerder gerapporteerde cijfers, "
        "Datakwaliteit): its notes are not shown",
        # a name that is no gemeente is not echoed (it may be a person's): its kind and length only
        f"WARNING: {name} line 8: unknown gemeente <tekst van 6 tekens> (a gemeente of the agreement, by name or "
        "CBS code): its note is not shown",
        f"WARNING: {name} line 14: this heading names the peildatum 1 april 2026, but the file is for 1 november "
        "2026: its note is not shown",
        f"WARNING: {name} line 17: the note holds what looks like a long number (a BSN or phone number?); a note "
        "for the board must not hold personal data: not shown",
    ]
    assert (
        "Onder een kop met een tikfout" not in html
        and "Ook deze notitie" not in html
        and "iemand" not in html
    )
    assert "vorige rapport hoorde" not in html and "06-12345678" not in html
    assert "Soest heeft de achterstand in beeld." in _aside(_section(html, "compensatie"), "compensatie")
    assert "Het aantal aanvragen steeg" in _aside(_section(html, "urgentie"), "urgentie")
    with duckdb.connect(str(copy), read_only=True) as conn:
        kept = conn.execute("SELECT sectie, gemeente_code FROM historie.duiding ORDER BY regel").fetchall()
    assert kept == [("compensatie", "GM0342"), ("urgentie", None)]


def test_a_file_for_another_peildatum_or_titled_for_one_shows_nothing(built, tmp_path):
    gemeenten = {"GM0308": "Baarn"}
    other = _folder(tmp_path, "## Ingroeipad\nVoor april.\n", day=dt.date(2026, 4, 1))
    assert read(other, PEILDATUM, gemeenten).notities == []  # another report's file: not this report's
    titled = _folder(tmp_path / "t", "# Duiding 1 april 2026\n\n## Ingroeipad\nVoor april.\n")
    found = read(titled, PEILDATUM, gemeenten)
    assert found.notities == [] and found.meldingen == [
        "duiding/duiding_2026-11-01.md line 1: the title names the peildatum 1 april 2026, but the file is for "
        "1 november 2026: nothing of the file is shown"
    ]
    assert read(tmp_path / "bestaat-niet", PEILDATUM, gemeenten).notities == []


def test_a_notepad_file_and_an_oversized_file(tmp_path):
    gemeenten = {"GM0308": "Baarn"}
    cp1252 = _folder(tmp_path, "## Ingroeipad\nDe corporatie’s leverden één week later.\n", encoding="cp1252")
    [note] = read(cp1252, PEILDATUM, gemeenten).notities
    assert note.tekst == "De corporatie’s leverden één week later."
    big = _folder(tmp_path / "b", "## Ingroeipad\n" + "x" * 1_000_001)
    found = read(big, PEILDATUM, gemeenten)
    assert (
        found.notities == []
        and "more than the 1000000 a duiding file may have: not read" in found.meldingen[0]
    )


# -- compensation ----------------------------------------------------------------------------------------------

REGEL = """# a rule made for this test
bedrag_per_huishouden: 12500
bron: "Testregel (geen besluit)"
drempel_huishoudens: 4
verdeling: naar_overschot
uitzonderingen:
  - gemeente: Eemnes
    domein: Wmo
    subcategorieen: [mo, bw, vo]
    bron: "afsprakenkader, voetnoot 9"
  - gemeente: GM0267
    domein: Jeugd
    subcategorieen: [jeugd]
    bron: "afsprakenkader, voetnoot 9"
  - gemeente: Soest
    domein: Wmo
    subcategorieen: [mo]
    bron: "testuitzondering"
"""


def _pack(tmp: Path, text: str) -> Path:
    pack = tmp / "pack"
    shutil.copytree(region.regio_dir("amersfoort") / "seeds", pack / "seeds")
    (pack / compensatie.FILE).write_text(text, encoding="utf-8")
    return pack


def _cells(html: str) -> dict[str, dict[str, str]]:
    table = re.search(r'<table id="tabel-compensatie-scenario">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    out = {}
    for code, row in re.findall(r'<tr data-gemeente="(GM\d+)">(.*?)</tr>', table, re.S):
        out[code] = dict(re.findall(r'<td data-kolom="(\w+)">(.*?)</td>', row))
    return out


def _euro(text: str) -> int:
    return int(text.removeprefix("€ ").replace(".", ""))


def test_a_pack_with_a_rule_shows_the_scenario_consistent_with_the_saldo(built, tmp_path):
    html, copy, problems = _render(built, tmp_path, pack=_pack(tmp_path, REGEL))
    assert problems == []
    section = _section(html, "compensatie")
    scenario = re.search(r'<div class="scenario" id="compensatie-scenario".*?</div>', section, re.S).group(0)
    assert "Scenario voor het bestuur" in scenario and "Geen besluit" in scenario
    assert "€ 12.500 per huishouden" in scenario and "Bron: Testregel (geen besluit)" in scenario
    with duckdb.connect(str(copy), read_only=True) as conn:
        saldi = dict(
            conn.execute(
                "SELECT gemeente_code, saldo FROM marts.compensatie_saldo WHERE jaar = 2026"
            ).fetchall()
        )
    cells = _cells(scenario)
    assert set(cells) == set(saldi)

    def round1(x):
        return math.copysign(math.floor(abs(x) * 10 + 0.5) / 10, x)

    paid = 0
    for code, saldo in saldi.items():
        behind = max(0.0, -round1(saldo))
        assert cells[code]["saldo"] == f"{round1(saldo):.1f}".replace(".", ",").replace("-0,0", "0,0"), code
        if code == "GM0342":  # Soest: an exemption for outflow that counts there: no amount can be given
            assert cells[code]["betaalt"] == "niet te bepalen"
            continue
        want = round(behind * 12500) if behind >= 4 else 0
        assert _euro(cells[code]["betaalt"]) == want, code
        paid += want
    assert paid > 0 and re.search(
        rf'<tfoot>.*data-kolom="betaalt">€ {paid:,}</td>'.replace(",", "."), scenario
    )
    ahead = {c: round1(s) for c, s in saldi.items() if round1(s) > 0}
    received = {c: _euro(cells[c]["ontvangt"]) for c in saldi}
    for code, share in ahead.items():
        assert received[code] == round(paid * share / sum(ahead.values())), code
    assert abs(sum(received.values()) - paid) <= len(ahead)  # whole euros
    # the exemptions the afsprakenkader names: beside their gemeente, with their source
    eemnes = re.search(r'<tr data-gemeente="GM0317">.*?</tr>', scenario, re.S).group(0)
    assert (
        "geen compensatie voor Wmo (afsprakenkader, voetnoot 9)" in eemnes and "telt hier niet mee" in eemnes
    )
    assert (
        "geen compensatie voor Jeugd" in re.search(r'<tr data-gemeente="GM0267">.*?</tr>', scenario, re.S)[0]
    )
    text = re.sub(r"<[^>]+>", " ", scenario)
    assert offending(text) == []
    # the workbook has it too, beside the saldo, with the same amounts
    wb = load_workbook(tmp_path / "rapport" / "bo_wonen_zorg_2026-12.xlsx")
    assert wb.sheetnames.index("Scenario compensatie") == wb.sheetnames.index("Compensatiesaldo") + 1
    rows = list(wb["Scenario compensatie"].iter_rows(values_only=True))
    header = rows[0]
    for row in rows[1:]:
        code, betaalt = (
            row[header.index("Code gemeente (voor analisten)")],
            row[header.index("Zou betalen (euro)")],
        )
        assert (betaalt is None) == (cells[code]["betaalt"] == "niet te bepalen"), code
        assert betaalt is None or betaalt == _euro(cells[code]["betaalt"]), code


def test_amersfoorts_pack_has_no_rule_and_shows_no_scenario(built, tmp_path):
    assert not (region.regio_dir("amersfoort") / compensatie.FILE).exists()
    html, _, _ = _render(built, tmp_path)  # the pack of the warehouse's own region
    assert "compensatie-scenario" not in html and "Scenario voor het bestuur" not in html
    assert (
        "Scenario compensatie"
        not in load_workbook(tmp_path / "rapport" / "bo_wonen_zorg_2026-12.xlsx").sheetnames
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bedrag_per_huishouden: 100\n", "pack/compensatie.yaml line 1: key 'bron' is missing"),
        ("bedrag: 100\nbron: x\n", "pack/compensatie.yaml line 1: key 'bedrag': unknown key"),
        (
            "bron: x\nbedrag_per_huishouden: -5\n",
            "pack/compensatie.yaml line 2: key 'bedrag_per_huishouden': must be a positive number of euros, not '-5'",
        ),
        (
            "bron: x\nbedrag_per_huishouden: 10\nverdeling: eerlijk\n",
            "pack/compensatie.yaml line 3: key 'verdeling': must be one of geen, naar_overschot, not 'eerlijk'",
        ),
        (
            "bron: x\nbedrag_per_huishouden: 10\nuitzonderingen:\n  - gemeente: Barneveld\n    domein: Wmo\n"
            "    subcategorieen: [mo]\n    bron: y\n",
            "pack/compensatie.yaml line 4: key 'uitzonderingen.gemeente': 'Barneveld' is not a gemeente of the "
            "agreement",
        ),
        (
            "bron: x\nbedrag_per_huishouden: 10\nuitzonderingen:\n  - gemeente: Eemnes\n    domein: Wmo\n"
            "    subcategorieen: [opvang]\n    bron: y\n",
            "pack/compensatie.yaml line 6: key 'uitzonderingen.subcategorieen': unknown kind of outflow opvang",
        ),
        (
            "bron: x\nbedrag_per_huishouden: 10\nuitzonderingen:\n  - gemeente: Eemnes\n    domein: Wmo\n",
            "pack/compensatie.yaml line 4: key 'uitzonderingen.subcategorieen': is missing",
        ),
        ("bron: [x\n", "pack/compensatie.yaml line 2: not readable as UTF-8 YAML"),
    ],
)
def test_a_bad_rule_is_refused_naming_file_line_and_key(tmp_path, text, message):
    pack = _pack(tmp_path, text)
    with pytest.raises(compensatie.BadRule) as exc:
        compensatie.check(pack)
    assert str(exc.value).startswith(message), str(exc.value)


@contextmanager
def _region_pack(name: str, rule: str):
    """Regio Voorbeeld's pack under another code, with ``rule`` as its compensation rule, in regions/ for the block."""
    pack = region.REGIONS_DIR / name
    with regions_lock(exclusive=True):  # no other worker lists the packs meanwhile
        shutil.copytree(region.regio_dir("voorbeeld"), pack)
        regio = pack / "seeds" / "regio.csv"
        header, row = regio.read_text(encoding="utf-8").split("\n", 1)
        regio.write_text(f"{header}\n{name}{row[len('voorbeeld') :]}", encoding="utf-8")
        (pack / compensatie.FILE).write_text(rule, encoding="utf-8")
        try:
            yield pack
        finally:
            shutil.rmtree(pack, ignore_errors=True)


def test_fairshare_run_refuses_a_bad_rule_before_it_reads_anything(tmp_path):
    code = f"proef_{uuid.uuid4().hex[:8]}"
    landing = tmp_path / "landing"
    for folder in ("swev", "urgentie", "planregister"):
        (landing / folder).mkdir(parents=True)
    warehouse = tmp_path / "wh" / "fairshare.duckdb"
    env = clean_env()
    with _region_pack(code, "bron: x\nbedrag_per_huishouden: nul\n"):
        result = zygote.run(
            [sys.executable, "-m", "fairshare.cli", "run", "--regio", code, "--demo", "--landing", str(landing),
             "--warehouse", str(warehouse), "--reports", str(tmp_path / "r")],
            capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
        )  # fmt: skip
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    [line] = result.stderr.strip().splitlines()
    assert f"{code}/compensatie.yaml line 2: key 'bedrag_per_huishouden': must be a positive number" in line
    assert not warehouse.parent.exists() and not (tmp_path / "r").exists()


def test_regio_voorbeeld_shows_its_fictional_rule_and_amersfoort_none(two_regions):
    base, results, _, _ = two_regions
    assert results["voorbeeld"][0] == 0 and results["amersfoort"][0] == 0
    voorbeeld = next((base / "voorbeeld" / "reports").glob("*[0-9].html")).read_text(encoding="utf-8")
    amersfoort = next((base / "amersfoort" / "reports").glob("*[0-9].html")).read_text(encoding="utf-8")
    scenario = _section(voorbeeld, "compensatie")
    assert 'id="compensatie-scenario"' in scenario and "Fictief: voorbeeldregel" in scenario
    assert "geen compensatie voor Justitie" in scenario
    assert "compensatie-scenario" not in amersfoort
    with duckdb.connect(str(base / "voorbeeld" / "serving" / "fairshare.duckdb"), read_only=True) as conn:
        saldi = conn.execute(
            "SELECT gemeente_code, saldo FROM marts.compensatie_saldo WHERE jaar = "
            "(SELECT max(jaar) FROM marts.compensatie_saldo)"
        ).fetchall()
    cells = _cells(scenario)
    for code, saldo in saldi:
        behind = max(0.0, -math.copysign(math.floor(abs(saldo) * 10 + 0.5) / 10, saldo))
        assert _euro(cells[code]["betaalt"]) == (round(behind * 10000) if behind >= 1 else 0), code


def test_a_run_with_a_duiding_file_builds_again_warns_in_its_summary_and_publishes_the_notes(
    sample_run, tmp_path
):
    """The one pipeline run of this module: the notes change what the report shows, so a run with a new duiding
    file is no "nothing new" run; a bad note is a warning in the summary, the exit status stays 0, and the
    published copy's historie holds the notes."""
    warehouse = sample_built(sample_run, tmp_path)
    folder = _folder(tmp_path, GOED + "\n## Fair sahre per gemeente\nMet een tikfout.\n")
    env = clean_env()
    env["FAIRSHARE_DUIDING"] = str(folder)
    reports = tmp_path / "reports"
    result = zygote.run(
        [sys.executable, "-m", "fairshare.cli", "run", "--demo", "--landing", str(tmp_path / "landing"),
         "--warehouse", str(warehouse), "--reports", str(reports)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "nothing new since the last complete build" not in result.stdout
    assert (
        "WARNING: duiding/duiding_2026-11-01.md line 23: unknown section 'Fair sahre per gemeente' (did you mean "
        "'Fair share per gemeente'?)" in result.stdout
    )
    html = (reports / "bo_wonen_zorg_2026-12.html").read_text(encoding="utf-8")
    assert "Baarn levert in januari twaalf sociale huurwoningen op." in _aside(
        _section(html, "fair-share"), "fair-share"
    )
    assert "Met een tikfout" not in html
    with duckdb.connect(str(tmp_path / "serving" / "fairshare.duckdb"), read_only=True) as conn:
        kept = conn.execute("SELECT sectie, gemeente_code FROM historie.duiding ORDER BY regel").fetchall()
        described = conn.execute(
            "SELECT count(*) FROM info.kolommen WHERE schema_name = 'historie' AND table_name = 'duiding' "
            "AND comment <> ''"
        ).fetchone()[0]
    assert kept[:3] == [("algemeen", None), ("fair-share", None), ("fair-share", "GM0308")] and len(kept) == 6
    assert described == 7

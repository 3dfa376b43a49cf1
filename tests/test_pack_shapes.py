"""The sample and the pipeline for a region pack of unusual shape (issue 23, findings 1, 2 and 6).

A region adopting fairshare has its own shape: more landlords outside the cooperation, committees of a gemeente
of its own beside a regional one serving three gemeenten, no advisory team, a gemeente in the region outside the
agreement, three ingroeipad groups. ``fairshare sample`` derives every shape from the pack's seeds, writes
Commissie values ingest accepts, and the pipeline passes the gate on that clean sample. A committee's own label
(reference data of the pack) is accepted in the Commissie column and shown as typed in messages.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from basics import region
from ingest.config import load_config
from tests.helpers import fairshare, load_all, quarantine, query, regions_lock, write_csv
from tools.sample import SampleError, model
from tools.sample.writer import commissie_text

ROOT = Path(__file__).resolve().parents[1]

# The unusual shape, written over a copy of the example pack (its gemeenten GM9901-GM9905 and GM0267 outside).
OTHER_LANDLORDS = ["Particuliere Verhuurder", "Stichting Tussenvoorziening", "Woonbedrijf Buitenom"]
REGIONAL = "zuidoost"  # serves three gemeenten; its label is neither its name nor an alias
REGIONAL_LABEL = "Regio Zuidoost"
OWN = {"GM9901": "voorbeeldstad", "GM9902": "akkerveen"}  # committees of one gemeente
GROUPS = {
    "GM9901": "Voorbeeldstad",
    "GM9902": "Akkerveen",
    "GM9903": "Zuidoost",
    "GM9904": "Zuidoost",
    "GM9905": "Zuidoost",
}


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def write_unusual_pack(code: str) -> Path:
    """regions/<code>/ made as an adopting region makes it: `fairshare regio nieuw` (a copy of the example pack,
    registered for Dagster), then its seeds rewritten to the unusual shape. ``remove_pack`` undoes both."""
    made = _fairshare("regio", "nieuw", code, "--naar-voorbeeld-van", "voorbeeld", cwd=ROOT)
    assert made.returncode == 0, made.stderr[-3000:]
    pack = region.REGIONS_DIR / code
    seeds = pack / "seeds"

    header, rows = _rows(seeds / "regio.csv")
    rows[0]["regio_code"], rows[0]["regio_naam"] = code, "Regio Vormproef"
    _write(seeds / "regio.csv", header, rows)

    header, rows = _rows(seeds / "corporaties.csv")
    flag = header[1]  # the cooperation flag's column (its name is the pack's contract, not this test's)
    rows = [r for r in rows if r[flag] == "true"] + [
        {"corporatie": name, flag: "false", "toelichting": "geen samenwerkende corporatie (fictief)"}
        for name in OTHER_LANDLORDS
    ]
    _write(seeds / "corporaties.csv", header, rows)

    header, gemeenten = _rows(seeds / "gemeenten.csv")
    names = {g["gemeente_code"]: g["gemeente_naam"] for g in gemeenten}
    for g in gemeenten:
        in_scope = g["gemeente_code"] in GROUPS
        g["commissie"] = OWN.get(g["gemeente_code"], REGIONAL) if in_scope else ""
    _write(seeds / "gemeenten.csv", header, gemeenten)

    header, _ = _rows(seeds / "commissies.csv")
    served = [g for g in GROUPS if g not in OWN]
    regional = {
        "commissie": REGIONAL,
        "commissie_code": REGIONAL,
        "naam": "Regionale Urgentiecommissie Zuidoost",
        "label": REGIONAL_LABEL,
        "soort": "regionaal",
        "gemeenten": " ".join(served),
        "verplicht": "true",
        "aliassen": "",
        "toelichting": "één commissie voor drie gemeenten (fictief)",
    }
    # The regional committee first: the sample writes a Commissie column into the first committee's registers.
    commissies = [regional] + [
        {
            "commissie": key,
            "commissie_code": gemeente,
            "naam": f"Urgentiecommissie {names[gemeente]}",
            "label": names[gemeente],
            "soort": "gemeente",
            "gemeenten": gemeente,
            "verplicht": "true",
            "aliassen": "",
            "toelichting": "urgentiecommissie van de gemeente (fictief)",
        }
        for gemeente, key in OWN.items()
    ]
    _write(seeds / "commissies.csv", header, commissies)

    header, _ = _rows(seeds / "ingroeipad_groepen.csv")
    _write(
        seeds / "ingroeipad_groepen.csv",
        header,
        [{"gemeente_code": g, "groep": v} for g, v in GROUPS.items()],
    )
    # Each group's agreed figure per period is the sum of its gemeenten's published targets (dbt reconciles them).
    _, opgaven = _rows(seeds / "opgaven.csv")
    header, afspraak = _rows(seeds / "ingroeipad_afspraak.csv")
    rows = []
    for periode in dict.fromkeys(r["periode"] for r in afspraak):
        template = next(r for r in afspraak if r["periode"] == periode)
        for groep in dict.fromkeys(GROUPS.values()):
            total = sum(
                int(o["opgave"])
                for o in opgaven
                if o["periode"] == periode and GROUPS[o["gemeente_code"]] == groep
            )
            rows.append({**template, "groep": groep, "afspraak": str(total)})
    _write(seeds / "ingroeipad_afspraak.csv", header, rows)
    return pack


@contextmanager
def unusual_pack() -> Iterator[str]:
    """The unusual pack in regions/ for the block, under a code of its own; gone afterwards."""
    code = f"vorm_{uuid.uuid4().hex[:8]}"
    with regions_lock(exclusive=True):  # no other worker lists the packs meanwhile
        try:
            write_unusual_pack(code)
            checked = _fairshare("regio", "controleer", code, cwd=ROOT)
            assert checked.returncode == 0, (checked.stdout[-3000:], checked.stderr[-3000:])
            yield code
        finally:
            remove_pack(code)


def remove_pack(code: str) -> None:
    """The pack gone and its registration with it (workspace.yaml and the pool limit as before the test)."""
    shutil.rmtree(region.REGIONS_DIR / code, ignore_errors=True)
    registered = _fairshare("regio", "registreer", cwd=ROOT)
    assert registered.returncode == 0, registered.stderr[-3000:]


@pytest.fixture(scope="module")
def pack() -> Iterator[str]:
    """The unusual pack for this module's tests (regions/ held exclusively meanwhile)."""
    with unusual_pack() as code:
        yield code
    assert not (region.REGIONS_DIR / code).exists()


def _fairshare(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m fairshare.cli ARGS` in ``cwd`` with a clean FAIRSHARE_* environment."""
    return fairshare(*args, cwd=cwd)


@pytest.fixture(scope="module")
def shaped(pack, tmp_path_factory):
    """`fairshare sample` then `fairshare run --demo` for the unusual pack: (base, sample, run)."""
    base = tmp_path_factory.mktemp("shapes")
    landing = base / "landing"
    sample = _fairshare("sample", "--regio", pack, "--out", str(landing), cwd=ROOT)
    run = _fairshare(
        "run",
        "--regio",
        pack,
        "--demo",
        "--landing",
        str(landing),
        "--warehouse",
        str(base / "warehouse" / "fairshare.duckdb"),
        "--reports",
        str(base / "reports"),
        cwd=base,
    )
    return base, sample, run


def _cells(path: Path) -> list[list]:
    """Every row of a written register, as the sample wrote it (xlsx through calamine, csv as text)."""
    if path.suffix == ".xlsx":
        return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    text = path.read_bytes().decode("utf-8-sig" if path.read_bytes()[:3] == b"\xef\xbb\xbf" else "cp1252")
    return list(csv.reader(io.StringIO(text), delimiter=";" if text.count(";") > text.count(",") else ","))


@pytest.mark.slow
def test_the_sample_of_an_unusual_pack_passes_the_gate(pack, shaped):
    """3 landlords outside the cooperation, own committees and a regional one (its label in the Commissie
    column), no advisory team, a gemeente outside the agreement, three groups: the clean sample passes."""
    base, sample, run = shaped
    assert sample.returncode == 0, sample.stderr[-3000:]
    assert "Warning" not in sample.stderr, sample.stderr[-3000:]  # pandas' FutureWarning among them
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    assert "gate: passed" in run.stdout
    warehouse = base / "warehouse" / "fairshare.duckdb"
    # Only the bad rows the sample plants are quarantined; no Commissie cell among them.
    bad = int(re.search(r"urgentie \d+ rows \((\d+) bad\)", sample.stdout).group(1))
    assert query(warehouse, "SELECT count(*) FROM audit.quarantaine WHERE bron = 'urgentie'") == [(bad,)]
    assert query(warehouse, "SELECT count(*) FROM audit.quarantaine WHERE kolom = 'commissie'") == [(0,)]
    # Every committee delivered and loaded; the regional one's registers name it by its label.
    loaded = dict(query(warehouse, "SELECT commissie, count(*) FROM raw.urgentie_registraties GROUP BY 1"))
    assert set(loaded) == {REGIONAL, *OWN.values()} and min(loaded.values()) > 0, loaded
    written = sorted((base / "landing" / "urgentie").glob(f"{REGIONAL}_*"))
    assert written and any(REGIONAL_LABEL in row for path in written for row in _cells(path))
    # Every landlord outside the cooperation has allocations.
    landlords = {r[0] for r in query(warehouse, "SELECT DISTINCT corporatie FROM raw.swev_toewijzingen")}
    assert set(OTHER_LANDLORDS) <= landlords


REG_HEADER = [
    "Registratienummer",
    "Aanvraagdatum",
    "Besluitdatum",
    "Besluit",
    "Urgentiecategorie",
    "Commissie",
]


def test_a_committee_label_is_accepted_and_shown_as_typed(pack, tmp_path):
    """A register naming its committee by the pack's label loads under the committee's key; in a message the
    label, or a misspelling of it, is shown as typed (reference data, not personal data); other text is not."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse" / "fairshare.duckdb"
    misspelt = REGIONAL_LABEL[:-1]
    rows = [
        ["R0", "01-03-2025", "05-03-2025", "Toegekend", "Medisch", REGIONAL_LABEL],
        ["R1", "01-03-2025", "05-03-2025", "Misschien", "Medisch", REGIONAL_LABEL],
        ["R2", "01-03-2025", "05-03-2025", "Toegekend", "Medisch", misspelt],
        ["R3", "01-03-2025", "05-03-2025", "Toegekend", "Medisch", "Jan Testpersoon"],
    ]
    write_csv(landing / "urgentie" / f"{OWN['GM9901']}_2025-04-02.csv", REG_HEADER, rows)
    [outcome] = load_all(landing, warehouse, config=load_config(regio=pack))
    assert (outcome.rijen_geladen, outcome.rijen_quarantaine) == (1, 3)
    assert query(warehouse, "SELECT registratie_id, commissie FROM raw.urgentie_registraties") == [
        ("R0", REGIONAL)
    ]
    r1, r2, r3 = quarantine(warehouse)
    assert r1["kolom"] == "besluit" and _shown(r1, "commissie") == REGIONAL_LABEL, r1
    assert r2["kolom"] == "commissie" and f"'{misspelt}' is not a known urgency committee" in r2["reden"], r2
    assert _shown(r2, "commissie") == misspelt, r2
    assert r3["kolom"] == "commissie" and "Testpersoon" not in r3["reden"] + r3["getoond"], r3
    assert "<tekst van 15 tekens> is not a known urgency committee" in r3["reden"], r3


def _shown(entry: dict, kolom: str) -> str:
    """How a quarantined row shows one of its cells (``audit.quarantaine.getoond``)."""
    return next(c["waarde"] for c in json.loads(entry["getoond"]) if c["kolom"] == kolom)


def test_the_sample_names_a_committee_by_a_text_ingest_takes_back(pack):
    """The Commissie text comes from the committee's own names, checked against ingest's lookup: a label that
    names another committee gives way to the committee's name; a committee no name leads to is an error."""
    config = load_config(regio=pack)
    rows = {c["commissie"]: c for c in config.commissie_rows}
    assert commissie_text(rows[REGIONAL], config.commissie_lookup) == REGIONAL_LABEL
    other = {**rows[REGIONAL], "label": "Akkerveen"}  # the gemeente of the committee akkerveen
    assert commissie_text(other, config.commissie_lookup) == "Regionale Urgentiecommissie Zuidoost"
    with pytest.raises(SampleError, match="no name of committee 'elders'"):
        commissie_text({**rows[REGIONAL], "commissie": "elders"}, config.commissie_lookup)


def test_an_empty_steekproef_yaml_is_the_default_story(tmp_path, monkeypatch):
    """A pack whose steekproef.yaml holds only comments (a new region's first try) gets the defaults."""
    (tmp_path / "leeg" / "seeds").mkdir(parents=True)
    (tmp_path / "leeg" / "seeds" / "regio.csv").write_text("regio_code\nleeg\n", encoding="utf-8")
    (tmp_path / "leeg" / "steekproef.yaml").write_text("# nog in te vullen\n", encoding="utf-8")
    monkeypatch.setattr(region, "REGIONS_DIR", tmp_path)
    cal = model.calibration("leeg")
    assert cal["prestatie"] == {} and cal["centrumgemeente"] is None


def test_a_pack_that_cannot_tell_the_story_stops_sample_with_one_sentence(pack, tmp_path):
    """Every landlord cooperating while the funnel counts allocations by others: `fairshare sample` exits 2
    naming the seed files, and writes nothing (regions/ is this module's meanwhile: ``pack``)."""
    code = f"vorm_{uuid.uuid4().hex[:8]}"
    try:
        seeds = write_unusual_pack(code) / "seeds"
        header, rows = _rows(seeds / "corporaties.csv")
        _write(seeds / "corporaties.csv", header, [r for r in rows if r[header[1]] == "true"])
        result = _fairshare("sample", "--regio", code, "--out", str(tmp_path / "landing"), cwd=ROOT)
    finally:
        remove_pack(code)
    assert result.returncode == 2, (result.stdout, result.stderr[-3000:])
    [line] = result.stderr.strip().splitlines()
    assert f"{code}/seeds/corporaties.csv lists no landlord outside the cooperation" in line, line
    assert "seeds/geschiktheid_referentie.csv" in line and not (tmp_path / "landing").exists()

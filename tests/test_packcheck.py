"""Issue 23: a region adopts fairshare without touching code. `fairshare regio nieuw` copies and registers a
pack, `fairshare regio controleer` names every pack mistake by file, line and column, and `fairshare run` stops
on them (exit 2) before it reads anything (basics/packcheck.py, fairshare/packs.py)."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from basics import packcheck, region
from fairshare import packs
from tests import zygote
from tests.helpers import fairshare, regions_lock

ROOT = Path(__file__).resolve().parents[1]


def _edit(file: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(pack: Path) -> None:
        path = pack / "seeds" / file
        text = path.read_text(encoding="utf-8")
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _append(file: str, line: str) -> Callable[[Path], None]:
    def append(pack: Path) -> None:
        path = pack / "seeds" / file
        path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + line + "\n", encoding="utf-8")

    return append


# Ten pack mistakes an adopting region makes (planted in a copy of regions/voorbeeld), each with the place and
# the words `controleer` must report: (seed file, line, column, words).
MISTAKES = {
    "code outside the CBS list": (
        _append("gemeenten.csv", "GM0001,Nergenshuizen,false,,verzonnen,Utrecht"),
        ("gemeenten.csv", 8, "gemeente_code", "GM0001 is not in the national CBS list"),
    ),
    "name that is not the code's": (
        _edit("gemeenten.csv", "GM0267,Nijkerk,", "GM0267,Nijkerkk,"),
        (
            "gemeenten.csv",
            7,
            "gemeente_naam",
            "'Nijkerkk' is not the name of GM0267 in the national CBS list",
        ),
    ),
    "gemeente in two ingroeipad groups": (
        _append("ingroeipad_groepen.csv", "GM9903,Voorbeeldstad"),
        ("ingroeipad_groepen.csv", 7, "gemeente_code", "GM9903 (Bosweide) is already in group"),
    ),
    "gemeente served by two committees": (
        _edit("commissies.csv", ",GM9901 GM9902,", ",GM9901 GM9902 GM9903,"),
        ("gemeenten.csv", 4, "gemeente_code", "GM9903 (Bosweide) is served by 2 committees"),
    ),
    "gemeenten separated by ;": (
        _edit("commissies.csv", ",GM9903 GM9904 GM9905,", ",GM9903;GM9904;GM9905,"),
        ("commissies.csv", 3, "gemeenten", "separate the CBS codes by a space"),
    ),
    "aliases separated by a comma": (
        _edit("commissies.csv", "true,Commissie Noord,", 'true,"Commissie Noord, UC Noord",'),
        ("commissies.csv", 2, "aliassen", "separate aliases by ';'"),
    ),
    "committee key with a digit": (
        _edit("commissies.csv", "zuid,zuid,", "zuid2,zuid,"),
        ("commissies.csv", 3, "commissie", "'zuid2' is not a valid key: lower-case letters a-z only"),
    ),
    "alias of another committee": (
        _edit("commissies.csv", "true,Commissie Zuid,", "true,commissie noord,"),
        ("commissies.csv", 3, "aliassen", "'commissie noord' also names committee 'noord'"),
    ),
    "target for a gemeente outside the agreement": (
        _append("opgaven.csv", "GM0267,2025-2026,2025,2026,medisch,1,x,2025-06-01"),
        ("opgaven.csv", 42, "gemeente_code", "is outside the agreement (gemeenten.csv in_afspraak=false)"),
    ),
    "counting rule for an unknown subcategory": (
        _edit("telt_mee_uitzonderingen.csv", "GM9905,*,detentie,", "GM9905,*,detentei,"),
        ("telt_mee_uitzonderingen.csv", 3, "subcategorie", "'detentei' is not a subcategory"),
    ),
    "distribution key that is not a number": (
        _edit("inwoners.csv", "GM9904,35000,", "GM9904,35.000,"),
        ("inwoners.csv", 5, "inwoners", "'35.000' is not a whole number"),
    ),
    "regio_code that is not the folder": (
        _edit("regio.csv", "\nvoorbeeld,", "\nfoodvalley,"),
        ("regio.csv", 2, "regio_code", "'foodvalley' is not the pack's folder name"),
    ),
}


def _reported(shown: str, place: tuple[str, int, str, str], found: list[str]) -> bool:
    """One of the lines names the place (``<pack>/seeds/<file>, line <n>, column <c>: ``) and says the words."""
    file, line, column, words = place
    return any(
        f.startswith(f"{shown}/seeds/{file}, line {line}, column {column}: ") and words in f for f in found
    )


@pytest.fixture
def example(tmp_path, monkeypatch):
    """A copy of regions/voorbeeld under its own code in a regions/ folder of the test's own."""
    root = tmp_path / "regions"
    shutil.copytree(ROOT / "regions" / "voorbeeld", root / "voorbeeld")
    monkeypatch.setattr(region, "REGIONS_DIR", root)
    return root / "voorbeeld"


def test_every_pack_present_is_clean():
    """Every pack in regions/ (the two shipped, and any a region adds) passes the check a run makes first."""
    with regions_lock(exclusive=False):
        found = {r: [str(p) for p in packcheck.problems(r)] for r in region.regions()}
    assert {"amersfoort", "voorbeeld"} <= set(found)
    assert found == {r: [] for r in found}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_pack_mistake_is_named_by_file_line_and_column(example, mistake):
    plant, place = MISTAKES[mistake]
    assert packcheck.problems(pack=example) == []
    plant(example)
    found = [str(p) for p in packcheck.problems(pack=example)]
    assert _reported(str(example), place, found), found


def test_a_missing_target_and_a_missing_distribution_key_are_named(example):
    opgaven = example / "seeds" / "opgaven.csv"
    lines = opgaven.read_text(encoding="utf-8").splitlines(keepends=True)
    [medisch] = [n for n, line in enumerate(lines) if line.startswith("GM9902,2027-2030,2027,2030,medisch,")]
    opgaven.write_text("".join(lines[:medisch] + lines[medisch + 1 :]), encoding="utf-8")
    _edit("sociale_huurvoorraad.csv", "GM9905,1500,2024-01-01,false,", "GM0267,5000,2024-01-01,true,")(
        example
    )
    found = [str(p) for p in packcheck.problems(pack=example)]
    assert (
        f"{opgaven}: no target for GM9902 (Akkerveen), medisch, 2027-2030: every gemeente of the agreement "
        "needs one per category and period (0 is a target)" in found
    )
    # Nijkerk (outside the agreement) may be listed; Wilgendaal (in it) may not be missing.
    assert found == [
        f"{opgaven}: no target for GM9902 (Akkerveen), medisch, 2027-2030: every gemeente of the agreement "
        "needs one per category and period (0 is a target)",
        f"{example / 'seeds' / 'sociale_huurvoorraad.csv'}, column gemeente_code: no row for GM9905 "
        "(Wilgendaal): every gemeente of the agreement needs one",
    ]


# ---- the commands ----------------------------------------------------------------------------------------------


def test_regio_nieuw_controleer_and_run_on_ten_planted_mistakes(tmp_path):
    """`regio nieuw` makes a clean, registered pack; with ten mistakes planted `controleer` names each by file,
    line and column (exit 2), `run` stops on them before anything is read or written (exit 2), and
    `regio registreer` after the pack is removed gives back workspace.yaml and the pool limit as they were."""
    code = f"proef{uuid.uuid4().hex[:8].translate(str.maketrans('0123456789', 'ghijklmnop'))}"
    pack = region.REGIONS_DIR / code
    landing, warehouse, reports = tmp_path / "landing", tmp_path / "wh" / "w.duckdb", tmp_path / "reports"
    with regions_lock(exclusive=True):  # no other worker lists the packs meanwhile
        before = {p: p.read_bytes() for p in (packs.WORKSPACE, packs.INSTANCE_REGIOS)}
        try:
            made = fairshare("regio", "nieuw", code, timeout=300)
            clean = fairshare("regio", "controleer", code, timeout=300)
            workspace = packs.WORKSPACE.read_text(encoding="utf-8")
            pool = packs.INSTANCE_REGIOS.read_text(encoding="utf-8")
            count = len(region.regions())
            for plant, place in MISTAKES.values():
                if (
                    place[0] != "regio.csv"
                ):  # `nieuw` wrote the pack's own code: that mistake is made in-process
                    plant(pack)
            checked = fairshare("regio", "controleer", code, timeout=300)
            ran = fairshare(
                "run",
                "--regio",
                code,
                "--demo",
                "--landing",
                str(landing),
                "--warehouse",
                str(warehouse),
                "--reports",
                str(reports),
                timeout=300,
            )
        finally:
            shutil.rmtree(pack, ignore_errors=True)
            again = fairshare("regio", "registreer", timeout=300)
            after = {p: p.read_bytes() for p in before}
            for p, content in before.items():
                p.write_bytes(content)
    assert made.returncode == 0, made.stderr
    assert f"Made regions/{code}/ as a copy of regions/voorbeeld/" in made.stdout
    assert f"code location '{code}' added to workspace.yaml" in made.stdout
    assert f"attribute: {code}\n      location_name: {code}\n" in workspace
    assert workspace.startswith(before[packs.WORKSPACE].decode().split("load_from:")[0])  # the comments stay
    assert f"default_limit: {count}\n" in pool and "# Dagster instance settings" in pool
    assert clean.returncode == 0 and clean.stdout.strip() == f"regions/{code}/: no problems found", (
        clean.stdout
    )
    assert checked.returncode == 2
    shown = f"regions/{code}"
    for mistake, (_, place) in MISTAKES.items():
        if place[0] != "regio.csv":
            assert _reported(shown, place, checked.stdout.splitlines()), (mistake, checked.stdout)
    [sentence] = checked.stderr.strip().splitlines()
    assert sentence.startswith(f"fairshare: the region pack regions/{code}/ has ")
    assert ran.returncode == 2, ran.stderr[-2000:]
    [line] = ran.stderr.strip().splitlines()
    assert line.startswith(f"fairshare: the region pack regions/{code}/ has ") and "problems: " in line
    assert f"(fairshare regio controleer {code} lists them all)" in line
    assert not landing.exists() and not warehouse.parent.exists() and not reports.exists()
    assert again.returncode == 0 and f"code location '{code}' removed from workspace.yaml" in again.stdout
    assert after == before  # registering after the removal restores both files byte for byte


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("Foodvalley", "'Foodvalley' is not a region code: lower-case letters"),
        ("voorbeeld", "regions/voorbeeld/ exists already"),
    ],
)
def test_regio_nieuw_refuses_a_bad_code_or_an_existing_pack(tmp_path, code, words):
    with regions_lock(exclusive=False):  # no other worker adds a pack (and registers it) meanwhile
        before = {p: p.read_bytes() for p in (packs.WORKSPACE, packs.INSTANCE_REGIOS)}
        packs_before = region.regions()
        result = fairshare("regio", "nieuw", code, timeout=300)
        after = {p: p.read_bytes() for p in before}, region.regions()
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"fairshare: {words}"), line
    assert after == (before, packs_before)


def test_the_workspace_keeps_comments_and_entries_written_by_hand():
    text = (
        "# my comment\nload_from:\n"
        "  - python_module:\n      module_name: orchestration.definitions\n      attribute: defs\n"
        "      location_name: amersfoort\n"
        "  # a deployment's own server\n  - grpc_server: {host: fairshare-x, port: 4000, location_name: x}\n"
        "  - python_module:\n      module_name: orchestration.regions\n      attribute: weg\n"
        "      location_name: weg\n"
    )
    new, added, removed = packs.synced_workspace(text, ["amersfoort", "nieuw"])
    assert (added, removed) == (["nieuw"], ["weg"])
    assert new.startswith("# my comment\nload_from:\n") and "grpc_server: {host: fairshare-x" in new
    assert "attribute: weg" not in new and new.endswith(
        "  - python_module:\n      module_name: orchestration.regions\n      attribute: nieuw\n"
        "      location_name: nieuw\n"
    )
    assert packs.synced_workspace(new, ["amersfoort", "nieuw"]) == (new, [], [])  # idempotent
    pool = "concurrency:\n  pools:\n    # steps at once\n    default_limit: 2\ntelemetry: {}\n"
    assert packs.synced_pool_limit(pool, 5) == pool.replace("default_limit: 2", "default_limit: 5")


# ---- the province without --regio --------------------------------------------------------------------------------


def test_provincie_without_regio_takes_the_packs_with_a_copy_and_names_the_others(two_regions, tmp_path):
    """A pack without a published copy (a new region, one not yet run) no longer stops the province: it is left
    out and named on stderr. With no copy at all the command is still a usage error (exit 2, one sentence)."""
    base, results, _, _ = two_regions
    assert results["amersfoort"][0] == 0, results["amersfoort"][2][-2000:]
    here = tmp_path / "installatie"
    copy = here / "data" / "serving" / "fairshare.duckdb"  # the default region's default copy, from `here`
    copy.parent.mkdir(parents=True)
    shutil.copy(base / "amersfoort" / "serving" / "fairshare.duckdb", copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRSHARE_")}
    command = [sys.executable, "-m", "fairshare.cli", "provincie", "--out", str(tmp_path / "provincie")]
    with regions_lock(exclusive=False):  # the default choice lists every pack
        others = [r for r in region.regions() if r != "amersfoort"]
        made = zygote.run(command, capture_output=True, text=True, cwd=here, env=env, timeout=300)
        (tmp_path / "leeg").mkdir()
        none = zygote.run(
            command, capture_output=True, text=True, cwd=tmp_path / "leeg", env=env, timeout=300
        )
    assert made.returncode == 0, made.stderr[-2000:]
    for regio in others:
        assert f"fairshare: left out region '{regio}': no published copy at " in made.stderr
    assert "Province publication of amersfoort:" in made.stdout
    province = tmp_path / "provincie" / "fairshare_provincie.duckdb"
    import duckdb

    with duckdb.connect(str(province), read_only=True) as conn:
        assert conn.execute("SELECT regio_code FROM provincie.regios").fetchall() == [("amersfoort",)]
    assert none.returncode == 2
    [line] = none.stderr.strip().splitlines()
    assert line.startswith("fairshare: no region has a published copy yet (") and "run a region first" in line


# ---- a gemeente outside the agreement in the distribution keys -------------------------------------------------


def test_a_gemeente_outside_the_agreement_in_inwoners_gives_no_warning(sample_run, tmp_path):
    """README (adoption): a gemeente outside the agreement may be listed in inwoners.csv (the province shows it).
    Its date is not the agreement's: a newer CBS figure for it must not make every gemeente of the agreement
    'older than the others', and an older one is no warning either (it counts in no key of the region)."""
    import duckdb

    from expectations import gate
    from tests.helpers import sample_built
    from warehouse import audit

    warehouse = sample_built(sample_run, tmp_path)
    with duckdb.connect(str(warehouse)) as conn:
        before = gate.poort_regels(conn, audit.peildatum(conn))
        [(outside, naam)] = conn.execute(
            "SELECT gemeente_code, gemeente_naam FROM referentie.gemeenten WHERE NOT in_afspraak"
        ).fetchall()
        conn.execute("DELETE FROM referentie.inwoners WHERE gemeente_code = ?", [outside])
        conn.execute("INSERT INTO referentie.inwoners VALUES (?, 60000, DATE '2026-01-01', 'CBS')", [outside])
        newer = gate.poort_regels(conn, audit.peildatum(conn))
        conn.execute(
            "UPDATE referentie.inwoners SET peildatum = DATE '2019-01-01' WHERE gemeente_code = ?", [outside]
        )
        older = gate.poort_regels(conn, audit.peildatum(conn))

    def warned(frame):
        return sorted(frame.loc[(frame["regel"] == "inwoners_peildatum") & ~frame["geslaagd"], "onderwerp"])

    # the sample region has gemeenten of the agreement with an older figure: they are still warned about
    assert warned(before)
    assert naam not in warned(before)
    assert warned(newer) == warned(before)
    assert warned(older) == warned(before)


def test_a_provisional_figure_outside_the_agreement_is_not_called_provisional(sample_run, tmp_path):
    """The report says the social housing figures are provisional only for the gemeenten of the agreement: a
    gemeente outside it listed with an estimate (voorlopig) counts in no key of the region."""
    import duckdb

    from products.report.render import report_data
    from tests.helpers import sample_built

    warehouse = sample_built(sample_run, tmp_path)
    with duckdb.connect(str(warehouse)) as conn:
        [outside] = conn.execute(
            "SELECT gemeente_code FROM referentie.gemeenten WHERE NOT in_afspraak"
        ).fetchone()
        conn.execute("UPDATE referentie.sociale_huurvoorraad SET voorlopig = false")
        conn.execute("DELETE FROM referentie.sociale_huurvoorraad WHERE gemeente_code = ?", [outside])
        conn.execute(
            "INSERT INTO referentie.sociale_huurvoorraad VALUES (?, 5000, DATE '2024-01-01', true, 'schatting')",
            [outside],
        )
        # the key shown, as for a region that chooses it (verdeelsleutel_keuze getoond): it is in the mart
        conn.execute(
            "INSERT INTO marts.verdeelsleutels SELECT * REPLACE ('sociale_huurvoorraad' AS verdeelsleutel) "
            "FROM marts.verdeelsleutels WHERE verdeelsleutel = 'inwoners' AND NOT EXISTS (SELECT 1 FROM "
            "marts.verdeelsleutels WHERE verdeelsleutel = 'sociale_huurvoorraad')"
        )
        assert report_data(conn)["sleutels_voorlopig"] == ""
        conn.execute(
            "UPDATE referentie.sociale_huurvoorraad SET voorlopig = true WHERE gemeente_code <> ?", [outside]
        )
        assert (
            report_data(conn)["sleutels_voorlopig"] == "de cijfers van de sociale huurvoorraad zijn voorlopig"
        )

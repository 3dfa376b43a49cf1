"""The run summary adds up (issue 20, point 5): every count of a kind of file equals the list below it.

One scenario, from the sample's built installation: stray files are put in the landing folder (a LEESMIJ.txt,
an export with a wrong name, a planregister file in swev/, a csv without the required headers, a copy of a
loaded file under another date), then two `fairshare run`s. The first rejects three files and says once that
the LEESMIJ.txt is no data; the second sees the same files again: "unchanged (rejected)", each once, and dbt
does not run. The smaller checks of point 10 (paths in messages, --adhoc with a board date) need no run.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from basics.settings import Settings
from tests import zygote
from tests.helpers import TOEWIJZINGEN_HEADER, load_all, query, run_command, sample_built, write_csv
from warehouse import builds

ROOT = Path(__file__).resolve().parents[1]
README = "swev/LEESMIJ.txt"
REJECTED = {  # rejected in the first run, "unchanged (rejected)" in the second
    "urgentie/export.xlsx": "does not follow the pattern",
    "swev/planregister_2026-10.xlsx": "put it in planregister/",
    "swev/toewijzingen_2026-10-01.csv": "required column",
}
COPY = "urgentie/baarn_2026-11-04.csv"  # the same bytes as baarn_2026-11-03.csv: unchanged, not rejected


def _run(landing: Path, warehouse: Path, reports: Path):
    return zygote.run(
        run_command(landing, warehouse, reports), capture_output=True, text=True, cwd=ROOT, timeout=900
    )


def _dbt_state(warehouse: Path, settings: Settings) -> tuple[int, int | None]:
    """Builds started (dbt about to run) and the time dbt last wrote its results."""
    started = query(warehouse, "SELECT count(*) FROM audit.bouw_invoer")[0][0]
    results = settings.dbt_target / "run_results.json"
    return started, results.stat().st_mtime_ns if results.exists() else None


@pytest.fixture(scope="module")
def stray(sample_run, tmp_path_factory):
    """The sample's installation with stray files added, run twice: (landing, warehouse, settings, runs, dbt
    state before and after each run, the schedule's nothing-new verdict after the second run)."""
    base = tmp_path_factory.mktemp("stray")
    warehouse = sample_built(sample_run, base)
    landing, reports = base / "landing", base / "reports"
    (landing / README).write_text("Zet hier de exports van WoningNet neer.\n", encoding="utf-8")
    shutil.copyfile(landing / "urgentie" / "baarn_2026-04-02.xlsx", landing / "urgentie" / "export.xlsx")
    shutil.copyfile(
        landing / "planregister" / "planregister_2026-10.xlsx", landing / "swev/planregister_2026-10.xlsx"
    )
    write_csv(landing / "swev" / "toewijzingen_2026-10-01.csv", ["Nummer", "Wat"], [["1", "x"]])
    shutil.copyfile(landing / "urgentie" / "baarn_2026-11-03.csv", landing / COPY)
    settings = Settings.from_env(
        {}, landing=str(landing), warehouse=str(warehouse), reports=str(reports), demo=True
    )
    states = [_dbt_state(warehouse, settings)]
    runs = []
    for _ in range(2):
        runs.append(_run(landing, warehouse, reports))
        states.append(_dbt_state(warehouse, settings))
    return landing, warehouse, settings, runs, states, builds.nothing_new(settings)


# The summary's words per kind of file (the spec of the summary, spelled out), and the kinds listed one a line.
WORDS = {
    "geladen": "new",
    "ongewijzigd": "unchanged",
    "ongewijzigd_afgewezen": "unchanged (rejected)",
    "afgewezen": "rejected",
    "overgeslagen": "skipped",
    "genegeerd": "ignored",
    "geen_data": "not data",
}
LISTED = ("ongewijzigd_afgewezen", "afgewezen", "overgeslagen", "genegeerd", "geen_data")


def _counts(summary: str) -> dict[str, int]:
    line = next(x for x in summary.splitlines() if x.startswith("  files this run: "))
    kinds = {w: k for k, w in WORDS.items()}
    found = re.findall(r"(\d+) ([a-z ()]+?)(?:,|$)", line.removeprefix("  files this run: "))
    return {kinds[word]: int(n) for n, word in found}


def _listed(summary: str) -> dict[str, list[str]]:
    """Per kind, the files the summary lists (``  <word>: <path>: <reason>``)."""
    listed = {k: [] for k in LISTED}
    for line in summary.splitlines():
        for k in LISTED:
            if line.startswith(f"  {WORDS[k]}: "):
                listed[k].append(line.removeprefix(f"  {WORDS[k]}: ").split(":", 1)[0])
    return listed


def _assert_adds_up(summary: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    counts, listed = _counts(summary), _listed(summary)
    for kind in LISTED:
        assert counts.get(kind, 0) == len(listed[kind]), (kind, summary)
        assert len(set(listed[kind])) == len(listed[kind]), summary  # each file once
    every = [p for paths in listed.values() for p in paths]
    assert len(set(every)) == len(every), summary  # and under one kind only
    return counts, listed


@pytest.mark.slow
def test_the_first_run_counts_each_rejection_once_and_names_the_folder_a_stray_file_belongs_in(stray):
    _, _, _, runs, _, _ = stray
    first = runs[0]
    assert first.returncode == 0, first.stderr[-3000:]
    counts, listed = _assert_adds_up(first.stdout)
    assert sorted(listed["afgewezen"]) == sorted(REJECTED)
    assert counts["ongewijzigd"] == 45 and counts["geladen"] == 0  # the sample's 44 and the copy
    for pad, reason in REJECTED.items():
        assert f"  rejected: {pad}: " in first.stdout and reason in first.stdout.split(f"{pad}: ", 1)[1]
    assert COPY not in first.stdout


@pytest.mark.slow
def test_a_file_that_is_no_data_gets_one_warning_over_two_runs_and_is_never_a_rejection(stray):
    _, warehouse, _, runs, _, _ = stray
    first, second = runs
    assert _listed(first.stdout)["geen_data"] == [README]
    assert "only .xlsx and .csv files are read" in first.stdout
    assert README not in second.stdout + second.stderr
    assert query(warehouse, "SELECT count(*) FROM audit.bestanden WHERE pad = ?", [README]) == [(0,)]


@pytest.mark.slow
def test_files_rejected_before_are_unchanged_rejected_each_shown_once(stray):
    _, _, _, runs, _, _ = stray
    second = runs[1]
    assert second.returncode == 0, second.stderr[-3000:]
    counts, listed = _assert_adds_up(second.stdout)
    assert counts["afgewezen"] == 0 and sorted(listed["ongewijzigd_afgewezen"]) == sorted(REJECTED)
    assert counts["ongewijzigd"] == 45
    for pad in REJECTED:
        assert second.stdout.count(pad) == 1, second.stdout  # once in the summary
        assert pad not in second.stderr  # and not again in the stage lines: nothing new to say


@pytest.mark.slow
def test_unchanged_rejected_files_rebuild_nothing(stray):
    _, _, _, runs, states, nothing_new = stray
    before, after_first, after_second = states
    assert after_first[0] == before[0] + 1 and after_first[1] != before[1]  # new rejections: a new build
    assert after_second == after_first, "dbt ran again although no file changed"
    assert "nothing new since the last complete build" in runs[1].stdout
    assert "dbt build" not in runs[1].stderr
    # the schedule agrees: a copy of a loaded file under another name is no reason for a run either
    assert nothing_new


def test_relative_paths_are_named_absolute_in_messages(tmp_path):
    result = zygote.run(
        [*run_command(Path("data/landing"), Path("data/wh.duckdb"), Path("data/reports"))],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 2
    assert f"the landing folder {tmp_path / 'data' / 'landing'} does not exist" in result.stderr, (
        result.stderr
    )


def test_adhoc_with_a_board_date_is_a_usage_error(tmp_path):
    result = zygote.run(
        [
            *run_command(tmp_path / "landing", tmp_path / "wh.duckdb", tmp_path / "r"),
            "--peildatum",
            "2026-11-01",
        ]
        + ["--adhoc"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--adhoc" in lines[0] and "2026-11-01 is a board date" in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_only_files_that_are_no_data_are_warned_once_the_rest_are_deliveries(landing, warehouse):
    """A LEESMIJ.txt or a PDF is no delivery: said once per content. A name with a table's extension anywhere
    in it, or with no extension, is a delivery whose name is wrong: rejected, the supplier can act on it."""
    for name in ("LEESMIJ.txt", "notulen.pdf", "toewijzingen_2025-04-02", "toewijzingen_2025-04-02.csv.bak"):
        (landing / "swev").mkdir(exist_ok=True)
        (landing / "swev" / name).write_text("a;b\n1;2\n")
    first = {o.pad: o.status for o in load_all(landing, warehouse)}
    assert first == {
        "swev/LEESMIJ.txt": "geen_data",
        "swev/notulen.pdf": "geen_data",
        "swev/toewijzingen_2025-04-02": "afgewezen",
        "swev/toewijzingen_2025-04-02.csv.bak": "afgewezen",
    }
    again = {o.pad: o.soort for o in load_all(landing, warehouse)}
    assert again == {
        "swev/toewijzingen_2025-04-02": "ongewijzigd_afgewezen",
        "swev/toewijzingen_2025-04-02.csv.bak": "ongewijzigd_afgewezen",
    }
    (landing / "swev" / "LEESMIJ.txt").write_text("Nieuwe tekst.\n")  # changed: said once more
    assert [(o.pad, o.status) for o in load_all(landing, warehouse) if o.status == "geen_data"] == [
        ("swev/LEESMIJ.txt", "geen_data")
    ]


def test_a_file_in_another_sources_folder_is_told_where_it_belongs(landing, warehouse):
    write_csv(landing / "swev" / "planregister_2026-10.csv", TOEWIJZINGEN_HEADER, [["T0001"]])
    write_csv(landing / "planregister" / "baarn_2026-11-03.csv", TOEWIJZINGEN_HEADER, [["T0001"]])
    write_csv(landing / "urgentie" / "toewijzingen_2026-11-03.csv", TOEWIJZINGEN_HEADER, [["T0001"]])
    write_csv(landing / "urgentie" / "export.csv", TOEWIJZINGEN_HEADER, [["T0001"]])
    reasons = {o.pad: o.reden for o in load_all(landing, warehouse)}
    assert reasons["swev/planregister_2026-10.csv"].endswith("put it in planregister/")
    assert reasons["planregister/baarn_2026-11-03.csv"].endswith("put it in urgentie/")
    assert reasons["urgentie/toewijzingen_2026-11-03.csv"].endswith("put it in swev/")
    assert "put it in" not in reasons["urgentie/export.csv"]  # no source's name: the pattern only


def test_a_file_that_is_no_data_rejected_by_an_older_version_is_no_longer_listed_as_rejected(
    landing, warehouse
):
    """An older version rejected a LEESMIJ.txt by its name on every run: that rejection no longer counts (the
    report, the supplier's list and the build's inputs read ``audit.bestanden_actueel``)."""
    (landing / "swev").mkdir()
    (landing / "swev" / "LEESMIJ.txt").write_text("Lees mij.\n")
    load_all(landing, warehouse)  # creates the schema
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("DELETE FROM audit.overige_bestanden")
        conn.execute(
            "INSERT INTO audit.bestanden (bron, pad, config_hash, status, reden) "
            "VALUES ('swev', 'swev/LEESMIJ.txt', 'c', 'afgewezen', 'file name does not follow the pattern')"
        )
    assert query(warehouse, "SELECT pad FROM audit.bestanden_actueel") == [("swev/LEESMIJ.txt",)]
    assert [o.status for o in load_all(landing, warehouse)] == ["geen_data"]
    assert query(warehouse, "SELECT pad FROM audit.bestanden_actueel") == []

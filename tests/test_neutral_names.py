"""Neutral names (issue 23): the code names the cooperating corporations by the neutral flag ``samenwerkend`` and
every text by the region's own label (seed regio, ``samenwerkend_label``: "SWEV" for Regio Amersfoort only).

What remains of the word in code is the raw source's own name, which spec/sources.md and spec/marts.md publish:
the source key ``swev`` (its landing folder ``swev/``, ``audit.bestanden.bron``, the raw table
``raw.swev_toewijzingen`` and its staging model) and the deprecated alias columns ``swev`` and
``swev_max_3_kamers`` of ``marts.toewijzingen_geschiktheid`` beside ``samenwerkend`` (the funnel's step codes of
the packs' ``geschiktheid_referentie.csv`` are those names). Every other spelling, and any capitalised "SWEV",
fails.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import duckdb

from basics import region
from expectations.suites import SUITES
from ingest.config import TOEWIJZINGEN, source_descriptions, source_labels
from tests.helpers import query, sample_built

ROOT = Path(__file__).resolve().parents[1]
WORD = re.compile("swev", re.IGNORECASE)
# The raw source's own name, lowercase only (a capitalised one is a text that should use the region's label).
SOURCE_NAME = re.compile(
    r"stg_swev__toewijzingen|swev_toewijzingen(?:_actueel)?"  # its raw table and staging model
    r"|(?<![\w-])swev/"  # its landing folder
    r"|(?<=[\"'])swev(?=[\"'])"  # the source key or bron value as a literal
    r"|\bswev(?= \d{4}-\d{2}-\d{2})"  # a delivery: source key and date
    r"|^\s*swev:|^\s*folder: swev$"  # the source's entry in sources.yaml and leveranciers.yaml
)
# The deprecated alias columns of the published mart, in the files that define, describe or test it.
# Only where they are defined (as ..., name: ...) or given (a unit test's value, the workbook leaving them out).
ALIAS = re.compile(
    r"\b(?:as |name: )swev(?:_max_3_kamers)?\b|\bswev(?:_max_3_kamers)?: (?:\d|\{soort: weg\})"
)
ALIAS_FILES = {
    "dbt_project/models/marts/toewijzingen_geschiktheid.sql",
    "dbt_project/models/marts/_marts__models.yml",
    "dbt_project/models/marts/_marts__unit_tests.yml",
    "products/report/werkboek.yaml",
}
# The funnel's step codes, read from the pack's geschiktheid_referentie.csv (named as the published columns).
STEP_CODES = re.compile(r"(?<=[\"'])(?:swev_max_3_kamers|urgent_niet_swev)(?=[\"'])")


def _code_files() -> list[Path]:
    """Code, SQL, templates and configuration outside Regio Amersfoort's pack; the tests are left out (their
    shared helpers name the source's rows)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    keep = re.compile(r"\.(py|sql|yml|yaml|html|j2|jinja)$")
    exempt = re.compile(r"^(regions/amersfoort/|tests/|\.venv)")
    return [ROOT / f for f in listed if keep.search(f) and not exempt.match(f) and (ROOT / f).is_file()]


def _leftovers(path: str, line: str) -> bool:
    line = SOURCE_NAME.sub("", line)
    if path in ALIAS_FILES:
        line = ALIAS.sub("", line)
    if path == "tools/sample/model.py":
        line = STEP_CODES.sub("", line)
    return bool(WORD.search(line))


def test_no_swev_in_code_sql_or_templates_outside_amersfoorts_pack():
    files = _code_files()
    assert len(files) > 100
    found = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
        for f in files
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if _leftovers(str(f.relative_to(ROOT)), line)
    ]
    assert found == []


def test_the_check_catches_a_text_and_a_flag_and_spares_the_source_name():
    """The check itself: what it must find, and the source's own name it must leave."""
    assert _leftovers("products/x.py", 'f"Kwaliteit van de SWEV-toewijzingen"')
    assert _leftovers("dbt_project/models/x.sql", "coalesce(c.is_swev, false) as is_swev,")
    assert _leftovers("dbt_project/models/x.sql", "count(*) filter (where samenwerkend) as swev,")
    assert not _leftovers(
        "dbt_project/models/x.sql", "from {{ ref('stg_swev__toewijzingen') }} where bron = 'swev'"
    )
    assert not _leftovers("ingest/x.py", 'path = landing / "swev/toewijzingen_2026-11-01.csv"')
    assert not _leftovers("dbt_project/models/marts/toewijzingen_geschiktheid.sql", "as swev_max_3_kamers")
    # the alias is defined from the neutral column, never read
    assert _leftovers("dbt_project/models/marts/toewijzingen_geschiktheid.sql", "coalesce(p.swev, 0) as x")


def test_source_texts_and_suites_name_no_region(tmp_path):
    """The texts Dagster and the gate show for every region: the label comes from the pack, nothing else."""
    descriptions = " ".join(source_descriptions().values()) + " ".join(s.description for s in SUITES)
    assert not WORD.search(descriptions)
    for regio in region.regions():
        label = region.load_regio(regio).samenwerkend_label
        assert source_labels(label)[TOEWIJZINGEN].startswith(label)


def test_amersfoorts_report_says_its_label_from_its_pack(sample_run, tmp_path):
    """Regio Amersfoort's label is "SWEV" in its pack (seed regio): its report and gate say so, from there."""
    warehouse = sample_built(sample_run, tmp_path)
    label = region.load_regio("amersfoort").samenwerkend_label
    [(seed_label,)] = query(warehouse, "SELECT samenwerkend_label FROM referentie.regio")
    assert seed_label == label and WORD.fullmatch(label)
    html = next((tmp_path / "reports").rglob("*.html")).read_text(encoding="utf-8")
    assert f"<th>{label}</th>" in html  # the suitability table's column
    assert f"{label}-toewijzingen" in html  # the data-quality table's source
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        columns = [r[0] for r in conn.execute("DESCRIBE marts.toewijzingen_geschiktheid").fetchall()]
        # the neutral columns, and the published names as aliases holding the same figures
        assert {"samenwerkend", "samenwerkend_max_3_kamers", "swev", "swev_max_3_kamers"} <= set(columns)
        [(differ,)] = conn.execute(
            "SELECT count(*) FROM marts.toewijzingen_geschiktheid "
            "WHERE swev <> samenwerkend OR swev_max_3_kamers <> samenwerkend_max_3_kamers"
        ).fetchall()
        assert differ == 0

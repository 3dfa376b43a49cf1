"""The values of a region's counting rules (seed ``telt_mee_uitzonderingen``), checked before anything runs.

A rule is (gemeente_code, urgentiecategorie, subcategorie, corporatie: each a value or ``*``; jaar_van..jaar_tot,
inclusive, empty = open) with a ``reden``; ``int_toewijzingen`` applies them. dbt would stop on a year that is no
number only after all of ingest, and a rule without a reason would give the onderbouwing none: both are named
here by file, line and column. Whether a category or gemeente exists is the pack check's (``fairshare regio
controleer``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from basics import seeds

SEED = "telt_mee_uitzonderingen"
YEARS = ("jaar_van", "jaar_tot")


class BadRule(ValueError):
    """A counting rule with a year that is no year, a period that ends before it starts, or no reason."""


def _year(file: Path, line: int, column: str, value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not (value.isdigit() and len(value) == 4):
        raise BadRule(
            f"the seed file {file}, line {line}, column {column}: '{value}' is not a year (four digits; "
            "empty leaves the period open)"
        )
    return int(value)


def check(file: Path) -> None:
    """Every rule of ``file`` has whole years (or none), jaar_van <= jaar_tot, and a reason; raises ``BadRule``."""
    with open(file, newline="", encoding=seeds.ENCODING) as fh:
        rows = csv.DictReader(fh, delimiter=seeds.DELIMITER)
        for row in rows:
            if not any((v or "").strip() for v in row.values()):
                continue
            line = rows.line_num
            van, tot = (_year(file, line, c, row.get(c) or "") for c in YEARS)
            if van is not None and tot is not None and van > tot:
                raise BadRule(
                    f"the seed file {file}, line {line}, column jaar_tot: {tot} is before jaar_van {van} "
                    "(the rule would apply in no year)"
                )
            if not (row.get("reden") or "").strip():
                raise BadRule(
                    f"the seed file {file}, line {line}, column reden: empty (the onderbouwing gives this reason "
                    "for every record the rule excludes)"
                )

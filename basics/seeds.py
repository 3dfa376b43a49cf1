"""The one reader of seed csv files (``dbt_project/seeds/`` and a region pack's ``seeds/``), as dbt reads them.

A seed is UTF-8 csv with a comma between fields and a header row; Excel's "CSV UTF-8" puts a byte order mark
before it (dbt accepts that, so must we). Values stay text: dbt types the columns (``_seeds.yml``), and Python
code converts the few it needs where it uses them (a flag is ``true``/``false``, see ``flag``).
"""

from __future__ import annotations

import csv
from pathlib import Path

ENCODING = "utf-8-sig"  # UTF-8, with or without Excel's byte order mark
DELIMITER = ","


def read(path: Path) -> list[dict[str, str]]:
    """The seed's rows, each a dict of its header's columns to text."""
    with open(path, newline="", encoding=ENCODING) as fh:
        return list(csv.DictReader(fh, delimiter=DELIMITER))


def header_and_count(path: Path) -> tuple[list[str], int]:
    """The seed's header and its number of rows with any value (blank lines and all-empty rows do not count).

    Raises ``OSError``, ``UnicodeDecodeError`` or ``csv.Error`` when the file cannot be read as a seed.
    """
    with open(path, newline="", encoding=ENCODING) as fh:
        rows = csv.reader(fh, delimiter=DELIMITER)
        header = next(rows, [])
        return header, sum(1 for row in rows if any(row))


def flag(value: str) -> bool:
    """A seed's boolean column (``true``/``false``, as dbt writes and reads it)."""
    return value == "true"

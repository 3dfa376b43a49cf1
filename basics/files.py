"""Files written whole or not at all: a temporary name beside the target, then one rename.

A run killed while it writes leaves the previous file in place and a hidden ``.<name>.<pid>.tmp``
that the next run removes (``clean_stale``), so a report never disagrees with itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Options for every xlsxwriter.Workbook that holds echoed text: its write() would turn text starting with "="
# into a formula, a URL (mailto:, external:\\server\share) into a live link and digits into a number. Text is
# also written with write_string, which alone stops "{=...}" array formulas.
XLSX_INERT = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path to write; renamed onto ``target`` (after fsync) when the block ends without error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def clean_stale(folder: Path) -> list[Path]:
    """Remove temporary files a killed run left in ``folder`` (the caller holds the warehouse lock)."""
    removed = []
    if folder.is_dir():
        for path in folder.glob(".*.tmp*"):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed

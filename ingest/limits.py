"""The reading limits of xlsx and csv files (README, "Limits on xlsx files", "Limits on csv files").

Read from the environment when a file is read, never at import. They are part of the ingest configuration's
hash (``ingest.config``): raising one, as a rejection's reason suggests, makes the next run read those files
again. Kept apart from the readers so the configuration needs no parser to know them.
"""

from __future__ import annotations

import os


def _limit(name: str, default: int) -> int:
    """An operating limit, overridable by the environment."""
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else default


def xlsx_limits() -> dict[str, int]:
    """Limits an xlsx must keep to be read at all (README, "Limits on xlsx files")."""
    return {
        "max_cells": _limit("FAIRSHARE_XLSX_MAX_CELLS", 50_000_000),
        "max_bytes": _limit("FAIRSHARE_XLSX_MAX_BYTES", 4 << 30),
        "memory": _limit("FAIRSHARE_XLSX_READER_MEMORY", 6 << 30),
        "cpu_seconds": _limit("FAIRSHARE_XLSX_READER_SECONDS", 1800),
    }


def csv_limits() -> dict[str, int]:
    """Limits a csv must keep to be read at all (README, "Limits on csv files"), checked before pandas reads it."""
    return {
        "max_line_bytes": _limit("FAIRSHARE_CSV_MAX_LINE_BYTES", 1 << 20),
        # Excel's own column limit: "Save as CSV" pads every line to the used range, stray cells included.
        "max_fields": _limit("FAIRSHARE_CSV_MAX_FIELDS", 16384),
    }

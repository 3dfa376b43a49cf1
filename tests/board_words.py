"""What a board member must never read in the BO report (html, PDF text, xlsx): one list for every test of it.

Issue 21: no code names, table names, rule ids, English or server paths in what the board gets. ``offending``
returns what of it a text holds; a test asserts it is empty. File names of deliveries (the appendix names a
rejected file) may hold an underscore: pass them as ``allowed``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# English a stored reason or a template could leak, and words of the machinery (lower case, matched as words).
ENGLISH = (
    "does not",
    "not found",
    "not a known",
    "pattern",
    "lies after",
    "required column",
    "headers seen",
    "warning",
    "error",
    "failed",
    "none",
    "nan",
    "null",
    "true",
    "false",
)
MACHINERY = (
    "mart",
    "marts",
    "seed",
    "seeds",
    "datawarehouse",
    "warehouse",
    "pipeline",
    "fairshare-pipeline",
    "poort",
    "staging",
    "intermediate",
    "dbt",
    "dagster",
    "duckdb",
    "great expectations",
    "swev levering",
    "planregister momentopname",
)
# A code as the marts store it (afspraak_2025_2026, uitstap_sekswerk), a schema-qualified table
# (historie.verschillen_sinds_vorige), a server path.
CODE_NAME = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
TABLE_NAME = re.compile(
    r"\b(?:raw|staging|intermediate|marts|info|referentie|audit|historie|provincie)\.[a-z_]+\b"
)
SERVER_PATH = re.compile(r"file://|/tmp/|/home/|/work/|/var/")


def offending(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """Every forbidden word, code name, table name or server path in ``text`` (empty: none)."""
    for name in allowed:
        text = text.replace(name, " ")
    low = text.lower()
    found = [w for w in (*ENGLISH, *MACHINERY) if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low)]
    for pattern in (CODE_NAME, TABLE_NAME, SERVER_PATH):
        found += pattern.findall(text)
    return sorted(set(found))

"""The one rule for text from an input file that the pipeline echoes (sources.md §5, §6; README "Personal data").

A supplier can type anything anywhere: a name in the landlord column, a BSN as a header, a date of
birth in `Leeftijd`. So a value read from a file reaches the warehouse, a message, a log line, Dagster
or the report only in one of two forms:

- **verbatim**, when it is known to identify nobody: it matches the column's vocabulary or a reference
  list (a gemeente, a corporation, a known header), or it is a typed value (date, amount, count,
  boolean) that parsed;
- **reduced** otherwise: its kind and length (``<tekst van 23 tekens>``, ``<9 cijfers>``), which with the
  file, sheet position, row and column lets a data engineer find and fix the cell, and identifies nobody.

Callers decide whether a value is a match (they know the vocabulary); this module renders both forms.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from ingest.text import clean, match_key

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_TOKENS = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
SHEET_NAME_MAX = 31  # Excel's own limit on a sheet name


def kind(value: object) -> str:
    """A value's kind and length, nothing of its content: `tekst van 23 tekens`, `9 cijfers`, `datum`."""
    if value is None or (isinstance(value, float) and value != value):
        return "leeg"
    if isinstance(value, bool):
        return "ja/nee-waarde"
    if isinstance(value, dt.datetime | dt.date):
        return "datum"
    if isinstance(value, int | float):
        digits = sum(ch.isdigit() for ch in repr(value).removesuffix(".0"))
        return f"getal van {digits} cijfers"
    text = clean(unicodedata.normalize("NFC", str(value)))
    if not text:
        return "leeg"
    n = len(text)
    if _LETTER.search(text):
        return f"tekst van {n} {'teken' if n == 1 else 'tekens'}"
    if text.isdigit():
        return f"{n} {'cijfer' if n == 1 else 'cijfers'}"
    return f"{n} tekens cijfers en leestekens"


def reduced(value: object) -> str:
    """The reduced form as it appears in messages: ``<tekst van 23 tekens>``."""
    return f"<{kind(value)}>"


def shown(text: str, allowed: bool) -> str:
    """Text in a message: quoted verbatim when ``allowed`` (a match or a parsed value), else reduced."""
    return f"'{text}'" if allowed else reduced(text)


def header(text: str, known: frozenset[str]) -> str:
    """A header as written in the file, verbatim only when it is a known header (``match_key`` in ``known``)."""
    return text if match_key(text) in known else reduced(text)


def sheet_label(position: int, name: str | None, words: frozenset[str]) -> str:
    """A sheet as stored and shown: its position among the visible sheets, with its name only when harmless.

    The name is shown when every word of it is a known word (``words``: Excel's `Blad`/`Sheet`, the
    sources' header and vocabulary words, a few configured sheet words) and every number in it has at
    most 4 digits (`Blad1`, `Toewijzingen 2025`). A plain single word is not enough: `Jansen` is one.
    """
    if name and len(name) <= SHEET_NAME_MAX:
        tokens = _TOKENS.findall(name)
        if tokens and all(len(t) <= 4 if t.isdigit() else match_key(t) in words for t in tokens):
            return f"{position} ({clean(name)})"
    return str(position)

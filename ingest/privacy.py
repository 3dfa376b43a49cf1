"""The one rule for text from an input file that the pipeline echoes (sources.md §5, §6; README "Personal data").

A supplier can type anything anywhere: a name in the landlord column, a BSN as a header, a date of
birth in `Leeftijd`. So a value read from a file reaches the warehouse, a message, a log line, Dagster
or the report only in one of two forms:

- **verbatim**, when it is known to identify nobody: it matches the column's vocabulary or a reference
  list (a gemeente, a corporation, a known header), or it is a typed value (date, amount, count,
  boolean) that parsed;
- **verbatim** too when it is a near miss of such a value (``near_miss``: letters only, one letter off a
  known value, two for a long one: `Amersfort`, `Senoiren`), a number as typed with at most
  ``NUMBER_DIGITS_SHOWN`` digits (``number_text``: `12,5` kamers, `-3`), or a date as typed
  (``date_text``: `31-02-2025`, only its date part): such a text is the vocabulary value or the number
  the supplier meant, misspelt or out of range, and says nothing about a person. A longer number (a BSN,
  a phone or registration number typed in the wrong column) and any other text stay reduced;
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
# A number with more digits may be a BSN (9), a phone (10) or an inschrijfnummer typed in the wrong column.
NUMBER_DIGITS_SHOWN = 6
_NUMBER_TEXT = re.compile(r"^(?:€\s*)?[-+]?[\d.,]*\d[\d.,]*(?:\s*€)?$")
_DATE_TEXT = re.compile(r"^(\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|\d{4}-\d{1,2}-\d{1,2})(?:[ T].*)?$")
NEAR_MISS_MIN = 5  # a shorter text is one letter off too many words (a four-letter surname off a place name)


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


def number_text(text: str) -> str | None:
    """A number as typed (digits with `.`, `,`, a sign or `€`), when it has at most ``NUMBER_DIGITS_SHOWN`` digits."""
    text = clean(str(text))
    if _NUMBER_TEXT.match(text) and sum(ch.isdigit() for ch in text) <= NUMBER_DIGITS_SHOWN:
        return text
    return None


def number_shown(number: float) -> str:
    """A parsed number in a message: as is (`45`), reduced when it has more digits than a count or rent has."""
    text = f"{number:g}"
    if sum(ch.isdigit() for ch in text) <= NUMBER_DIGITS_SHOWN and "e" not in text:
        return text
    return reduced(int(number) if float(number).is_integer() else number)


def date_text(text: str) -> str | None:
    """The date part of a text shaped as a Dutch or ISO date (`31-02-2025`), as typed; ``None`` for any other."""
    m = _DATE_TEXT.match(clean(str(text)))
    return m.group(1) if m else None


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        prev2, prev = prev, row
    return prev[-1]


def near_miss(text: object, known: dict[str, str]) -> str | None:
    """The known value (``known``: ``match_key`` -> how to name it) that ``text`` misspells, if one does.

    A near miss is letters, spaces and hyphens only (a digit may be part of a BSN or a house number), at
    least ``NEAR_MISS_MIN`` letters, one edit away from one known value (two when it has 9 letters or
    more), and nearer to it than to any other. Such a text is the known value the supplier meant; the
    caller may then show it as typed.
    """
    if not isinstance(text, str) or any(ch.isdigit() for ch in text) or len(text) > 60:
        return None
    key = match_key(text)
    if len(key) < NEAR_MISS_MIN or not _LETTER.search(text):
        return None
    memo = _NEAR.get(id(known))
    if memo is None or memo[0] is not known:  # the entry keeps ``known`` alive, so its id is not reused
        if len(_NEAR) > 64:
            _NEAR.clear()
        memo = _NEAR[id(known)] = (known, {})
    if key not in memo[1]:
        memo[1][key] = _nearest(key, known)
    return memo[1][key]


_NEAR: dict[
    int, tuple[dict, dict]
] = {}  # per list of known values: match_key -> its near miss (a bad row each)


def _nearest(key: str, known: dict[str, str]) -> str | None:
    limit = 1 if len(key) < 9 else 2
    best: dict[int, set[str]] = {}
    for candidate, name in known.items():
        d = _distance(key, candidate, limit)
        if 0 < d <= limit:
            best.setdefault(d, set()).add(name)
    for d in sorted(best):
        return next(iter(best[d])) if len(best[d]) == 1 else None
    return None

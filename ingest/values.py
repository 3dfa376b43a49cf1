"""Value parsers of sources.md §2: dates, amounts, counts, booleans, gemeenten, vocabularies.

Each parser takes one cell value (str, number, date, bool, None or an ``ExcelError``) and
returns ``(value, None)`` or ``(None, reason)``; a reason is a code with parameters (``ingest.reasons``)
that names a value that did not parse only in reduced form (``ingest.privacy``).
They are pure, so ``ingest.normalise`` applies them once per distinct value of a column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from ingest.privacy import date_text, number_shown, number_text, reduced
from ingest.reasons import Reden, reden
from ingest.text import clean, match_key

Parsed = tuple[object, Reden | None]

# Excel's error values; calamine returns them as strings in cached cells.
EXCEL_ERRORS = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#UNKNOWN!",
        "#CONNECT!",
        "#BUSY!",
    }
)


@dataclass(frozen=True)
class ExcelError:
    """An Excel error value (``#REF!``...) found in a cell."""

    code: str


def is_empty(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, str) and clean(value) == "")
        or (isinstance(value, float) and value != value)
    )


def as_text(value: object) -> str:
    """A cell as text: integral floats lose Excel's trailing ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    return clean(str(value))


def excel_error(value: object) -> Reden | None:
    """``excel_error`` with the error value (``#REF!``) when the cell holds one."""
    if isinstance(
        value, ExcelError
    ):  # the worker read it from the sheet's XML: any text, unless a known code
        code = value.code if value.code.upper() in EXCEL_ERRORS else reduced(value.code)
        return reden("excel_error", value=code)
    if isinstance(value, str) and clean(value).upper() in EXCEL_ERRORS:
        return reden("excel_error", value=clean(value).upper())
    return None


_DATE_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T].*)?$")
_DATE_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")


def parse_date(value: object) -> Parsed:
    """Real Excel dates; `dd-mm-yyyy`, `d-m-yyyy`, `dd/mm/yyyy`, `yyyy-mm-dd`; a time part is ignored."""
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    text = as_text(value)
    m = _DATE_DMY.match(text)
    if m:
        d, mo, y = (int(x) for x in m.groups())
    else:
        m = _DATE_YMD.match(text)
        if not m:
            return None, reden("not_a_date", value=reduced(text))
        y, mo, d = (int(x) for x in m.groups())
    try:
        return dt.date(y, mo, d), None
    except ValueError:
        if (y, mo, d) == (
            1900,
            2,
            29,
        ):  # Excel's serial 60 (its 1900 leap-year bug): no one's birthday, shown
            return None, reden("not_an_existing_date", value="'29-02-1900'")
        return None, reden("not_an_existing_date", value=f"'{date_text(text)}'")  # date-shaped: as typed


_AMOUNT = re.compile(r"^-?\d+(?:\.\d+)?$")


def _as_typed(value: object) -> str:
    """A number that did not parse, in a message: as typed when it is number-shaped and short, else reduced."""
    typed = number_text(as_text(value)) if isinstance(value, str) else None
    return f"'{typed}'" if typed else reduced(value)


def parse_amount(value: object) -> Parsed:
    """`652,30`, `€ 652,30`, `652.30`, `1.052,30`, `1052.3`: with both separators `.` groups thousands."""
    if isinstance(value, bool):
        return None, reden("not_an_amount", value=reduced(value))
    if isinstance(value, int | float):
        return float(value), None
    text = as_text(value).replace("€", "").replace("EUR", "").replace(" ", "")
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".")
    elif "," in text:
        text = text.replace(",", ".")
    if not _AMOUNT.match(text):
        return None, reden("not_an_amount", value=_as_typed(value))
    return float(text), None


_THOUSANDS = re.compile(r"^-?\d{1,3}(?:\.\d{3})+$")


def parse_count(value: object) -> Parsed:
    """Integers: `1.130` and `1130` are both 1130; a fractional part makes the value bad."""
    if isinstance(value, bool):
        return None, reden("not_a_whole_number", value=reduced(value))
    if isinstance(value, int):
        return value, None
    if isinstance(value, float):
        if value.is_integer():
            return int(value), None
        shown = number_shown(value)
        return None, reden("not_a_whole_number", value=shown if shown.startswith("<") else f"'{shown}'")
    text = as_text(value).replace(" ", "")
    if _THOUSANDS.match(text):
        return int(text.replace(".", "")), None
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return None, reden("not_a_whole_number", value=_as_typed(value))
    if not number.is_integer():
        return None, reden("not_a_whole_number", value=_as_typed(value))
    return int(number), None


def check_range(
    number: float, lo: float | None, hi: float | None, below: float | None, show: bool = True
) -> Reden | None:
    """Why a parsed number breaks its range, if it does; ``show=False`` names it in reduced form (an age)."""
    if (
        lo is not None
        and number < lo
        or hi is not None
        and number > hi
        or below is not None
        and number >= below
    ):
        limits = []
        if lo is not None:
            limits.append(reden("at_least", limit=lo))
        if hi is not None:
            limits.append(reden("at_most", limit=hi))
        if below is not None:
            limits.append(reden("below", limit=below))
        shown = number_shown(number) if show else reduced(f"{number:g}")
        return reden("out_of_range", value=shown, limits=limits)
    return None


def leeftijdsklasse(age: int) -> str:
    """Age band stored instead of the age (sources.md §3.1)."""
    if age < 21:
        return "<21"
    if age <= 22:
        return "21-22"
    if age <= 54:
        return "23-54"
    if age <= 74:
        return "55-74"
    return "75+"


_POSTCODE = re.compile(r"^(\d{4})\s*([A-Za-z]{2})?$")


def parse_pc4(value: object) -> Parsed:
    """A Dutch postcode cut to its 4 digits."""
    m = _POSTCODE.match(as_text(value))
    if not m or m.group(1).startswith("0"):
        return None, reden("not_a_postcode")
    return m.group(1), None


def canonical_inschrijfnummer(value: object) -> str:
    """Trim, upper case, drop Excel's trailing `.0`, drop leading zeros (sources.md §5)."""
    text = as_text(value).upper()
    if text.endswith(".0"):
        text = text[:-2]
    return text.lstrip("0")


def pseudonym(value: object, key: bytes) -> str | None:
    """HMAC-SHA256 of the canonical inschrijfnummer; an empty value stays empty and never links."""
    canon = "" if is_empty(value) else canonical_inschrijfnummer(value)
    if not canon:
        return None
    return hmac.new(key, canon.encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's outer and inner padded keys (RFC 2104): the parameters of ``pseudonym_sql``, in order."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return bytes(b ^ 0x5C for b in block), bytes(b ^ 0x36 for b in block)


def pseudonym_sql(expr: str) -> str:
    """DuckDB SQL for ``pseudonym`` of a text expression; parameters: outer pad, inner pad (``hmac_pads``).

    The canonical form is built as ``canonical_inschrijfnummer`` does (whitespace and no-break spaces
    trimmed, upper case, Excel's `.0` and leading zeros dropped); the HMAC is RFC 2104 over sha256.
    Hashing in DuckDB runs vectorised on both cores: a national delivery holds millions of numbers.
    """
    canon = (
        f"ltrim(regexp_replace(upper(trim(replace(replace({expr}, chr(160), ' '), chr(8239), ' '), "
        f"' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))), '\\.0$', ''), '0')"
    )
    # NULL for an empty identifier flows through nullif, sha256 and ||: no per-row subquery (a third faster)
    return f"sha256(?::BLOB || unhex(sha256(?::BLOB || encode(nullif({canon}, '')))))"


def key_fingerprint(key: bytes) -> str:
    """A fingerprint of the pseudonym key, recorded in the warehouse to refuse a different key."""
    return hmac.new(key, b"fairshare key fingerprint", hashlib.sha256).hexdigest()[:16]


def vocab_key(value: object) -> str:
    return match_key(as_text(value)) if not is_empty(value) else ""

"""Dutch formatting of dates, numbers and shares, as the report, the gate and the run summary write them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

MAANDEN = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]


def opsomming(items: list[str]) -> str:
    """Items as a Dutch list: "a", "a en b", "a, b en c" ("" for none)."""
    return "" if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]


def datum_nl(d: dt.date) -> str:
    return f"{d.day} {MAANDEN[d.month - 1]} {d.year}"


def pct_nl(share: float) -> str:
    """A share as a Dutch percentage with one decimal: 0.031 -> '3,1%'."""
    return f"{100 * share:.1f}".replace(".", ",") + "%"


def leeg(value) -> bool:
    """Missing: None, NaN or pandas' NA."""
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def getal(value, decimals: int = 0) -> str:
    """Dutch number formatting: 1.130 and 6,3; a dash for missing values; never -0 or -0,0."""
    if leeg(value):
        return "–"
    value = round(float(value), decimals)
    if value == 0:
        value = 0.0  # -0.04 rounds to -0.0: show 0,0
    return marks_nl(f"{value:,.{decimals}f}")


def marks_nl(text: str) -> str:
    """A number Python formatted (``1,234.5``) with Dutch marks: ``1.234,5``."""
    return text.replace(",", "_").replace(".", ",").replace("_", ".")

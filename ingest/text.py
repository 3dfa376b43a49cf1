"""Text normalisation shared by header and vocabulary matching."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def clean(value: str) -> str:
    """Strip leading/trailing whitespace, non-breaking spaces included."""
    return value.replace("\xa0", " ").replace("\u202f", " ").strip()


def match_key(value: object) -> str:
    """Case-, whitespace-, accent- and punctuation-insensitive key (`Gemeente van herkomst` -> `gemeentevanherkomst`)."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub("", text.lower())

"""Reasons as codes: why a file was rejected or a row quarantined, as a code with parameters.

A ``Reden`` is stored as its code and parameters (``audit.bestanden.reden_code``/``reden_parameters``,
``audit.quarantaine.reden_codes``/``reden_parameters``) and rendered from the one message table,
``ingest/config/redenen.yaml``: English for the data engineer (the console, the run summary, the stored
``reden``), Dutch for the suppliers and the board. Texts are ``str.format`` templates with ``{parameter}``
placeholders and a few format specs, the same in both languages:

- a number with ``,`` or ``g`` in its spec (``{limit:,}``, ``{needed:,.1f}``): grouped and with the decimal
  mark of the language (``1,234.5`` / ``1.234,5``);
- a list: its items joined by ``, ``; ``{x:q}`` quotes each item (``'a', 'b'``), ``{x:and}`` joins by the
  language's "and";
- ``{x:?one|other}``: ``one`` when ``x`` (a number, or a list's length) is 1, else ``other``;
- a parameter that is a ``Reden`` itself renders in the same language; ``None`` renders as nothing.

Parameters are echoed text: they hold only what ``ingest.privacy`` lets a message show (a reduced value,
a known header, a parsed number), never a raw cell.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from basics.dutch import marks_nl

TABLE = Path(__file__).parent / "config" / "redenen.yaml"
LANGUAGES = ("en", "nl")
_AND = {"en": " and ", "nl": " en "}


@dataclass(frozen=True)
class Reden:
    """One reason: a code of the message table and its parameters (JSON values or nested ``Reden``)."""

    code: str
    params: dict = field(default_factory=dict)

    def render(self, lang: str = "en") -> str:
        """The reason's text in ``lang`` (``en`` or ``nl``); a code or parameter the table lacks raises."""
        return _Formatter(lang).format(text(self.code, lang), **self.params)

    def __str__(self) -> str:
        return self.render("en")

    def to_json(self) -> dict:
        """The parameters as JSON values (a nested reason as ``{"code": ..., "params": ...}``)."""
        return {k: _plain(v) for k, v in self.params.items()}

    @classmethod
    def from_json(cls, code: str, params: dict | str | None) -> Reden:
        """A stored reason back: ``params`` as ``to_json`` made it (or its JSON text)."""
        if isinstance(params, str):
            params = json.loads(params)
        return cls(code, {k: _revived(v) for k, v in (params or {}).items()})


def reden(code: str, **params) -> Reden:
    """``Reden(code, params)`` written as a call: ``reden("not_a_date", value="<9 cijfers>")``."""
    return Reden(code, params)


def _plain(value):
    if isinstance(value, Reden):
        return {"code": value.code, "params": value.to_json()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _revived(value):
    if isinstance(value, dict) and set(value) == {"code", "params"}:
        return Reden.from_json(value["code"], value["params"])
    if isinstance(value, list):
        return [_revived(v) for v in value]
    return value


@cache
def table() -> dict[str, dict[str, str]]:
    """The message table: code -> {"en": ..., "nl": ..., optional "geldig" (Dutch hint), "voorbeeld"}."""
    return yaml.safe_load(TABLE.read_text(encoding="utf-8"))


def text(code: str, lang: str) -> str:
    """The template of one code in one language (``KeyError`` for a code or language the table lacks)."""
    return table()[code][lang]


def hint(r: Reden) -> str | None:
    """What a valid value looks like, in Dutch, where the code's table entry says it (``geldig``)."""
    template = table()[r.code].get("geldig")
    return _Formatter("nl").format(template, **r.params) if template else None


class _Formatter(string.Formatter):
    """``str.format`` with the specs of the module docstring, for one language."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def format_field(self, value, spec: str) -> str:
        if spec.startswith("?"):
            one, _, other = spec[1:].partition("|")
            n = len(value) if isinstance(value, list | tuple) else value
            return one if n == 1 else other
        if value is None:
            return ""
        if isinstance(value, Reden):
            return value.render(self.lang)
        if isinstance(value, list | tuple):
            items = [self.format_field(v, "") for v in value]
            if spec == "q":
                return ", ".join(f"'{v}'" for v in items)
            return (_AND[self.lang] if spec == "and" else ", ").join(items)
        if isinstance(value, int | float) and not isinstance(value, bool) and spec:
            shown = format(value, spec)
            return marks_nl(shown) if self.lang == "nl" else shown
        return format(value, spec)


def column_parts(parts: list[tuple[str, str, Reden]]) -> dict:
    """A quarantined row's problems, one per column (column, header as written, reason), as stored.

    ``kolom`` and ``reden`` are as they always were (``column 'Netto huur' (netto_huur): ...; ...``);
    ``reden_codes`` has each column's code in the same order, ``reden_parameters`` each column's
    ``{"kolom", "kop", "parameters"}``.
    """
    return {
        "kolom": ", ".join(c for c, _, _ in parts),
        "reden": "; ".join(column_reason(c, h, r).render("en") for c, h, r in parts),
        "reden_codes": [r.code for _, _, r in parts],
        "reden_parameters": json.dumps(
            [{"kolom": c, "kop": h, "parameters": r.to_json()} for c, h, r in parts],
            ensure_ascii=False,
            default=str,
        ),
    }


def column_reason(column: str, header: str, r: Reden) -> Reden:
    """One column's problem with its column named: ``column '<header>' (<column>): <reason>``."""
    return reden("column_error", header=header, column=column, error=r)


def stored_parts(codes: list[str] | None, parameters: str | list | None) -> list[tuple[str, str, Reden]]:
    """The per-column problems of a stored quarantine row (``column_parts`` read back)."""
    if not codes:
        return []
    entries = json.loads(parameters) if isinstance(parameters, str) else parameters or []
    return [
        (e["kolom"], e["kop"], Reden.from_json(code, e["parameters"]))
        for code, e in zip(codes, entries, strict=True)
    ]

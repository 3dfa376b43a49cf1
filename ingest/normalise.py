"""Turn a file's recognised columns into canonical, typed rows (sources.md §2-§5).

Every column is parsed once per distinct value (``pandas.factorize``), so a 2-million-row
delivery costs one Python call per distinct cell, not per cell. Values that cannot be read,
break a range, or break a rule across columns make their row bad; bad rows become quarantine
entries holding only the reduced recognised values (pseudonym, pc4, age band).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.config import ColumnSpec, IngestConfig, SourceSpec
from ingest.text import match_key
from ingest.values import (
    as_text,
    check_range,
    excel_error,
    is_empty,
    leeftijdsklasse,
    parse_amount,
    parse_count,
    parse_date,
    parse_pc4,
    pseudonym,
    vocab_key,
)

Scalar = Callable[[object], tuple[object, str | None]]

# Storage types of the canonical output columns (DuckDB types, see warehouse/schema.py).
DATE, INT, FLOAT, BOOL, TEXT = "DATE", "INTEGER", "DOUBLE", "BOOLEAN", "VARCHAR"
_TYPE_OF = {"date": DATE, "amount": FLOAT, "count": INT, "boolean": BOOL, "leeftijd": TEXT}


def output_columns(source: SourceSpec) -> dict[str, str]:
    """Canonical output column -> storage type; reduced columns are renamed (§5)."""
    out: dict[str, str] = {}
    for col in source.columns.values():
        if col.type == "pseudoniem":
            out[f"{col.name}_pseudoniem"] = TEXT
        elif col.type == "postcode":
            out["pc4"] = TEXT
        elif col.type == "leeftijd":
            out["leeftijdsklasse"] = TEXT
        elif col.type == "herkomst":
            out[col.name] = TEXT
            out[f"{col.name}_buiten_regio"] = TEXT
        else:
            out[col.name] = _TYPE_OF.get(col.type, TEXT)
    if source.name == "planregister":
        out["peildatum"] = DATE
    return out


@dataclass
class Normalised:
    """Good rows (typed output columns plus ``_rijnummer``) and the bad rows' quarantine entries."""

    rows: pd.DataFrame
    quarantine: list[dict]


def _apply(values: np.ndarray, fn: Scalar) -> tuple[np.ndarray, np.ndarray]:
    """Apply a scalar parser once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    parsed = [fn(u) for u in uniques]
    out = np.empty(len(parsed), dtype=object)
    err = np.empty(len(parsed), dtype=object)
    for i, (v, e) in enumerate(parsed):
        out[i], err[i] = v, e
    return out[codes], err[codes]


class _Parsers:
    """Scalar parsers per column type, bound to one configuration and pseudonym key."""

    def __init__(self, config: IngestConfig, key: bytes):
        self.config = config
        self.key = key

    def for_column(self, col: ColumnSpec) -> Scalar:
        parse = getattr(self, f"_{col.type}")

        def fn(value: object) -> tuple[object, str | None]:
            err = excel_error(value)
            if err:
                return None, err
            if is_empty(value) and col.type not in ("vocab", "boolean", "herkomst", "commissie"):
                if col.required:
                    return None, "required value is empty"
                return col.default, None
            return parse(value, col)

        return fn

    @staticmethod
    def _ranged(parsed: tuple[object, str | None], col: ColumnSpec) -> tuple[object, str | None]:
        value, err = parsed
        if err is None and value is not None:
            err = check_range(value, col.min, col.max, col.below)
            if err:
                return None, err
        return value, err

    def _id(self, value, col):
        return as_text(value), None

    def _text(self, value, col):
        return as_text(value), None

    def _date(self, value, col):
        return parse_date(value)

    def _amount(self, value, col):
        return self._ranged(parse_amount(value), col)

    def _count(self, value, col):
        return self._ranged(parse_count(value), col)

    def _leeftijd(self, value, col):
        age, err = self._ranged(parse_count(value), col)
        return (None, err) if err else (leeftijdsklasse(age), None)

    def _postcode(self, value, col):
        return parse_pc4(value)

    def _pseudoniem(self, value, col):
        return pseudonym(value, self.key), None

    def _boolean(self, value, col):
        if isinstance(value, bool):
            return value, None
        if is_empty(value) and col.default is not None:
            return col.default, None
        code = self.config.vocabularies["boolean"].lookup.get(vocab_key(value))
        if code is None:
            return None, f"'{as_text(value)}' is not yes/no (ja/nee, j/n, true/false, 1/0, x)"
        return code == "true", None

    def _vocab(self, value, col):
        vocab = self.config.vocabularies[col.vocabulary]
        key = vocab_key(value)
        if key == "":
            if col.empty_value or col.default is not None:
                return col.empty_value or col.default, None
            if "" in vocab.lookup:
                return vocab.lookup[""], None
            return None, "required value is empty" if col.required else None
        code = vocab.lookup.get(key) or vocab.catch_all
        if code is None:
            return None, f"'{as_text(value)}' is not a known {col.vocabulary}"
        return code, None

    def _gemeente(self, value, col):
        code = self.config.gemeente_lookup.get(match_key(as_text(value)))
        if code is None:
            return None, f"'{as_text(value)}' is not a gemeente of Regio Amersfoort"
        return code, None

    def _herkomst(self, value, col):
        """(code | 'buiten_regio' | 'onbekend', original name when buiten_regio)."""
        if is_empty(value) or match_key(as_text(value)) in self.config.herkomst_onbekend:
            return ("onbekend", None), None
        code = self.config.gemeente_lookup.get(match_key(as_text(value)))
        if code is None:
            return ("buiten_regio", as_text(value)), None
        return (code, None), None

    def _commissie(self, value, col):
        if is_empty(value):
            return None, None  # filled from the file name
        key = self.config.commissie_lookup.get(match_key(as_text(value)))
        if key is None:
            return None, f"'{as_text(value)}' is not a known urgency committee"
        return key, None

    def category(self, cat: object, sub: object) -> tuple[tuple[str | None, str | None], str | None]:
        """Resolve the (urgentiecategorie, subcategorie) pair of sources.md §4."""
        lookup = self.config.vocabularies["urgentiecategorie"].lookup
        for v in (cat, sub):
            err = excel_error(v)
            if err:
                return (None, None), err
        c = lookup.get(vocab_key(cat)) if not is_empty(cat) else None
        if not is_empty(cat) and c is None:
            return (None, None), f"'{as_text(cat)}' is not a known urgentiecategorie"
        s = lookup.get(vocab_key(sub)) if not is_empty(sub) else None
        if s is not None and "/" in s:
            if c is not None and not c.startswith("uitstroom"):
                return (None, None), (f"urgentiecategorie '{as_text(cat)}' contradicts subcategorie "
                                      f"'{as_text(sub)}' (an uitstroom subcategory)")
            code = s
        else:
            code = c or s
        if code is None:
            return (None, None), None
        cat_code, _, sub_code = code.partition("/")
        if cat_code == "uitstroom" and not sub_code:
            sub_code = "onbekend"
        return (cat_code, sub_code or None), None


def normalise(cells: pd.DataFrame, rownumbers: np.ndarray, headers: dict[str, str], source: SourceSpec,
              config: IngestConfig, key: bytes, context: dict[str, object]) -> Normalised:
    """Parse the recognised columns of one file (``cells``: canonical name -> raw cell values).

    ``headers`` maps canonical names to the header as written in the file (for messages);
    ``context`` holds what the file name says (``commissie``, ``peildatum``).
    """
    n = len(cells)
    parsers = _Parsers(config, key)
    out: dict[str, np.ndarray] = {}
    errors: dict[str, np.ndarray] = {}
    shown: dict[str, np.ndarray] = {}  # reduced values for the quarantine

    def empty() -> np.ndarray:
        return np.full(n, None, dtype=object)

    for col in source.columns.values():
        if col.type in ("categorie", "subcategorie"):
            continue
        present = col.name in cells.columns
        raw = cells[col.name].to_numpy(dtype=object) if present else None
        if not present:
            values = np.full(n, col.default, dtype=object)
            if col.required:  # cannot happen: the header check rejects the file first
                raise ValueError(f"required column {col.name} missing")
            err = empty()
        else:
            values, err = _apply(raw, parsers.for_column(col))
        errors[col.name] = err
        if col.type == "herkomst":
            out[col.name] = np.array([v[0] if v else None for v in values], dtype=object) if present else \
                np.full(n, "onbekend", dtype=object)
            out[f"{col.name}_buiten_regio"] = np.array([v[1] if v else None for v in values], dtype=object) \
                if present else empty()
        elif col.type == "pseudoniem":
            out[f"{col.name}_pseudoniem"] = values
        elif col.type == "postcode":
            out["pc4"] = values
        elif col.type == "leeftijd":
            out["leeftijdsklasse"] = values
        else:
            out[col.name] = values
        if present:
            if col.type in ("pseudoniem", "postcode", "leeftijd") or col.vocabulary == "afwijzingsgrond":
                shown[col.name] = values  # only the reduced form may leave the file (§5)
            else:
                shown[col.name] = np.array([_display(v) for v in raw], dtype=object)

    if "urgentiecategorie" in source.columns:
        cat = cells["urgentiecategorie"].to_numpy(dtype=object) if "urgentiecategorie" in cells else empty()
        sub = cells["subcategorie"].to_numpy(dtype=object) if "subcategorie" in cells else empty()
        pairs = np.empty(n, dtype=object)
        pairs[:] = list(zip(cat, sub, strict=True))
        values, err = _apply(pairs, lambda p: parsers.category(*p))
        out["urgentiecategorie"] = np.array([v[0] for v in values], dtype=object)
        out["subcategorie"] = np.array([v[1] for v in values], dtype=object)
        errors["urgentiecategorie"] = err
        for name, raw in (("urgentiecategorie", cat), ("subcategorie", sub)):
            if name in cells:
                shown[name] = np.array([_display(v) for v in raw], dtype=object)

    frame = pd.DataFrame(out)
    err_frame = pd.DataFrame(errors)
    _context_columns(frame, source, context)
    _row_rules(frame, err_frame, source)

    bad = err_frame.notna().any(axis=1).to_numpy()
    quarantine = []
    if bad.any():
        shown_frame = pd.DataFrame(shown)
        for i in np.flatnonzero(bad):
            row_errors = [(c, e) for c, e in err_frame.iloc[i].items() if e is not None]
            quarantine.append({
                "rijnummer": int(rownumbers[i]),
                "kolom": ", ".join(c for c, _ in row_errors),
                "reden": "; ".join(f"column '{headers.get(c, c)}' ({c}): {e}" for c, e in row_errors),
                "waarden": json.dumps({k: v for k, v in shown_frame.iloc[i].items() if v is not None},
                                      ensure_ascii=False, default=str),
            })
    good = frame.loc[~bad].copy()
    good["_rijnummer"] = rownumbers[~bad]
    return Normalised(rows=_typed(good, output_columns(source)), quarantine=quarantine)


def _display(value: object) -> str | None:
    err = excel_error(value)
    if err:
        return err.removeprefix("Excel error value ")
    return None if is_empty(value) else as_text(value)


def _context_columns(frame: pd.DataFrame, source: SourceSpec, context: dict[str, object]) -> None:
    """Fill what the file name says: the committee where no column gives it, the peildatum."""
    if source.name == "urgentie":
        frame["commissie"] = frame["commissie"].where(frame["commissie"].notna(), context["commissie"])
    if source.name == "planregister":
        frame["peildatum"] = context["peildatum"]


def _flag(err: pd.DataFrame, column: str, mask: pd.Series, message: str) -> None:
    mask = mask.fillna(False).to_numpy(dtype=bool) & err[column].isna().to_numpy()
    if mask.any():
        col = err[column].to_numpy(dtype=object).copy()
        col[mask] = message
        err[column] = col


def _row_rules(frame: pd.DataFrame, err: pd.DataFrame, source: SourceSpec) -> None:
    """Rules across columns (sources.md §3) and duplicate keys within the file."""
    ok = err.isna()
    if source.name == "urgentie":
        aanvraag = pd.to_datetime(frame["aanvraagdatum"])
        besluit = pd.to_datetime(frame["besluitdatum"])
        _flag(err, "besluitdatum", (besluit < aanvraag) & ok["aanvraagdatum"], "decision date is before the application date")
        decided = frame["besluit"].isin(["toegekend", "afgewezen"])
        _flag(err, "besluitdatum", decided & frame["besluitdatum"].isna() & ok["besluit"],
              "a decided application (toegekend/afgewezen) needs a besluitdatum")
        _flag(err, "urgentiecategorie", (frame["besluit"] == "toegekend") & frame["urgentiecategorie"].isna(),
              "a toegekend application needs an urgentiecategorie")
        _flag(err, "afwijzingsgrond", (frame["besluit"] == "afgewezen") & frame["afwijzingsgrond"].isna(),
              "an afgewezen application needs an afwijzingsgrond")
    if source.name == "planregister":
        total = pd.to_numeric(frame["aantal_woningen"], errors="coerce")
        for col in source.columns.values():
            if not col.segment:
                continue
            count = pd.to_numeric(frame[col.name], errors="coerce")
            _flag(err, col.name, count > total, f"{col.name} is larger than aantal_woningen")
            if col.at_most:
                _flag(err, col.name, count > pd.to_numeric(frame[col.at_most], errors="coerce"),
                      f"{col.name} is larger than {col.at_most}")
    keys = list(source.natural_key)
    present = frame[keys].notna().all(axis=1)
    dup = frame[keys].duplicated(keep=False) & present
    if dup.any():
        id_col = keys[-1]
        counts = frame.loc[dup].groupby(keys, dropna=False)[id_col].transform("size")
        mask = pd.Series(False, index=frame.index)
        mask[dup] = True
        messages = pd.Series(None, index=frame.index, dtype=object)
        messages[dup] = [f"{id_col} '{v}' appears {c} times in this file" for v, c in
                         zip(frame.loc[dup, id_col], counts, strict=True)]
        col = err[id_col].to_numpy(dtype=object).copy()
        free = mask.to_numpy() & err[id_col].isna().to_numpy()
        col[free] = messages.to_numpy()[free]
        err[id_col] = col


def _typed(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Give every output column its storage dtype, so DuckDB need not guess from objects."""
    result = {}
    for name, typ in types.items():
        col = frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)
        if typ == DATE:
            result[name] = pd.to_datetime(col).astype("datetime64[s]") if len(col) else col.astype("datetime64[s]")
        elif typ == INT:
            result[name] = pd.array(col.tolist(), dtype="Int64")
        elif typ == FLOAT:
            result[name] = pd.to_numeric(col).astype("float64")
        elif typ == BOOL:
            result[name] = pd.array(col.tolist(), dtype="boolean")
        else:
            result[name] = col.astype(object)
    result["_rijnummer"] = frame["_rijnummer"].astype("int64")
    return pd.DataFrame(result, index=frame.index)

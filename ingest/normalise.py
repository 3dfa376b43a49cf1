"""Turn a file's recognised columns into canonical, typed rows (sources.md §2-§5).

Every column is parsed once per distinct value (``pandas.factorize``), so a 2-million-row
delivery costs one Python call per distinct cell, not per cell. Values that cannot be read,
break a range, or break a rule across columns make their row bad; bad rows become quarantine
entries holding only the recognised values as the warehouse would store them (pseudonym, pc4,
age band, codes), and a value that did not parse only in reduced form (``ingest.privacy``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from basics.dutch import marks_nl
from ingest import privacy
from ingest.config import ColumnSpec, IngestConfig, SourceSpec
from ingest.reasons import Reden, column_parts, reden
from ingest.text import clean, match_key
from ingest.values import (
    EXCEL_ERRORS,
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

Scalar = Callable[[object], tuple[object, Reden | None]]

# Storage types of the canonical output columns (DuckDB types, see warehouse/schema.py).
DATE, INT, FLOAT, BOOL, TEXT = "DATE", "INTEGER", "DOUBLE", "BOOLEAN", "VARCHAR"
_TYPE_OF = {"date": DATE, "amount": FLOAT, "count": INT, "boolean": BOOL, "leeftijd": TEXT}
NOT_LOADED = "niet_geladen"  # a recognised column that is never read (free text no mart uses)
BUITEN_REGIO_ONBEKEND = "onbekend buiten de regio"  # a herkomst outside the region that is no Dutch gemeente
EMPTY = reden("value_empty")  # one object for every empty required cell
RULED_SOURCES = ("urgentie", "planregister")  # sources with rules across columns or values from the file name
ONBEKENDE_VERHUURDER = "onbekende verhuurder"  # prefix of the keyed placeholder of a landlord not in the seed


def _miss(value: object, known: dict[str, str]) -> str:
    """A value outside its vocabulary, in a message: as typed when it misspells a known value, else reduced."""
    text = as_text(value)
    return f"'{text}'" if privacy.near_miss(text, known) else privacy.reduced(value)


def output_columns(source: SourceSpec) -> dict[str, str]:
    """Canonical output column -> storage type; reduced columns are renamed (§5)."""
    out: dict[str, str] = {}
    for col in source.columns.values():
        if col.type == NOT_LOADED:
            continue
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
    """Good rows (typed output columns plus ``_rijnummer``) and the bad rows' quarantine entries.

    ``pseudonymise`` maps a column of ``rows`` that still holds an identifier as text to the output
    column that must hold its pseudonym: ``warehouse.store`` hashes it in the INSERT (``pseudonym_sql``),
    so the identifier itself is never written.
    """

    rows: pd.DataFrame
    quarantine: list[dict]
    pseudonymise: dict[str, str]
    bad_keys: pd.DataFrame  # natural keys of the bad rows (duplicates across chunks are found in the store)


@dataclass
class _Column:
    """One column parsed per distinct value: ``values[codes]`` and ``errors[codes]`` are the rows'."""

    codes: np.ndarray
    values: np.ndarray
    errors: np.ndarray

    def rows(self) -> np.ndarray:
        return self.values[self.codes]

    def row_errors(self) -> np.ndarray:
        if np.equal(self.errors, None).all():
            return np.full(len(self.codes), None, dtype=object)
        return self.errors[self.codes]


MEMO_SIZE = 100_000  # parsed values kept per column of a file (rents, dates, postcodes repeat across chunks)
_AS_IS = ("id", "text", "pseudoniem")  # types whose parse of a non-empty text is the text itself


def _apply(
    values: np.ndarray, fn: Scalar, col: ColumnSpec | None = None, memo: dict | None = None
) -> _Column:
    """Apply a scalar parser once per distinct value (of the file, when ``memo`` keeps the results across chunks).

    A text column of identifiers (distinct in nearly every row, so factorizing gains nothing) is trimmed
    in one pass instead, with only its empty and Excel-error cells parsed one by one.
    """
    if (
        col is not None
        and col.type in _AS_IS
        and len(values)
        and pd.api.types.infer_dtype(values, skipna=False) == "string"
    ):
        # One comprehension over the cells (no Python call per cell but for the rare odd one).
        out = np.array(
            [v.strip() if "\xa0" not in v and "\u202f" not in v else clean(v) for v in values], dtype=object
        )
        err = np.full(len(out), None, dtype=object)
        for i in [i for i, t in enumerate(out) if not t or t[0] == "#"]:
            out[i], err[i] = fn(out[i])
        return _Column(np.arange(len(out)), out, err)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    out = np.empty(len(uniques), dtype=object)
    err = np.empty(len(uniques), dtype=object)
    if memo is None:
        for i, u in enumerate(uniques):
            out[i], err[i] = fn(u)
        return _Column(codes, out, err)
    room = len(memo) < MEMO_SIZE
    for i, u in enumerate(uniques):
        key = (type(u), u)  # 1, 1.0 and True are equal keys in a dict; their parses may differ
        found = memo.get(key)
        if found is None:
            found = fn(u)
            if room:
                memo[key] = found
        out[i], err[i] = found
    return _Column(codes, out, err)


class _Parsers:
    """Scalar parsers per column type, bound to one configuration and pseudonym key."""

    def __init__(self, config: IngestConfig, key: bytes):
        self.config = config
        self.key = key

    def for_column(self, col: ColumnSpec) -> Scalar:
        parse = getattr(self, f"_{col.type}")

        keeps_empty = col.type in ("vocab", "boolean", "herkomst", "commissie")

        def fn(value: object) -> tuple[object, Reden | None]:
            if type(value) is str:  # csv cells: clean once, the common case
                text = clean(value) if "\xa0" in value or "\u202f" in value else value.strip()
                if text[:1] == "#" and text.upper() in EXCEL_ERRORS:
                    return None, reden("excel_error", value=text.upper())
                if text or keeps_empty:
                    return parse(text, col)
                return (None, EMPTY) if col.required else (col.default, None)
            err = excel_error(value)
            if err:
                return None, err
            if is_empty(value) and not keeps_empty:
                if col.required:
                    return None, EMPTY
                return col.default, None
            return parse(value, col)

        return fn

    @staticmethod
    def _ranged(
        parsed: tuple[object, Reden | None], col: ColumnSpec, show: bool = True
    ) -> tuple[object, Reden | None]:
        value, err = parsed
        if err is None and value is not None:
            err = check_range(value, col.min, col.max, col.below, show=show)
            if err:
                return None, err
        return value, err

    def _id(self, value, col):
        return (value if type(value) is str else as_text(value)), None

    def _text(self, value, col):
        return (value if type(value) is str else as_text(value)), None

    def _date(self, value, col):
        return parse_date(value)

    def _amount(self, value, col):
        return self._ranged(parse_amount(value), col)

    def _count(self, value, col):
        return self._ranged(parse_count(value), col)

    def _leeftijd(self, value, col):
        age, err = self._ranged(parse_count(value), col, show=False)  # an age is stored only as a band
        return (None, err) if err else (leeftijdsklasse(age), None)

    def _postcode(self, value, col):
        return parse_pc4(value)

    def _pseudoniem(self, value, col):
        """The identifier as text; ``warehouse.store`` hashes it on insert (one vectorised HMAC in DuckDB)."""
        return (value if type(value) is str else as_text(value)), None

    def _boolean(self, value, col):
        if isinstance(value, bool):
            return value, None
        if is_empty(value) and col.default is not None:
            return col.default, None
        code = self.config.vocabularies["boolean"].lookup.get(vocab_key(value))
        if code is None:
            return None, reden("not_boolean", value=_miss(value, self.config.spelled("boolean")))
        return code == "true", None

    def _vocab(self, value, col):
        vocab = self.config.vocabularies[col.vocabulary]
        key = vocab_key(value)
        if key == "":
            if col.empty_value or col.default is not None:
                return col.empty_value or col.default, None
            if "" in vocab.lookup:
                return vocab.lookup[""], None
            return None, EMPTY if col.required else None
        code = vocab.lookup.get(key) or vocab.catch_all
        if code is None:
            return None, reden(
                "unknown_value",
                value=_miss(value, self.config.spelled(col.vocabulary)),
                vocabulary=col.vocabulary,
            )
        return code, None

    def _gemeente(self, value, col):
        code = self.config.gemeente_lookup.get(match_key(as_text(value)))
        if code is None:
            if self.config.cbs_gemeente_lookup.get(match_key(as_text(value))):
                name = self.config.cbs_gemeente_lookup[match_key(as_text(value))]
                return None, reden("not_in_region", value=f"'{name}'", region=self.config.regio_naam)
            return None, reden(
                "not_in_region", value=_miss(value, self.config.gemeente_names), region=self.config.regio_naam
            )
        return code, None

    def _herkomst(self, value, col):
        """(code | 'buiten_regio' | 'onbekend', the gemeente's name when buiten_regio).

        The name is kept only when it is a Dutch gemeente (seed ``cbs_gemeenten``); any other text,
        which may be a person's name or address, becomes ``onbekend buiten de regio``.
        """
        if is_empty(value) or match_key(as_text(value)) in self.config.herkomst_onbekend:
            return ("onbekend", None), None
        key = match_key(as_text(value))
        code = self.config.gemeente_lookup.get(key)
        if code is None:
            return ("buiten_regio", self.config.cbs_gemeente_lookup.get(key, BUITEN_REGIO_ONBEKEND)), None
        return (code, None), None

    def _corporatie(self, value, col):
        """The seed's name of a known corporation; otherwise a placeholder with a keyed hash of the text.

        The hash (HMAC with the pseudonym key, of the normalised text) keeps one unknown landlord's rows
        together for the "verhuurder onbekend" warning without storing what the supplier typed.
        """
        key = match_key(as_text(value))
        name = self.config.corporatie_lookup.get(key)
        if name is not None:
            return name, None
        digest = hmac.new(self.key, b"corporatie:" + key.encode("utf-8"), hashlib.sha256).hexdigest()[:10]
        return f"{ONBEKENDE_VERHUURDER} {digest}", None

    def _commissie(self, value, col):
        if is_empty(value):
            return None, None  # filled from the file name
        key = self.config.commissie_lookup.get(match_key(as_text(value)))
        if key is None:
            return None, reden("unknown_committee", value=_miss(value, self.config.commissie_keys))
        return key, None

    def category(self, cat: object, sub: object) -> tuple[tuple[str | None, str | None], Reden | None]:
        """Resolve the (urgentiecategorie, subcategorie) pair of sources.md §4."""
        lookup = self.config.vocabularies["urgentiecategorie"].lookup
        for v in (cat, sub):
            err = excel_error(v)
            if err:
                return (None, None), err
        c = lookup.get(vocab_key(cat)) if not is_empty(cat) else None
        if not is_empty(cat) and c is None:
            return (None, None), reden(
                "unknown_category", value=_miss(cat, self.config.spelled("urgentiecategorie"))
            )
        s = lookup.get(vocab_key(sub)) if not is_empty(sub) else None
        if s is not None and "/" in s:
            if c is not None and not c.startswith("uitstroom"):
                # both are known vocabulary values (they matched): shown as written
                return (None, None), reden(
                    "category_contradicts", category=as_text(cat), subcategory=as_text(sub)
                )
            code = s
        else:
            code = c or s
        if code is None:
            return (None, None), None
        cat_code, _, sub_code = code.partition("/")
        if cat_code == "uitstroom" and not sub_code:
            sub_code = "onbekend"
        return (cat_code, sub_code or None), None


def normalise(
    cells: pd.DataFrame,
    rownumbers: np.ndarray,
    headers: dict[str, str],
    source: SourceSpec,
    config: IngestConfig,
    key: bytes,
    context: dict[str, object],
    row_flags: list[tuple[str, np.ndarray, Reden]] = (),
    memo: dict[str, dict] | None = None,
) -> Normalised:
    """Parse the recognised columns of one file (``cells``: canonical name -> raw cell values).

    ``headers`` maps canonical names to the header as written in the file (for messages);
    ``context`` holds what the file name says (``commissie``, ``peildatum``). Output columns are
    built from the per-distinct-value results with numpy ``take``; only bad rows are looked at one by one.
    ``row_flags`` are problems the reader found (column, rows mask, reason), e.g. a csv line cut short.
    ``memo`` (column -> parsed values) carries parses from one chunk of a file to the next.
    """
    n = len(cells)
    parsers = _Parsers(config, key)
    types = output_columns(source)
    out: dict[str, object] = {}
    errors: dict[str, np.ndarray] = {}
    parsed: dict[str, _Column] = {}
    pseudonymise: dict[str, str] = {}

    for col in source.columns.values():
        if col.type in ("categorie", "subcategorie", NOT_LOADED):
            continue
        if col.name not in cells.columns:
            if col.required:  # cannot happen: the header check rejects the file first
                raise ValueError(f"required column {col.name} missing")
            errors[col.name] = np.full(n, None, dtype=object)
            if col.type == "herkomst":
                out[col.name] = np.full(n, "onbekend", dtype=object)
            elif col.type not in ("pseudoniem", "postcode", "leeftijd"):
                out[col.name] = _typed_column(
                    np.array([col.default], dtype=object), np.zeros(n, dtype=np.intp), types[col.name]
                )
            continue
        column = _apply(
            cells[col.name].to_numpy(dtype=object),
            parsers.for_column(col),
            col,
            None if memo is None or col.type in _AS_IS else memo.setdefault(col.name, {}),
        )
        parsed[col.name] = column
        errors[col.name] = column.row_errors()
        if col.type == "herkomst":
            codes = np.array([v[0] if v else None for v in column.values], dtype=object)
            names = np.array([v[1] if v else None for v in column.values], dtype=object)
            out[col.name] = codes[column.codes]
            out[f"{col.name}_buiten_regio"] = names[column.codes]
        elif col.type == "pseudoniem":
            out[col.name] = column.rows()
            pseudonymise[col.name] = f"{col.name}_pseudoniem"
        else:
            name = {"postcode": "pc4", "leeftijd": "leeftijdsklasse"}.get(col.type, col.name)
            out[name] = _typed_column(column.values, column.codes, types[name])

    if "urgentiecategorie" in source.columns:
        cat = cells["urgentiecategorie"].to_numpy(dtype=object) if "urgentiecategorie" in cells else None
        sub = cells["subcategorie"].to_numpy(dtype=object) if "subcategorie" in cells else None
        cat_codes, cat_values = (
            pd.factorize(cat, use_na_sentinel=False)
            if cat is not None
            else (np.zeros(n, dtype=np.intp), np.array([None], dtype=object))
        )
        sub_codes, sub_values = (
            pd.factorize(sub, use_na_sentinel=False)
            if sub is not None
            else (np.zeros(n, dtype=np.intp), np.array([None], dtype=object))
        )
        # One parse per distinct (categorie, subcategorie) pair, keyed by the pair of codes.
        pair_codes, pairs = pd.factorize(cat_codes.astype(np.int64) * (len(sub_values) + 1) + sub_codes)
        values = np.empty(len(pairs), dtype=object)
        errs = np.empty(len(pairs), dtype=object)
        for i, pair in enumerate(pairs):
            c, s_ = divmod(int(pair), len(sub_values) + 1)
            values[i], errs[i] = parsers.category(cat_values[c], sub_values[s_])
        column = _Column(pair_codes, values, errs)
        out["urgentiecategorie"] = np.array([v[0] for v in values], dtype=object)[pair_codes]
        out["subcategorie"] = np.array([v[1] for v in values], dtype=object)[pair_codes]
        errors["urgentiecategorie"] = column.row_errors()

    frame = pd.DataFrame(out)
    err_frame = pd.DataFrame(errors)
    _context_columns(frame, source, context)
    _row_rules(frame, err_frame, source, headers)
    for column, mask, message in row_flags:  # the reader's finding explains the column's own error: it wins
        col = err_frame[column].to_numpy(dtype=object).copy()
        col[mask] = message
        err_frame[column] = col

    bad = err_frame.notna().any(axis=1).to_numpy()
    quarantine = _quarantine_entries(
        cells, parsed, err_frame, headers, source, config, key, np.flatnonzero(bad), rownumbers
    )
    good = frame.loc[~bad]
    result = {
        name: good[name] if name in good else pd.Series(None, index=good.index, dtype=object)
        for name in types
        if name not in pseudonymise.values()
    }
    result.update({raw: good[raw] for raw in pseudonymise})
    rows = pd.DataFrame(result, index=good.index)
    rows["_rijnummer"] = rownumbers[~bad].astype("int64")
    keys = list(source.natural_key)
    bad_keys = frame.loc[bad, keys].assign(_rijnummer=rownumbers[bad].astype("int64")).dropna()
    return Normalised(rows=rows, quarantine=quarantine, pseudonymise=pseudonymise, bad_keys=bad_keys)


def _typed_column(values: np.ndarray, codes: np.ndarray, typ: str):
    """The distinct values in their storage type, taken per row (no per-row Python objects)."""
    if typ == DATE:
        distinct = pd.to_datetime(pd.Series(values, dtype=object)).to_numpy(dtype="datetime64[s]")
        return distinct[codes]
    if typ == INT:
        return pd.array(list(values), dtype="Int64").take(codes)
    if typ == FLOAT:
        return pd.to_numeric(pd.Series(values, dtype=object)).to_numpy(dtype="float64")[codes]
    if typ == BOOL:
        return pd.array(list(values), dtype="boolean").take(codes)
    return values[codes]


def _quarantine_entries(
    cells: pd.DataFrame,
    parsed: dict[str, _Column],
    err: pd.DataFrame,
    headers: dict[str, str],
    source: SourceSpec,
    config: IngestConfig,
    key: bytes,
    bad: np.ndarray,
    rownumbers: np.ndarray,
) -> list[dict]:
    """The quarantine entries of the bad rows (positions ``bad``), in row order.

    The bad rows' cells, parses and errors are taken out of the frames once, as plain arrays: a pandas lookup
    per cell (``iloc``, ``iat``) cost about a millisecond per bad row.
    """
    if not len(bad):
        return []
    names = list(cells.columns)
    raws = [cells[name].to_numpy(dtype=object)[bad] for name in names]
    results = []
    for name in names:
        column = parsed.get(name)
        if column is None:
            results.append(None)
            continue
        codes = column.codes[bad]
        results.append((column.errors[codes], column.values[codes]))
    err_names = list(err.columns)
    err_rows = err.to_numpy(dtype=object)[bad]
    entries = []
    for j, i in enumerate(bad):
        row = {}
        for name, raw, result in zip(names, raws, results, strict=True):
            if result is None:
                row[name] = (raw[j], True, None)
            else:
                ok = result[0][j] is None
                row[name] = (raw[j], ok, result[1][j] if ok else None)
        row_errors = [(c, e) for c, e in zip(err_names, err_rows[j], strict=True) if e is not None]
        entries.append(_quarantine_entry(row, row_errors, headers, source, config, key, int(rownumbers[i])))
    return entries


def _quarantine_entry(
    row: dict[str, tuple[object, bool, object]],
    row_errors: list[tuple[str, Reden]],
    headers: dict[str, str],
    source: SourceSpec,
    config: IngestConfig,
    key: bytes,
    rijnummer: int,
) -> dict:
    """One bad row: where, why, its recognised values as the warehouse would store them (§5, §6), and as read.

    ``waarden`` (for the data engineer and the checks): a value that parsed as stored (code, date, number,
    pseudonym, pc4, age band); one that did not only as its kind and length (``ingest.privacy``).
    ``getoond`` (for the supplier's list): each recognised column by its header in the file, with the value as
    the supplier typed it wherever the privacy rule lets it through (``as_read``), else in its reduced form.
    """
    categories = config.vocabularies["urgentiecategorie"].lookup
    shown: dict[str, object] = {}
    read: list[dict] = []
    for name, (raw, ok, stored) in row.items():
        col = source.columns[name]
        if excel_error(raw):
            value = excel_error(raw).params["value"]
        elif is_empty(raw):
            value = None
        elif col.type == "pseudoniem":
            value = pseudonym(raw, key)
        elif col.type in ("categorie", "subcategorie"):
            value = as_text(raw) if vocab_key(raw) in categories else privacy.reduced(raw)
        else:
            value = stored if ok else privacy.reduced(raw)
            if col.type == "herkomst" and isinstance(value, tuple):
                value = value[1] or value[0]
        if value is not None:
            shown[name] = value
        text, bedoeld = as_read(raw, col, stored, ok, config)
        if text is not None:
            read.append({"kolom": name, "kop": headers.get(name, name), "waarde": text, "bedoeld": bedoeld})
    return {
        "rijnummer": rijnummer,
        **column_parts([(c, headers.get(c, c), e) for c, e in row_errors]),
        "waarden": json.dumps(shown, ensure_ascii=False, default=str),
        "getoond": json.dumps(read, ensure_ascii=False),
    }


def _number_nl(value: float) -> str | None:
    """A real Excel number in Dutch form (`652,3`), when the privacy rule shows a number that long."""
    text = f"{value:g}"
    return privacy.number_text(marks_nl(text)) if "e" not in text else None


def as_read(
    raw: object, col: ColumnSpec, stored: object, ok: bool, config: IngestConfig
) -> tuple[str | None, str | None]:
    """A cell as the supplier's list shows it: (the text, the known value it misspells or stands for).

    As typed where the privacy rule (``ingest.privacy``) lets it through: a vocabulary or reference value
    that matched or that it misspells, an id (stored as it is), a date or short number as typed (a real
    Excel date or number in Dutch form), a boolean as ja/nee. Reduced where §5 reduces it (postcode to pc4,
    age to its band, a pseudonym not at all) and for any other text (a landlord not in the list, a catch-all
    route, a herkomst that is no gemeente): those may hold a name.
    """
    if excel_error(raw):
        return excel_error(raw).params["value"], None
    if (
        is_empty(raw) or col.type == "pseudoniem"
    ):  # a pseudonym means nothing to the supplier: the row number does
        return None, None
    if col.type in ("postcode", "leeftijd"):
        return (str(stored) if ok else privacy.reduced(raw)), None
    if col.type == "id":
        return as_text(raw), None
    if col.type == "boolean" and ok and stored is not None:
        return ("ja" if stored else "nee"), None
    if col.type == "date":
        if isinstance(raw, dt.datetime | dt.date):
            return raw.strftime("%d-%m-%Y"), None
        return (privacy.date_text(as_text(raw)) or privacy.reduced(raw)), None
    if col.type in ("amount", "count"):
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return (_number_nl(float(raw)) or privacy.reduced(raw)), None
        typed = privacy.number_text(as_text(raw)) if isinstance(raw, str) else None
        return (typed or privacy.reduced(raw)), None
    return _read_listed(raw, col, config)


def _read_listed(raw: object, col: ColumnSpec, config: IngestConfig) -> tuple[str, str | None]:
    """A cell of a column with a vocabulary or reference list: as typed when it is on the list or misspells
    a value of it, else reduced."""
    text, key = as_text(raw), match_key(as_text(raw))
    t = col.type
    if t in ("gemeente", "herkomst"):
        name = _gemeente_name(key, config)
        if name is not None:  # by its name, also where the supplier typed a code or a woonplaats
            same = key in (match_key(name), match_key(f"Gemeente {name}"))
            return (text if same else f"{text} (gemeente {name})"), None
        if t == "herkomst" and key in config.herkomst_onbekend:
            return text, None
        return _miss_read(text, config.gemeente_names, raw)
    if t in ("corporatie", "commissie"):
        lookup = config.corporatie_lookup if t == "corporatie" else config.commissie_lookup
        return (
            (text, None)
            if key in lookup
            else _miss_read(text, config.commissie_keys if t == "commissie" else lookup, raw)
        )
    if t in ("vocab", "categorie", "subcategorie", "boolean"):
        name = {"vocab": col.vocabulary, "boolean": "boolean"}.get(t, "urgentiecategorie")
        if (
            t != "boolean" and vocab_key(raw) in config.vocabularies[name].lookup
        ):  # exact; a catch-all takes anything
            return text, None
        return _miss_read(text, config.spelled(name), raw)
    return privacy.reduced(raw), None


def _gemeente_name(key: str, config: IngestConfig) -> str | None:
    """The name of the gemeente a text names (a region gemeente by code, name or woonplaats; any Dutch one)."""
    code = config.gemeente_lookup.get(key)
    if code is not None:
        return next(g["gemeente_naam"] for g in config.gemeenten if g["gemeente_code"] == code)
    return config.cbs_gemeente_lookup.get(key)


def _miss_read(text: str, known: dict[str, str], raw: object) -> tuple[str, str | None]:
    meant = privacy.near_miss(text, known)
    return (text, meant) if meant else (privacy.reduced(raw), None)


def shown_as_stored(row: dict, headers: dict[str, str], source: SourceSpec, config: IngestConfig) -> str:
    """``getoond`` of a row that loaded and then turned out bad (a key twice across chunks of one file).

    Its cells are gone by then; what was stored is shown in the supplier's terms: the header in the file,
    a gemeente by its name, a date as dd-mm-yyyy, a boolean as ja/nee, a number in Dutch form.
    """
    names = {g["gemeente_code"]: g["gemeente_naam"] for g in config.gemeenten}
    read = []
    for name, col in source.columns.items():
        value = row.get(name)
        if (
            col.type in ("pseudoniem", NOT_LOADED)
            or value is None
            or (not isinstance(value, str) and pd.isna(value))
        ):
            continue
        if col.type == "gemeente":
            text = names.get(value, value)
        elif col.type == "date":
            text = pd.Timestamp(value).strftime("%d-%m-%Y")
        elif col.type == "boolean":
            text = "ja" if value else "nee"
        elif col.type in ("amount", "count"):
            text = _number_nl(float(value)) or privacy.reduced(value)
        elif col.type in ("id", "corporatie", "commissie") and not str(value).startswith(
            ONBEKENDE_VERHUURDER
        ):
            text = str(value)
        else:
            continue  # a code or band the supplier never typed: their row number finds it
        read.append({"kolom": name, "kop": headers.get(name, name), "waarde": text, "bedoeld": None})
    return json.dumps(read, ensure_ascii=False)


def _context_columns(frame: pd.DataFrame, source: SourceSpec, context: dict[str, object]) -> None:
    """Fill what the file name says: the committee where no column gives it, the peildatum."""
    if source.name == "urgentie":
        frame["commissie"] = frame["commissie"].where(frame["commissie"].notna(), context["commissie"])
    if source.name == "planregister":
        frame["peildatum"] = np.datetime64(context["peildatum"], "s")


def _flag(err: pd.DataFrame, column: str, mask: pd.Series, message: Reden) -> None:
    mask = mask.fillna(False).to_numpy(dtype=bool) & err[column].isna().to_numpy()
    if mask.any():
        col = err[column].to_numpy(dtype=object).copy()
        col[mask] = message
        err[column] = col


def _header(name: str, headers: dict[str, str], source: SourceSpec) -> str:
    """A column as the supplier knows it: its header in the file, else the first header the contract lists."""
    return headers.get(name) or (source.columns[name].headers or (name,))[0]


def _row_rules(frame: pd.DataFrame, err: pd.DataFrame, source: SourceSpec, headers: dict[str, str]) -> None:
    """Rules across columns (sources.md §3) and duplicate keys within the file.

    A reason names the other column by the supplier's header (``total_header``), beside the canonical name
    the data engineer reads in English.
    """
    ok = err.isna()
    if source.name == "urgentie":
        # already datetime64 (``_typed_column``); to_datetime would still walk every value to decide on a cache
        aanvraag, besluit = frame["aanvraagdatum"], frame["besluitdatum"]
        _flag(
            err,
            "besluitdatum",
            (besluit < aanvraag) & ok["aanvraagdatum"],
            reden("decision_before_application"),
        )
        decided = frame["besluit"].isin(["toegekend", "afgewezen"])
        _flag(
            err,
            "besluitdatum",
            decided & frame["besluitdatum"].isna() & ok["besluit"],
            reden("decision_date_missing"),
        )
        _flag(
            err,
            "urgentiecategorie",
            (frame["besluit"] == "toegekend") & frame["urgentiecategorie"].isna(),
            reden("category_missing"),
        )
        _flag(
            err,
            "afwijzingsgrond",
            (frame["besluit"] == "afgewezen") & frame["afwijzingsgrond"].isna(),
            reden("rejection_ground_missing"),
        )
    if source.name == "planregister":
        total = pd.to_numeric(frame["aantal_woningen"], errors="coerce")
        for col in source.columns.values():
            if not col.segment:
                continue
            count = pd.to_numeric(frame[col.name], errors="coerce")
            _flag(
                err,
                col.name,
                count > total,
                reden(
                    "larger_than",
                    column=col.name,
                    total="aantal_woningen",
                    total_header=_header("aantal_woningen", headers, source),
                ),
            )
            if col.at_most:
                _flag(
                    err,
                    col.name,
                    count > pd.to_numeric(frame[col.at_most], errors="coerce"),
                    reden(
                        "larger_than",
                        column=col.name,
                        total=col.at_most,
                        total_header=_header(col.at_most, headers, source),
                    ),
                )
    keys = list(source.natural_key)
    present = frame[keys].notna().all(axis=1)
    dup = frame[keys].duplicated(keep=False) & present
    if dup.any():
        id_col = keys[-1]
        counts = frame.loc[dup].groupby(keys, dropna=False)[id_col].transform("size")
        mask = pd.Series(False, index=frame.index)
        mask[dup] = True
        messages = pd.Series(None, index=frame.index, dtype=object)
        messages[dup] = [
            reden("duplicate_key", column=id_col, value=v, count=int(c))
            for v, c in zip(frame.loc[dup, id_col], counts, strict=True)
        ]
        col = err[id_col].to_numpy(dtype=object).copy()
        free = mask.to_numpy() & err[id_col].isna().to_numpy()
        col[free] = messages.to_numpy()[free]
        err[id_col] = col

"""The two yardsticks of ``fairshare bench``: the peer and the limit, both computing `marts.fair_share`.

- peer: what a data engineer would write by hand: ``pandas.read_excel(engine="openpyxl")`` /
  ``read_csv`` of every file, then the fair-share mart in pandas (header synonyms, vocabularies and
  gemeente names from the same configuration, latest delivery wins, legal categories, telt_mee).
- limit: every file parsed once with the fastest reader here (DuckDB's parallel csv reader,
  calamine for xlsx) plus one DuckDB SQL from the parsed cells to the mart.

Neither validates, quarantines, pseudonymises or keeps history: they bound what the work costs.
Both return (gemeente_code, jaar, urgentiecategorie, gehuisvest) for comparison with the mart.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from basics import region, seeds
from ingest.config import TOEWIJZINGEN, load_config
from ingest.headers import synonyms
from ingest.readers import sniff_encoding
from ingest.text import match_key

TOEWIJZING_COLUMNS = [
    "toewijzing_id",
    "gemeente",
    "toewijzingsdatum",
    "toewijzingsroute",
    "urgentiecategorie",
    "subcategorie",
    "corporatie",
]
RULE_KEYS = ("gemeente_code", "urgentiecategorie", "subcategorie")
DATE_FORMATS = ["%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"]


def _files(landing: Path) -> list[tuple[str, Path]]:
    return [
        (p.parent.name, p)
        for p in sorted(landing.glob("*/*"))
        if p.suffix in (".xlsx", ".csv") and not p.name.startswith(("~$", "."))
    ]


def _leverdatum(path: Path) -> dt.date:
    return dt.date.fromisoformat(path.stem.rsplit("_", 1)[1])


def _csv_dialect(path: Path) -> tuple[str, str]:
    encoding = sniff_encoding(path)  # UTF-8 only if the whole file is
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    first = head.decode(encoding, "replace").splitlines()[0]
    return encoding, ";" if first.count(";") > first.count(",") else ","


def _header(rows: list[list], lookup: dict[str, str]) -> tuple[int, dict[int, str]]:
    for i, row in enumerate(rows[:50]):
        cols = {
            j: lookup[match_key(str(v))]
            for j, v in enumerate(row)
            if v is not None and match_key(str(v)) in lookup
        }
        if "toewijzing_id" in cols.values() and "toewijzingsdatum" in cols.values():
            return i, cols
    raise ValueError("no header")


class _Reference:
    """Lookups both yardsticks share: the pipeline's own configuration and seeds."""

    def __init__(self):
        cfg = load_config()
        self.headers = synonyms(cfg.sources[TOEWIJZINGEN])
        self.gemeente = cfg.gemeente_lookup
        self.categorie = cfg.vocabularies["urgentiecategorie"].lookup
        self.route = cfg.vocabularies["toewijzingsroute"].lookup
        gemeenten = region.read_seed("gemeenten.csv")
        self.in_scope = [g["gemeente_code"] for g in gemeenten if seeds.flag(g["in_afspraak"])]
        self.wettelijk = sorted(
            {
                r["urgentiecategorie"]
                for r in region.read_seed("urgentiecategorieen.csv")
                if seeds.flag(r["wettelijk"])
            }
        )
        # the counting rules as int_toewijzingen reads them: empty = '*', an empty year leaves the period open
        self.uitzonderingen = [
            {
                **{c: (r.get(c) or "").strip() or "*" for c in RULE_KEYS},
                "corporatie": ((r.get("corporatie") or "").strip() or "*").lower(),
                "jaar_van": int(r["jaar_van"]) if (r.get("jaar_van") or "").strip() else 0,
                "jaar_tot": int(r["jaar_tot"]) if (r.get("jaar_tot") or "").strip() else 9999,
            }
            for r in region.read_seed("telt_mee_uitzonderingen.csv")
        ]


def _peildatum(latest: dt.date) -> dt.date:
    """As int_peildatum: the latest 1 April or 1 November on or before the latest extraction of the allocations."""
    for candidate in (
        dt.date(latest.year, 11, 1),
        dt.date(latest.year, 4, 1),
        dt.date(latest.year - 1, 11, 1),
    ):
        if latest >= candidate:
            return candidate
    raise ValueError(latest)


def peer(landing: Path) -> pd.DataFrame:
    """The hand-written pandas approach."""
    ref = _Reference()
    frames = []
    for bron, path in _files(landing):
        if path.suffix == ".xlsx":
            raw = pd.read_excel(path, engine="openpyxl", header=None, dtype=object)
        else:
            encoding, sep = _csv_dialect(path)
            raw = pd.read_csv(path, sep=sep, encoding=encoding, header=None, dtype=str, keep_default_na=False)
        if bron != TOEWIJZINGEN:
            continue
        pos, cols = _header(raw.head(50).values.tolist(), ref.headers)
        df = raw.iloc[pos + 1 :, list(cols)].set_axis(list(cols.values()), axis=1)
        df = df.reindex(columns=TOEWIJZING_COLUMNS)
        df["leverdatum"] = _leverdatum(path)
        frames.append(df)
    allocs = pd.concat(frames, ignore_index=True)
    allocs = allocs[allocs["toewijzing_id"].notna() & (allocs["toewijzing_id"].astype(str).str.strip() != "")]
    allocs = allocs.sort_values("leverdatum", kind="stable").drop_duplicates("toewijzing_id", keep="last")

    def key(s: pd.Series) -> pd.Series:
        return s.fillna("").astype(str).str.lower().str.replace(r"[\W_]+", "", regex=True)

    datum = pd.Series(pd.NaT, index=allocs.index, dtype="datetime64[ns]")
    raw_dates = allocs["toewijzingsdatum"]
    is_datetime = raw_dates.map(lambda v: isinstance(v, dt.datetime))
    datum[is_datetime] = pd.to_datetime(raw_dates[is_datetime])
    text = raw_dates[~is_datetime].astype(str).str.strip()
    for fmt in DATE_FORMATS:
        missing = datum.isna() & ~is_datetime
        datum[missing] = pd.to_datetime(text[missing[~is_datetime]], format=fmt, errors="coerce")
    cat = key(allocs["urgentiecategorie"]).map(ref.categorie)
    sub = key(allocs["subcategorie"]).map(ref.categorie)
    code = sub.where(sub.str.contains("/", na=False), cat.fillna(sub))
    parts = code.str.partition("/")
    df = pd.DataFrame(
        {
            "gemeente_code": key(allocs["gemeente"]).map(ref.gemeente),
            "datum": datum,
            "route": key(allocs["toewijzingsroute"]).map(ref.route),
            "urgentiecategorie": parts[0],
            "subcategorie": parts[2].where(parts[2] != "", None),
            "corporatie": allocs["corporatie"].fillna("").astype(str).str.strip().str.lower(),
        }
    )
    peildatum = _peildatum(max(_leverdatum(p) for b, p in _files(landing) if b == TOEWIJZINGEN))
    data_tot = pd.Timestamp(peildatum - dt.timedelta(days=1))
    df = df[
        (df["datum"] <= data_tot)
        & df["gemeente_code"].isin(ref.in_scope)
        & df["urgentiecategorie"].isin(ref.wettelijk)
        & (df["route"] != "statushouder")
    ]
    uitgezonderd = pd.Series(False, index=df.index)
    for r in ref.uitzonderingen:
        jaar = df["datum"].dt.year
        uitgezonderd |= (
            ((r["gemeente_code"] == "*") | (df["gemeente_code"] == r["gemeente_code"]))
            & ((r["urgentiecategorie"] == "*") | (df["urgentiecategorie"] == r["urgentiecategorie"]))
            & ((r["subcategorie"] == "*") | (df["subcategorie"] == r["subcategorie"]))
            & ((r["corporatie"] == "*") | (df["corporatie"] == r["corporatie"]))
            & (jaar >= r["jaar_van"])
            & (jaar <= r["jaar_tot"])
        )
    df = df[~uitgezonderd].assign(jaar=df["datum"].dt.year)
    counts = (
        df.groupby(["gemeente_code", "jaar", "urgentiecategorie"]).size().rename("gehuisvest").reset_index()
    )
    first_year = int(df["jaar"].min())
    grid = pd.MultiIndex.from_product(
        [ref.in_scope, range(first_year, data_tot.year + 1), ref.wettelijk],
        names=["gemeente_code", "jaar", "urgentiecategorie"],
    ).to_frame(index=False)
    out = grid.merge(counts, how="left", on=["gemeente_code", "jaar", "urgentiecategorie"])
    out["gehuisvest"] = out["gehuisvest"].fillna(0).astype(int)
    opgaven = pd.DataFrame(region.read_seed("opgaven.csv"))
    opgaven = opgaven.assign(
        jaar=[
            list(range(int(a), int(b) + 1))
            for a, b in zip(opgaven["jaar_van"], opgaven["jaar_tot"], strict=True)
        ]
    ).explode("jaar")
    opgaven["jaar"] = opgaven["jaar"].astype(int)
    opgaven["opgave"] = opgaven["opgave"].astype(int)
    out = out.merge(
        opgaven[["gemeente_code", "jaar", "urgentiecategorie", "opgave"]],
        how="left",
        on=["gemeente_code", "jaar", "urgentiecategorie"],
    )
    maanden = out["jaar"].map(lambda j: 12 if j < data_tot.year else data_tot.month)
    out["opgave_naar_rato"] = out["opgave"] * maanden / 12
    out["verschil"] = out["gehuisvest"] - out["opgave_naar_rato"]
    return out[["gemeente_code", "jaar", "urgentiecategorie", "gehuisvest"]]


def limit(landing: Path) -> pd.DataFrame:
    """Fastest parse of every file plus one DuckDB SQL for the mart."""
    from python_calamine import CalamineWorkbook

    ref = _Reference()
    conn = duckdb.connect()
    tmp = tempfile.TemporaryDirectory()
    selects = []
    for i, (bron, path) in enumerate(_files(landing)):
        if path.suffix == ".xlsx":
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            if bron != TOEWIJZINGEN:
                continue
            pos, cols = _header(rows, ref.headers)
            frame = pd.DataFrame(
                [[r[j] for j in cols] for r in rows[pos + 1 :]], columns=list(cols.values()), dtype=object
            )
            frame["toewijzingsdatum"] = [
                v.strftime("%Y-%m-%d") if isinstance(v, dt.datetime) else v for v in frame["toewijzingsdatum"]
            ]
            conn.register(f"f{i}", frame.astype(str))
            mapping = {name: name for name in cols.values()}
        else:
            encoding, sep = _csv_dialect(path)
            source = path
            if encoding == "cp1252":  # DuckDB reads UTF-8 and strict Latin-1 only: transcode on the fly
                source = Path(tmp.name) / path.name
                with (
                    open(path, encoding="cp1252", errors="replace", newline="") as src,
                    open(source, "w", encoding="utf-8", newline="") as dst,
                ):
                    while block := src.read(1 << 24):
                        dst.write(block)
            conn.execute(
                f"CREATE TEMP TABLE f{i} AS SELECT * FROM read_csv(?, all_varchar = true, header = false, "
                f"delim = ?, null_padding = true, strict_mode = false)",
                [str(source), sep],
            )
            if bron != TOEWIJZINGEN:
                continue
            with open(path, encoding=encoding, errors="replace", newline="") as fh:
                pos, cols = _header([next(csv.reader(fh, delimiter=sep))], ref.headers)
            names = [r[0] for r in conn.execute(f"DESCRIBE f{i}").fetchall()]
            mapping = {name: names[j] for j, name in cols.items()}
            conn.execute(f"DELETE FROM f{i} WHERE rowid = 0")  # the header row
        select = ", ".join(
            f"{mapping[c]} AS {c}" if c in mapping else f"NULL::VARCHAR AS {c}" for c in TOEWIJZING_COLUMNS
        )
        selects.append(f"SELECT {select}, DATE '{_leverdatum(path)}' AS leverdatum FROM f{i}")
    for name, lookup in (
        ("gemeente_lk", ref.gemeente),
        ("categorie_lk", ref.categorie),
        ("route_lk", ref.route),
    ):
        conn.register(name, pd.DataFrame({"k": list(lookup), "v": list(lookup.values())}))
    conn.register("opgaven_src", pd.DataFrame(region.read_seed("opgaven.csv")))
    conn.register(
        "uitzonderingen",
        pd.DataFrame(ref.uitzonderingen, columns=[*RULE_KEYS, "corporatie", "jaar_van", "jaar_tot"]),
    )
    peildatum = _peildatum(max(_leverdatum(p) for b, p in _files(landing) if b == TOEWIJZINGEN))
    key = "regexp_replace(lower(strip_accents(coalesce({}, ''))), '[^a-z0-9]', '', 'g')"
    dates = ", ".join(f"try_strptime(trim(toewijzingsdatum), '{f}')" for f in DATE_FORMATS)
    return conn.execute(f"""
        WITH leveringen AS ({" UNION ALL BY NAME ".join(selects)}),
        actueel AS (SELECT * FROM leveringen WHERE trim(coalesce(toewijzing_id, '')) <> ''
                    QUALIFY row_number() OVER (PARTITION BY toewijzing_id ORDER BY leverdatum DESC) = 1),
        getypt AS (
            SELECT g.v AS gemeente_code, CAST(coalesce({dates}) AS DATE) AS datum, r.v AS route,
                   lower(trim(coalesce(a.corporatie, ''))) AS corporatie,
                   CASE WHEN s.v LIKE '%/%' THEN s.v ELSE coalesce(c.v, s.v) END AS code
            FROM actueel AS a
            LEFT JOIN gemeente_lk AS g ON g.k = {key.format("a.gemeente")}
            LEFT JOIN route_lk AS r ON r.k = {key.format("a.toewijzingsroute")}
            LEFT JOIN categorie_lk AS c ON c.k = {key.format("a.urgentiecategorie")}
            LEFT JOIN categorie_lk AS s ON s.k = {key.format("a.subcategorie")}),
        geteld AS (
            SELECT gemeente_code, year(datum) AS jaar, split_part(code, '/', 1) AS urgentiecategorie,
                   nullif(split_part(code, '/', 2), '') AS subcategorie, corporatie
            FROM getypt
            WHERE datum < DATE '{peildatum}' AND gemeente_code IN ({", ".join(f"'{g}'" for g in ref.in_scope)})
              AND split_part(code, '/', 1) IN ({", ".join(f"'{c}'" for c in ref.wettelijk)})
              AND route IS DISTINCT FROM 'statushouder'),
        telt AS (SELECT gemeente_code, jaar, urgentiecategorie, count(*) AS gehuisvest FROM geteld AS t
                 WHERE NOT EXISTS (SELECT 1 FROM uitzonderingen AS u
                                   WHERE u.gemeente_code IN ('*', t.gemeente_code)
                                   AND u.urgentiecategorie IN ('*', t.urgentiecategorie)
                                   AND u.subcategorie IN ('*', t.subcategorie)
                                   AND u.corporatie IN ('*', t.corporatie)
                                   AND t.jaar BETWEEN u.jaar_van AND u.jaar_tot)
                 GROUP BY ALL),
        grid AS (SELECT g.gemeente_code, j.jaar, c.urgentiecategorie
                 FROM (SELECT unnest([{", ".join(f"'{g}'" for g in ref.in_scope)}]) AS gemeente_code) AS g,
                      (SELECT unnest(range((SELECT min(jaar) FROM geteld), year(DATE '{peildatum}' - 1) + 1)) AS jaar) AS j,
                      (SELECT unnest([{", ".join(f"'{c}'" for c in ref.wettelijk)}]) AS urgentiecategorie) AS c),
        opgaven AS (SELECT gemeente_code, unnest(range(jaar_van::int, jaar_tot::int + 1)) AS jaar, urgentiecategorie,
                           opgave::int AS opgave FROM opgaven_src)
        SELECT grid.gemeente_code, grid.jaar::int AS jaar, grid.urgentiecategorie,
               coalesce(t.gehuisvest, 0)::int AS gehuisvest,
               o.opgave * CASE WHEN grid.jaar < year(DATE '{peildatum}' - 1) THEN 12
                               ELSE month(DATE '{peildatum}' - 1) END / 12.0 AS opgave_naar_rato
        FROM grid LEFT JOIN telt AS t USING (gemeente_code, jaar, urgentiecategorie)
        LEFT JOIN opgaven AS o USING (gemeente_code, jaar, urgentiecategorie)
        ORDER BY ALL""").df()[["gemeente_code", "jaar", "urgentiecategorie", "gehuisvest"]]

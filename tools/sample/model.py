"""The canonical truth behind the sample landing folder: allocations, registrations, plans.

Calibrated to the region's reference seeds (never to literals here): allocations in 2024 per gemeente
and the 2022-2024 suitability funnel are exact (times ``scale``); urgent allocations from 2025
relate to the targets as the region's ``steekproef.yaml`` tells (its centrumgemeente above its part,
several others below). ``files.py`` writes this truth as messy supplier exports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import yaml

from basics import region, seeds

END = dt.date(2026, 10, 31)  # last day of data in the sample
FUNNEL_YEARS = (2022, 2023, 2024)
BASE_YEAR = 2024

UITSTROOM_MIX = {"mo": 0.3, "bw": 0.3, "vo": 0.1, "jeugd": 0.15, "detentie": 0.1, "onbekend": 0.05}
BUITEN_REGIO = ["Utrecht", "Apeldoorn", "Hilversum", "Zeist", "Ede", "Amsterdam"]


class SampleError(ValueError):
    """The pack's seeds cannot tell the sample's story (one sentence naming the seed file): a configuration
    problem of the pack, found before any file is written."""


def calibration(regio: str | None = None) -> dict:
    """The region's ``steekproef.yaml``: the story its sample tells (defaults where a key is absent)."""
    path = region.regio_dir(regio) / "steekproef.yaml"
    # An empty file (or one of comments only) is no calibration at all: YAML reads it as None.
    cal = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None) or {}
    return {
        "prestatie": {},
        "centrumgemeente": None,
        "lokaal": {},
        "lokaal_standaard": 0.5,
        "uitstroom_mix": {},
        "buiten_afspraak_per_jaar": 240,
        "postcodes": {},
        "plannen": {},
        "plannen_standaard": 15,
        "aandeel_eerste_verhuurder": 0.7,  # of the allocations by landlords outside the cooperation
        "advies": {"subcategorieen": ["mo", "bw", "vo"], "aandeel": 0.4, "aandeel_afgewezen": 0.1},
        **cal,
    }


@dataclass
class Reference:
    """What the generator takes from the seeds."""

    gemeenten: list[dict[str, str]]
    basis_2024: dict[str, int]
    funnel: dict[str, int]
    thresholds: dict[int, dict[str, float]]
    samenwerkend: list[str]
    other_landlords: list[str]
    targets: dict[tuple[str, int, str], int]  # (gemeente, year, category) -> yearly target
    cal: dict  # the region's steekproef.yaml
    commissies: list[dict[str, str]]  # the region's seed commissies, in its order
    regio_naam: str = ""

    @property
    def centrum(self) -> str:
        return self.cal["centrumgemeente"] or self.in_scope[0]

    @property
    def advies_van(self) -> dict[str, str]:
        """gemeente -> the advisory committee (soort advies) that advises on its applications: the first that
        lists it, of any number (none: the region has no advisory team)."""
        out: dict[str, str] = {}
        for c in self.commissies:
            if c["soort"] == "advies":
                for g in c["gemeenten"].split():
                    out.setdefault(g, c["commissie"])
        return out

    @property
    def commissie_van(self) -> dict[str, str]:
        """gemeente -> the committee (own or regional) that decides its applications."""
        return {
            g: c["commissie"]
            for c in self.commissies
            if c["soort"] != "advies"
            for g in c["gemeenten"].split()
        }

    @property
    def in_scope(self) -> list[str]:
        return [g["gemeente_code"] for g in self.gemeenten if seeds.flag(g["in_afspraak"])]

    @property
    def outside(self) -> list[str]:
        return [g["gemeente_code"] for g in self.gemeenten if not seeds.flag(g["in_afspraak"])]

    def threshold(self, year: int) -> dict[str, float]:
        return self.thresholds.get(year) or self.thresholds[min(self.thresholds, key=lambda y: abs(y - year))]


def load_reference(regio: str | None = None) -> Reference:
    targets = {}
    for r in region.read_seed("opgaven.csv", regio):
        for year in range(int(r["jaar_van"]), int(r["jaar_tot"]) + 1):
            targets[(r["gemeente_code"], year, r["urgentiecategorie"])] = int(r["opgave"])
    corps = region.read_seed("corporaties.csv", regio)
    return Reference(
        gemeenten=region.read_seed("gemeenten.csv", regio),
        basis_2024={
            r["gemeente_code"]: int(r["toewijzingen_2024"])
            for r in region.read_seed("basis_toewijzingen_2024.csv", regio)
        },
        funnel={r["stap"]: int(r["aantal"]) for r in region.read_seed("geschiktheid_referentie.csv", regio)},
        thresholds={
            int(r["jaar"]): {k: float(v) for k, v in r.items() if k not in ("jaar", "voorlopig", "bron")}
            for r in region.read_seed("huurgrenzen.csv", regio)
        },
        samenwerkend=[c["corporatie"] for c in corps if seeds.flag(c["samenwerkend"])],
        other_landlords=[c["corporatie"] for c in corps if not seeds.flag(c["samenwerkend"])],
        targets=targets,
        cal=calibration(regio),
        commissies=region.read_seed("commissies.csv", regio),
        regio_naam=region.read_seed("regio.csv", regio)[0]["regio_naam"],
    )


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder split of an exact total."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(raw - out)[::-1][: total - out.sum()]] += 1
    return out


def _dates(rng: np.random.Generator, year: int, n: int, end: dt.date) -> np.ndarray:
    start = np.datetime64(f"{year}-01-01")
    last = np.datetime64(min(dt.date(year, 12, 31), end).isoformat())
    days = (last - start).astype(int) + 1
    return start + rng.integers(0, days, n).astype("timedelta64[D]")


def allocations(rng: np.random.Generator, ref: Reference, scale: int, start_year: int) -> pd.DataFrame:
    """One row per allocation, start_year-01-01 .. END, with the funnel exact for 2022-2024."""
    frames = []
    base = np.array([ref.basis_2024[g] for g in ref.in_scope], dtype=float)
    funnel_total = ref.funnel["toewijzingen"] * scale
    first_two = funnel_total - int(base.sum()) * scale  # 2022 + 2023, exact
    year_2022 = round(first_two * 0.505)
    for year in range(start_year, END.year + 1):
        months = 12 if year < END.year else END.month
        if year == BASE_YEAR:
            counts = (base * scale).astype(int)
        elif year == 2022:
            counts = _split(year_2022, base)
        elif year == 2023:
            counts = _split(first_two - year_2022, base)
        else:
            growth = 1.0 + 0.03 * (year - BASE_YEAR) + rng.normal(0, 0.02)
            counts = np.round(base * scale * growth * months / 12).astype(int)
        codes = list(ref.in_scope) + list(ref.outside)
        counts = list(counts) + [round(ref.cal["buiten_afspraak_per_jaar"] * scale * months / 12)] * len(
            ref.outside
        )
        for g, n in zip(codes, counts, strict=True):
            frames.append(
                pd.DataFrame({"gemeente": g, "jaar": year, "toewijzingsdatum": _dates(rng, year, n, END)})
            )
    df = pd.concat(frames, ignore_index=True)
    n = len(df)
    df["profiel"] = rng.choice(list("ABCDEF"), n, p=_profile_probabilities(ref))
    funnel_rows = df.index[df["jaar"].isin(FUNNEL_YEARS) & df["gemeente"].isin(ref.in_scope)].to_numpy()
    if len(funnel_rows) == funnel_total:  # the calibrated span is present
        df.loc[funnel_rows, "profiel"] = rng.permutation(_profile_list(ref, scale))
    _dwelling(rng, ref, df)
    df["gepersonaliseerde_huur"] = (df["profiel"].isin(["C", "D"]) & (rng.random(n) < 0.21)) | (
        (df["profiel"] == "B") & (rng.random(n) < 0.05)
    )
    if len(funnel_rows) == funnel_total:
        cd = funnel_rows[df.loc[funnel_rows, "profiel"].isin(["C", "D"]).to_numpy()]
        df.loc[cd, "gepersonaliseerde_huur"] = False
        df.loc[
            rng.choice(cd, ref.funnel["boven_lage_gepersonaliseerd"] * scale, replace=False),
            "gepersonaliseerde_huur",
        ] = True
    df["toewijzingsroute"] = rng.choice(
        ["regulier", "statushouder", "direct_bemiddeling", "overig"], n, p=[0.89, 0.07, 0.03, 0.01]
    )
    for col in ("urgentiecategorie", "subcategorie"):
        df[col] = None
    _urgent(rng, ref, df, scale, funnel_rows if len(funnel_rows) == funnel_total else None)
    _household(rng, ref, df)
    df = df.sort_values(["toewijzingsdatum", "gemeente"], kind="stable").reset_index(drop=True)
    years_of = pd.to_datetime(df["toewijzingsdatum"]).dt.year.astype(str)
    df["toewijzing_id"] = (
        "TW" + years_of + "-" + pd.Series(np.arange(1, len(df) + 1)).astype(str).str.zfill(7)
    )
    return df


def _profile_counts(ref: Reference, scale: int) -> dict[str, int]:
    f = {k: v * scale for k, v in ref.funnel.items()}
    return {
        "A": f["toewijzingen"] - f["swev"],
        "B": f["swev"] - f["swev_max_3_kamers"],
        "C": f["swev_max_3_kamers"] - f["tot_hoge_aftoppingsgrens"],
        "D": f["tot_hoge_aftoppingsgrens"] - f["tot_lage_aftoppingsgrens"],
        "E": f["tot_lage_gelabeld"],
        "F": f["tot_lage_aftoppingsgrens"] - f["tot_lage_gelabeld"],
    }


def _profile_list(ref: Reference, scale: int) -> np.ndarray:
    return np.concatenate([np.full(n, p) for p, n in _profile_counts(ref, scale).items()])


def _profile_probabilities(ref: Reference) -> list[float]:
    counts = _profile_counts(ref, 1)
    total = sum(counts.values())
    return [counts[p] / total for p in "ABCDEF"]


def _dwelling(rng: np.random.Generator, ref: Reference, df: pd.DataFrame) -> None:
    """Landlord, rooms, rent and label per funnel profile; rents relative to the year's thresholds."""
    n = len(df)
    p = df["profiel"].to_numpy()
    years = df["jaar"].to_numpy()
    lage = np.array([ref.threshold(y)["lage_aftoppingsgrens"] for y in years])
    hoge = np.array([ref.threshold(y)["hoge_aftoppingsgrens"] for y in years])
    maxh = np.array([ref.threshold(y)["maximale_huurgrens_huurtoeslag"] for y in years])
    korting = np.array([ref.threshold(y)["kwaliteitskortingsgrens"] for y in years])
    u = rng.random(n)
    rent = np.where(
        p == "A",
        450 + u * 650,
        np.where(
            p == "B",
            lage - 40 + u * (maxh - lage + 80),
            np.where(
                p == "C",
                hoge + 0.01 + u * (maxh + 60 - hoge),
                np.where(
                    p == "D", lage + 0.01 + u * (hoge - lage - 0.01), korting - 90 + u * (lage - korting + 90)
                ),
            ),
        ),
    )
    rent = np.floor(rent * 100) / 100
    on_edge = np.isin(p, ["E", "F"]) & (rng.random(n) < 0.01)  # rents exactly at the (inclusive) threshold
    rent[on_edge] = lage[on_edge]
    df["netto_huur"] = rent
    rooms_small = rng.choice([1, 2, 3], n, p=[0.2, 0.45, 0.35])
    df["aantal_kamers"] = np.where(
        p == "B",
        rng.choice([4, 5, 6], n, p=[0.7, 0.25, 0.05]),
        np.where(p == "A", rng.choice([1, 2, 3, 4, 5], n), rooms_small),
    )
    df["corporatie"] = np.where(
        p == "A", _other_landlords(rng, ref, p == "A", n), rng.choice(ref.samenwerkend, n)
    )
    labelled = rng.choice(["senioren", "jongeren"], n, p=[0.65, 0.35])
    df["label"] = np.where(
        p == "E", labelled, np.where(np.isin(p, ["C", "D"]) & (rng.random(n) < 0.1), labelled, "geen")
    )


def _other_landlords(rng: np.random.Generator, ref: Reference, wanted: np.ndarray, n: int) -> np.ndarray:
    """A landlord outside the cooperation for each of n allocations: the first of the seed's takes
    ``aandeel_eerste_verhuurder`` (steekproef.yaml), the others share the rest equally; any number of them."""
    others = ref.other_landlords
    if not others:  # every landlord cooperates: the funnel must then count no allocation by another one
        if wanted.any():
            raise SampleError(
                "seeds/corporaties.csv lists no landlord outside the cooperation, but "
                "seeds/geschiktheid_referentie.csv counts allocations by others (more toewijzingen than by the cooperating corporations)"
            )
        return np.full(n, None, dtype=object)
    first = ref.cal["aandeel_eerste_verhuurder"] if len(others) > 1 else 1.0
    # Rounded: 1 - 0.7 is 0.30000000000000004, and two landlords must draw exactly as with [0.7, 0.3].
    rest = round((1.0 - first) / (len(others) - 1), 12) if len(others) > 1 else 0.0
    shares = [first] + [rest] * (len(others) - 1)
    return rng.choice(others, n, p=shares)


def _urgent_counts(rng: np.random.Generator, ref: Reference, year: int, g: str, scale: int) -> dict[str, int]:
    """Urgent allocations per category for one gemeente and year."""
    months = 12 if year < END.year else END.month
    perf = ref.cal["prestatie"].get(g, 1.0) if year >= 2025 else 0.8
    ref_year = (
        year if (g, year, "uitstroom") in ref.targets else min(y for (gg, y, _) in ref.targets if gg == g)
    )
    out = {}
    for cat in ("mantelzorg", "medisch", "uitstroom", "uitstap_sekswerk"):
        target = ref.targets[(g, ref_year, cat)] * scale * months / 12
        out[cat] = (
            int(rng.poisson(target * perf))
            if target * perf < 5
            else round(target * perf * rng.normal(1, 0.04))
        )
    return out


def _urgent(
    rng: np.random.Generator, ref: Reference, df: pd.DataFrame, scale: int, funnel_rows: np.ndarray | None
) -> None:
    """Mark urgent allocations (category, subcategory, route) in dwellings of the cooperating corporations; six outside them."""
    free = (df["profiel"] != "A") & (df["toewijzingsroute"] != "statushouder") & (df["aantal_kamers"] <= 3)
    groups = df[free].groupby(["gemeente", "jaar"]).groups
    chosen_idx, cats, subs = [], [], []
    for (g, year), idx in groups.items():
        if g not in ref.in_scope:
            counts = {"uitstroom": int(rng.poisson(6 * scale)), "medisch": int(rng.poisson(scale))}
        else:
            counts = _urgent_counts(rng, ref, year, g, scale)
        # Outside the agreement but urgent all the same: klinische GGZ, begeleid wonen, local urgencies.
        extra_ggz = int(rng.poisson(0.06 * counts.get("uitstroom", 0) + 0.3 * scale))
        counts["begeleid_wonen"] = int(rng.poisson(0.3 * scale))
        counts["lokaal"] = int(rng.poisson(ref.cal["lokaal"].get(g, ref.cal["lokaal_standaard"]) * scale))
        pool = rng.permutation(np.asarray(idx))
        k = 0
        for cat, c in counts.items():
            for _ in range(min(c, len(pool) - k)):
                chosen_idx.append(pool[k])
                k += 1
                cats.append(cat)
                if cat == "uitstroom":
                    mix = ref.cal["uitstroom_mix"].get(g, UITSTROOM_MIX)
                    subs.append(rng.choice(list(mix), p=list(mix.values())))
                else:
                    subs.append(None)
        for _ in range(min(extra_ggz, len(pool) - k)):
            chosen_idx.append(pool[k])
            k += 1
            cats.append("uitstroom")
            subs.append("ggz")
    df.loc[chosen_idx, "urgentiecategorie"] = cats
    df.loc[chosen_idx, "subcategorie"] = subs
    df.loc[chosen_idx, "toewijzingsroute"] = rng.choice(
        ["urgentie", "direct_bemiddeling"], len(chosen_idx), p=[0.93, 0.07]
    )
    if funnel_rows is not None:  # footnote 5: a handful of urgent house seekers with other landlords
        a_rows = funnel_rows[
            (df.loc[funnel_rows, "profiel"] == "A").to_numpy()
            & (df.loc[funnel_rows, "toewijzingsroute"] != "statushouder").to_numpy()
        ]
        pick = rng.choice(a_rows, ref.funnel["urgent_niet_swev"] * scale, replace=False)
        df.loc[pick, "urgentiecategorie"] = rng.choice(["uitstroom", "medisch"], len(pick), p=[0.7, 0.3])
        df.loc[pick, "subcategorie"] = np.where(df.loc[pick, "urgentiecategorie"] == "uitstroom", "mo", None)
        df.loc[pick, "toewijzingsroute"] = "urgentie"
    df["huisvestingsvergunning_urgentie"] = df["urgentiecategorie"].notna() & (
        df["toewijzingsroute"] == "urgentie"
    )


def _household(rng: np.random.Generator, ref: Reference, df: pd.DataFrame) -> None:
    """Origin, registration number, postcode, household size and age."""
    n = len(df)
    urgent = df["urgentiecategorie"].notna().to_numpy()
    gem = df["gemeente"].to_numpy()
    region = np.array(ref.in_scope + ref.outside)
    u = rng.random(n)
    other = rng.choice(region, n)
    herkomst = np.where(
        u < 0.62,
        gem,
        np.where(
            u < 0.8,
            np.where(rng.random(n) < 0.6, ref.centrum, other),
            np.where(u < 0.9, rng.choice(BUITEN_REGIO, n), "onbekend"),
        ),
    )
    df["herkomst_werkelijk"] = np.where(
        herkomst == "onbekend", np.where(rng.random(n) < 0.7, gem, ref.centrum), herkomst
    )
    df["herkomstgemeente"] = herkomst
    df.loc[~urgent & (rng.random(n) < 0.3), "herkomstgemeente"] = "onbekend"
    df["inschrijfnummer"] = rng.choice(np.arange(10_000, 99_999_999), n, replace=False)
    pc = ref.cal["postcodes"]
    lo = np.array([pc.get(g, (3800, 3800))[0] for g in gem])
    hi = np.array([pc.get(g, (3800, 3800))[1] for g in gem])
    letters = np.array(list("ABCDEGHJKLMNPRSTVWXZ"))
    digits = pd.Series(lo + (rng.random(n) * (hi - lo + 1)).astype(int), index=df.index).astype(str)
    df["postcode"] = digits + " " + rng.choice(letters, n) + rng.choice(letters, n)
    df["huishoudgrootte"] = rng.choice([1, 2, 3, 4, 5, 6], n, p=[0.45, 0.25, 0.13, 0.1, 0.05, 0.02])
    senior = df["label"].to_numpy() == "senioren"
    young = df["label"].to_numpy() == "jongeren"
    df["leeftijd"] = np.where(
        senior, rng.integers(55, 95, n), np.where(young, rng.integers(18, 23, n), rng.integers(18, 90, n))
    )


def registrations(
    rng: np.random.Generator, ref: Reference, allocs: pd.DataFrame, scale: int, start: dt.date
) -> pd.DataFrame:
    """Urgency applications: a granted one behind every urgent allocation, plus refused and pending ones."""
    comm = ref.commissie_van
    advies = ref.cal["advies"]
    urgent = allocs[allocs["urgentiecategorie"].notna() & allocs["gemeente"].isin(ref.in_scope)]
    n = len(urgent)
    alloc_date = pd.to_datetime(urgent["toewijzingsdatum"]).to_numpy()
    besluit = alloc_date - rng.integers(7, 250, n).astype("timedelta64[D]")
    housed = pd.DataFrame(
        {
            "inschrijfnummer": urgent["inschrijfnummer"].to_numpy(),
            "urgentiecategorie": urgent["urgentiecategorie"].to_numpy(),
            "subcategorie": urgent["subcategorie"].to_numpy(),
            "herkomstgemeente": urgent["herkomst_werkelijk"].to_numpy(),
            "besluit": "toegekend",
            "besluitdatum": besluit,
            "woning_gemeente": urgent["gemeente"].to_numpy(),
        }
    )
    by_advies = housed["subcategorie"].isin(advies["subcategorieen"]).to_numpy() & (
        rng.random(n) < advies["aandeel"]
    )
    team = (
        housed["herkomstgemeente"].map(ref.advies_van).fillna(housed["woning_gemeente"].map(ref.advies_van))
    )
    by_advies &= team.notna().to_numpy()
    own = housed["herkomstgemeente"].map(comm)
    housed["commissie"] = np.where(by_advies, team, own.fillna(housed["woning_gemeente"].map(comm)))
    elsewhere = housed["herkomstgemeente"] != housed["woning_gemeente"]
    housed["contra_indicatie"] = (
        elsewhere & (housed["urgentiecategorie"] == "uitstroom") & (rng.random(n) < 0.3)
    )

    span_days = (END - start).days

    def random_dates(k: int) -> np.ndarray:
        return np.datetime64(start.isoformat()) + rng.integers(30, span_days, k).astype("timedelta64[D]")

    k_wait = round(0.18 * n)
    waiting = housed.sample(k_wait, random_state=int(rng.integers(1 << 31)), replace=True).assign(
        besluitdatum=random_dates(k_wait),
        contra_indicatie=False,
        inschrijfnummer=rng.choice(np.arange(100_000_000, 199_999_999), k_wait, replace=False),
    )
    k_ref = round(0.9 * (n + k_wait))
    refused = pd.DataFrame(
        {
            "inschrijfnummer": rng.choice(np.arange(200_000_000, 299_999_999), k_ref, replace=False),
            "urgentiecategorie": rng.choice(
                ["uitstroom", "medisch", "mantelzorg", "lokaal", None], k_ref, p=[0.3, 0.25, 0.1, 0.15, 0.2]
            ),
            "subcategorie": None,
            "besluit": "afgewezen",
            "besluitdatum": random_dates(k_ref),
            "herkomstgemeente": rng.choice(ref.in_scope, k_ref),
            "contra_indicatie": False,
            "afwijzingsgrond": rng.choice(
                [
                    "geen_urgentiecategorie",
                    "zelf_oplosbaar",
                    "niet_ingeschreven",
                    "onvoldoende_binding",
                    "inkomen_te_hoog",
                    "overig",
                ],
                k_ref,
                p=[0.35, 0.3, 0.08, 0.12, 0.07, 0.08],
            ),
        }
    )
    refused.loc[refused["urgentiecategorie"] == "uitstroom", "subcategorie"] = "onbekend"
    team = refused["herkomstgemeente"].map(ref.advies_van)
    refused["commissie"] = np.where(
        (rng.random(k_ref) < advies["aandeel_afgewezen"]) & team.notna().to_numpy(),
        team,
        refused["herkomstgemeente"].map(comm),
    )
    k_in = round(0.05 * (n + k_wait))
    withdrawn = refused.sample(k_in, random_state=int(rng.integers(1 << 31))).assign(
        besluit="ingetrokken",
        afwijzingsgrond=None,
        inschrijfnummer=rng.choice(np.arange(300_000_000, 399_999_999), k_in, replace=False),
    )
    k_pend = max(3, round(0.04 * (n + k_wait)))
    pending = housed.sample(k_pend, random_state=int(rng.integers(1 << 31)), replace=True).assign(
        besluit="in_behandeling",
        # no decision yet: NaT in the unit of the other frames' dates (a NaT scalar would be nanoseconds, whose
        # all-empty column pandas leaves out of the concatenation's dtype only with a FutureWarning)
        besluitdatum=np.full(k_pend, np.datetime64("NaT"), dtype=housed["besluitdatum"].dtype),
        contra_indicatie=False,
        aanvraagdatum=np.datetime64(END.isoformat()) - rng.integers(1, 60, k_pend).astype("timedelta64[D]"),
        inschrijfnummer=rng.choice(np.arange(400_000_000, 499_999_999), k_pend, replace=False),
    )
    regs = pd.concat([housed, waiting, refused, withdrawn, pending], ignore_index=True)
    regs = regs.drop(columns=["woning_gemeente"], errors="ignore")
    regs["besluitdatum"] = pd.to_datetime(regs["besluitdatum"])
    missing = regs["aanvraagdatum"].isna() if "aanvraagdatum" in regs else pd.Series(True, index=regs.index)
    doorloop = pd.to_timedelta(rng.gamma(3.0, 14.0, len(regs)).astype(int) + 5, unit="D")
    regs["aanvraagdatum"] = pd.to_datetime(regs.get("aanvraagdatum")).where(
        ~missing, regs["besluitdatum"] - doorloop
    )
    regs["geldig_tot"] = (regs["besluitdatum"] + pd.Timedelta(days=365)).where(
        (regs["besluit"] == "toegekend") & (rng.random(len(regs)) < 0.85)
    )
    regs = regs[regs["aanvraagdatum"] <= pd.Timestamp(END)].sort_values("aanvraagdatum", kind="stable")
    regs["registratie_id"] = (
        regs["commissie"].str[:3].str.upper()
        + "-"
        + regs["aanvraagdatum"].dt.year.astype(str)
        + "-"
        + pd.Series(np.arange(1, len(regs) + 1), index=regs.index).astype(str).str.zfill(5)
    )
    return regs.reset_index(drop=True)


def plans(
    rng: np.random.Generator, ref: Reference, scale: int, snapshots: list[dt.date]
) -> dict[dt.date, pd.DataFrame]:
    """Housing plans per snapshot, moving zacht -> hard -> in_aanbouw -> gerealiseerd between snapshots."""
    per_gemeente = ref.cal["plannen"] or {
        g["gemeente_code"]: ref.cal["plannen_standaard"] for g in ref.gemeenten
    }
    order = ["zacht", "hard", "in_aanbouw", "gerealiseerd"]
    rows = []
    for g, k in per_gemeente.items():
        for i in range(k * scale):
            size = int(rng.choice([8, 12, 20, 35, 60, 120, 250], p=[0.15, 0.2, 0.2, 0.2, 0.13, 0.08, 0.04]))
            rows.append(
                {
                    "plan_id": f"{g[2:]}-{i + 1:04d}",
                    "gemeente": g,
                    "aantal_woningen": size,
                    "fase": int(rng.choice(4, p=[0.4, 0.25, 0.2, 0.15])),
                    "plannaam": f"{rng.choice(['Wonen aan de', 'Project', 'Hof van', 'Kwartier'])} "
                    f"{rng.choice(['Eem', 'Beek', 'Linde', 'Molen', 'Haven', 'Brink'])} {i + 1}",
                    "transformatie": bool(rng.random() < 0.12),
                }
            )
    base = pd.DataFrame(rows)
    n = len(base)
    sociaal = np.floor(base["aantal_woningen"] * rng.uniform(0.2, 0.5, n)).astype(int)
    base["sociale_huur"] = sociaal
    base["sociale_huur_tot_aftoppingsgrens"] = np.floor(sociaal * rng.uniform(0.5, 0.9, n)).astype(int)
    base["middenhuur"] = np.floor(base["aantal_woningen"] * rng.uniform(0, 0.25, n)).astype(int)
    base["betaalbare_koop"] = np.floor(base["aantal_woningen"] * rng.uniform(0, 0.25, n)).astype(int)
    base["nultreden"] = np.floor(base["aantal_woningen"] * rng.uniform(0.1, 0.6, n)).astype(int)
    base["zorggeschikt"] = np.floor(base["nultreden"] * rng.uniform(0, 0.4, n)).astype(int)
    base["geclusterd"] = np.where(
        rng.random(n) < 0.25, np.floor(base["nultreden"] * rng.uniform(0.2, 0.8, n)), 0
    ).astype(int)
    out = {}
    current = base.copy()
    for k, peil in enumerate(snapshots):
        if k:
            advance = rng.random(len(current)) < 0.35
            current.loc[advance, "fase"] = np.minimum(current.loc[advance, "fase"] + 1, 3)
            extra = base.sample(max(1, round(0.05 * n)), random_state=int(rng.integers(1 << 31))).assign(
                fase=0
            )
            extra["plan_id"] = [f"{p}-N{k}" for p in extra["plan_id"]]
            current = pd.concat([current, extra], ignore_index=True)
        snap = current.copy()
        snap["status"] = [order[f] for f in snap["fase"]]
        done = snap["status"] == "gerealiseerd"
        new_done = (
            done & ~snap["plan_id"].isin(out[snapshots[k - 1]].query("status == 'gerealiseerd'")["plan_id"])
            if k
            else done
        )
        jaar = np.where(
            new_done,
            peil.year,
            np.where(
                done,
                peil.year - 1,
                np.where(
                    snap["status"].isin(["hard", "in_aanbouw"]), peil.year + rng.integers(1, 4, len(snap)), 0
                ),
            ),
        )
        previous = out[snapshots[k - 1]].set_index("plan_id")["oplevering_jaar"] if k else None
        snap["oplevering_jaar"] = [None if j == 0 else int(j) for j in jaar]
        if previous is not None:  # a plan realised earlier keeps its year
            keep = done & ~new_done & snap["plan_id"].isin(previous.index)
            snap.loc[keep, "oplevering_jaar"] = snap.loc[keep, "plan_id"].map(previous)
        out[peil] = snap.drop(columns=["fase"])
        # Realised plans stay in the register one more snapshot, then leave it.
        current = current[~(current["fase"].eq(3) & (rng.random(len(current)) < 0.5))]
    return out

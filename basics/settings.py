"""One settings object for every path and secret, fed by command-line flags and the environment.

Nothing reads the environment at import time: ``Settings.from_env`` is called when a run starts.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from dataclasses import dataclass, replace
from pathlib import Path

from basics import region

# The documented, non-secret key of demo/dev mode (README, "Pseudonymisation"). Never for real data.
DEMO_KEY = "fairshare-demo-sleutel-niet-geheim"
MIN_KEY_LENGTH = 32  # characters; `secrets.token_urlsafe(32)` gives 43


def is_meeting_date(day: dt.date) -> bool:
    """1 April (for the May board) or 1 November (for December): the peildata of the monitor."""
    return (day.month, day.day) in ((4, 1), (11, 1))


class ConfigError(Exception):
    """A usage or configuration error (exit status 2)."""


class _WrittenName:
    """A path as the pipeline writes or removes it: by its name in its (resolved) folder, and as the file it
    resolves to (a symbolic link, ``..`` and a relative path all lead to the same file)."""

    def __init__(self, path: Path):
        self.path = path
        self.resolved = Path(os.path.realpath(path))
        self.folder = Path(os.path.realpath(path.parent))
        self.by_name = self.folder / path.name

    @property
    def exists_as_file(self) -> bool:
        return self.resolved.is_file()

    def _forms(self) -> set[Path]:
        return {self.resolved, self.by_name}

    def same(self, other: _WrittenName) -> bool:
        return bool(self._forms() & other._forms())

    def matches(self, folder: Path, pattern: str) -> bool:
        """Whether a glob of ``pattern`` in ``folder`` (resolved) would find this file."""
        return any(p.parent == folder and fnmatch.fnmatchcase(p.name, pattern) for p in self._forms())

    def inside(self, folder: Path) -> bool:
        return any(p.is_relative_to(folder) for p in self._forms())


# The FAIRSHARE_* variables and the setting each one gives when it is set (not empty).
_PATH_VARIABLES = (
    ("landing", "FAIRSHARE_LANDING"),
    ("warehouse", "FAIRSHARE_WAREHOUSE"),
    ("reports", "FAIRSHARE_REPORTS"),
    ("serving", "FAIRSHARE_SERVING"),
    ("duiding", "FAIRSHARE_DUIDING"),
)
_TEXT_VARIABLES = (  # kept as text here; the settle interval becomes a number in ``Settings.from_env``
    ("pseudonym_key", "FAIRSHARE_PSEUDONYM_KEY"),
    ("publish_postgres_dsn", "FAIRSHARE_PUBLISH_POSTGRES_DSN"),
    ("postgres_reader_password", "FAIRSHARE_POSTGRES_READER_PASSWORD"),
    ("settle_seconds", "FAIRSHARE_SETTLE_SECONDS"),
)


def _from_environment(env: dict[str, str]) -> dict[str, object]:
    """The settings the environment gives (an empty variable counts as unset)."""
    values: dict[str, object] = {field: Path(env[var]) for field, var in _PATH_VARIABLES if env.get(var)}
    values.update({field: env[var] for field, var in _TEXT_VARIABLES if env.get(var)})
    if env.get("FAIRSHARE_DEMO", "").lower() in ("1", "true", "ja", "yes"):
        values["demo"] = True
    if env.get("FAIRSHARE_PDF", "").lower() in ("0", "false", "nee", "no"):
        values["pdf"] = False
    return values


def _choose_region(values: dict[str, object], env: dict[str, str]) -> None:
    """The region (flag, else FAIRSHARE_REGIO, else the default) must have a pack; any region but the default
    gets its own folders under ``data/regio/<regio>/`` where no path was given."""
    regio = str(values.get("regio") or env.get("FAIRSHARE_REGIO") or region.DEFAULT_REGIO)
    try:
        region.regio_dir(regio)
    except region.UnknownRegion as exc:
        raise ConfigError(str(exc)) from exc
    values["regio"] = regio
    if regio != region.DEFAULT_REGIO:  # a region of its own: its own folders unless given
        base = Path("data") / "regio" / regio
        for field, default in (
            ("landing", "landing"),
            ("warehouse", "warehouse/fairshare.duckdb"),
            ("reports", "reports"),
            ("duiding", "duiding"),
        ):
            values.setdefault(field, base / default)


@dataclass(frozen=True)
class Settings:
    """Where the data lives and how to pseudonymise it, for one region.

    The default region keeps the default paths below; any other region defaults to its own folders under
    ``data/regio/<regio>/`` (landing, warehouse, reports, serving): regions never share a file.
    """

    landing: Path = Path("data/landing")
    warehouse: Path = Path("data/warehouse/fairshare.duckdb")
    reports: Path = Path("data/reports")
    serving: Path | None = None
    pseudonym_key: str | None = None
    demo: bool = False
    peildatum: dt.date | None = None
    publish_postgres_dsn: str | None = None
    postgres_reader_password: str | None = None
    adhoc: bool = False  # a report for a date other than 1 April / 1 November: never published
    als_huidig: bool = (
        False  # a board run for an older peildatum replaces the newer publication (--als-huidig)
    )
    settle_seconds: float = 3.0  # a file must keep its size and time this long to be read (README)
    regio: str = region.DEFAULT_REGIO  # the region pack in regions/<regio>/ (--regio, FAIRSHARE_REGIO)
    # the region's notes per peildatum beside the figures (FAIRSHARE_DUIDING; README "Context from the region")
    duiding: Path = Path("data/duiding")
    # the meeting pack (the report as PDF) beside the html and workbook; FAIRSHARE_PDF=nee leaves it out, for
    # trial runs: it is a third of a regional run's time (README "Settings")
    pdf: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, overridden by FAIRSHARE_* variables, overridden by explicit values (flags)."""
        env = os.environ if env is None else env
        values = _from_environment(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        _choose_region(values, env)
        for field in ("landing", "warehouse", "reports", "serving", "duiding"):
            if isinstance(values.get(field), str):
                values[field] = Path(values[field])
        if isinstance(values.get("peildatum"), str):
            try:
                values["peildatum"] = dt.date.fromisoformat(values["peildatum"])
            except ValueError as exc:
                raise ConfigError(f"--peildatum must be YYYY-MM-DD, got {values['peildatum']!r}") from exc
        try:
            values["settle_seconds"] = float(values.get("settle_seconds", cls.settle_seconds))
        except ValueError as exc:
            raise ConfigError(
                f"the settle interval must be a number of seconds, got {values['settle_seconds']!r}"
            ) from exc
        settings = replace(cls(), **values)
        settings = replace(  # absolute (not resolved: a link stays a link): messages name the real folder
            settings,
            **{
                field: path.expanduser().absolute()
                for field in ("landing", "warehouse", "reports", "serving", "duiding")
                if (path := getattr(settings, field)) is not None
            },
        )
        settings.check_peildatum()
        return settings

    def check_peildatum(self) -> None:
        """Board reports are as of 1 April or 1 November; any other date only as an explicit ad-hoc report."""
        if self.als_huidig and (self.peildatum is None or self.adhoc):
            raise ConfigError(
                "--als-huidig needs a board date with --peildatum (and no --adhoc): it publishes that older "
                "peildatum as the current one"
            )
        if self.peildatum is None:
            if self.adhoc:
                raise ConfigError("--adhoc needs --peildatum YYYY-MM-DD (the date of the ad-hoc report)")
            return
        if is_meeting_date(self.peildatum) and self.adhoc:
            raise ConfigError(
                f"--adhoc is for a date other than 1 April or 1 November, and {self.peildatum.isoformat()} is a board "
                "date: leave out --adhoc for the board report (published), or give the date of the ad-hoc report"
            )
        if not is_meeting_date(self.peildatum) and not self.adhoc:
            raise ConfigError(
                f"--peildatum {self.peildatum.isoformat()} is not a board date (1 April or 1 November): add --adhoc "
                f"for a one-off report (bo_wonen_zorg_adhoc_{self.peildatum.isoformat()}, never published)"
            )

    @property
    def publishes(self) -> bool:
        """Whether this run may replace the published copy: only board reports do."""
        return self.peildatum is None or is_meeting_date(self.peildatum)

    @property
    def serving_file(self) -> Path:
        """The published copy: beside the warehouse folder, in `serving/` (spec/marts.md)."""
        if self.serving is not None:
            return self.serving
        return self.warehouse.parent.parent / "serving" / self.warehouse.name

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder for this warehouse, beside it: the last build's artifacts (run_results.json,
        manifest, dbt.log) and its parse, which dbt reuses when the next build of this warehouse has the same
        project, profile and vars (partial parsing)."""
        return self.warehouse.with_name(self.warehouse.name + ".dbt").resolve()

    def check_separate(self) -> None:
        """The warehouse, the published copy and the reports never share a file (ConfigError otherwise).

        A run writes the copy under a temporary name and renames it onto ``serving_file``, notes its owner
        beside it, removes temporary files of killed runs (``.<copy>.*.tmp*`` beside the copy, ``.*.tmp*`` in
        the reports folder) and writes ``bo_wonen_zorg_*`` and ``gx/`` in the reports folder. None of these
        may be the warehouse, its ``.wal``, ``.lock``, spill folder ``.tmp`` or dbt folder ``.dbt``, nor (for the
        reports) the copy.
        Paths are compared after resolving symbolic links and relative parts; nothing is created.
        """
        warehouse = _WrittenName(self.warehouse)
        kept = {
            "the warehouse": warehouse,
            **{
                f"the warehouse's {s} file": _WrittenName(self.warehouse.with_name(self.warehouse.name + s))
                for s in (".wal", ".lock", ".tmp", ".dbt")
            },
        }
        serving = _WrittenName(self.serving_file)
        owner = _WrittenName(self.serving_file.with_name(f".{self.serving_file.name}.bron"))
        reports = _WrittenName(self.reports)
        hint = "give each its own path (--warehouse, --serving, --reports)"
        for what, name in kept.items():
            if name.same(serving) or (
                name.exists_as_file and serving.exists_as_file and os.path.samefile(name.path, serving.path)
            ):
                raise ConfigError(
                    f"the published copy {self.serving_file} is {what} {name.path}: publishing would "
                    f"replace it; {hint}"
                )
            if name.same(owner) or name.matches(serving.folder, f".{serving.path.name}.*.tmp*"):
                raise ConfigError(
                    f"{what} {name.path} has a name the publication of {self.serving_file} writes or "
                    f"removes beside the copy; {hint}"
                )
        for what, name in {
            **kept,
            "the published copy": serving,
            "the published copy's owner note": owner,
        }.items():
            if name.same(reports):
                raise ConfigError(f"the reports folder {self.reports} is {what} {name.path}; {hint}")
            if (
                name.inside(reports.resolved / "gx")
                or name.matches(reports.resolved, "bo_wonen_zorg_*")
                or name.matches(reports.resolved, ".*.tmp*")
            ):
                raise ConfigError(
                    f"{what} {name.path} has a name the reports in {self.reports} are written or "
                    f"cleaned up under; {hint}"
                )

    def key_bytes(self) -> bytes:
        """The pseudonym key; without one only demo mode may run (with the documented demo key).

        Outside demo mode a weak key is refused: shorter than ``MIN_KEY_LENGTH`` characters, only
        whitespace, or the documented demo key. Pseudonyms of a short key can be brute-forced.
        """
        if self.pseudonym_key and not self.demo:
            key = self.pseudonym_key
            if not key.strip() or len(key) < MIN_KEY_LENGTH or key == DEMO_KEY:
                raise ConfigError(
                    f"FAIRSHARE_PSEUDONYM_KEY is too weak (it must have at least {MIN_KEY_LENGTH} characters, not only "
                    "whitespace, and not be the demo key): make one with "
                    'python -c "import secrets; print(secrets.token_urlsafe(32))" and keep it secret.'
                )
        if self.pseudonym_key:
            return self.pseudonym_key.encode("utf-8")
        if self.demo:
            return DEMO_KEY.encode("utf-8")
        raise ConfigError(
            "no pseudonym key: set FAIRSHARE_PSEUDONYM_KEY to a secret key, or use --demo "
            "(FAIRSHARE_DEMO=1) to run on sample data with the documented, non-secret demo key"
        )

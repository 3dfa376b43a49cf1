"""The `fairshare` command: `sample` writes a landing folder, `run` executes the pipeline in-process."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import click

from basics.settings import DEMO_KEY, ConfigError, Settings
from ingest.config import source_names

# Before Dagster, dbt and GX are imported (lazily, by the commands that need them): "Run finished in" counts them.
STARTED = time.perf_counter()

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def regio_option(command):
    """`--regio`: the region pack (regions/<regio>/); it also becomes this process's FAIRSHARE_REGIO, so every
    part of the run (dbt included) reads the same region."""

    def choose(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value:
            os.environ["FAIRSHARE_REGIO"] = value
        return value

    return click.option(
        "--regio",
        default=None,
        expose_value=True,
        callback=choose,
        is_eager=True,
        help="Region pack in regions/<regio>/ (FAIRSHARE_REGIO); default: the default region.",
    )(command)


@click.group()
def main() -> None:
    """Fair-share monitor for housing aandachtsgroepen, for any region with a pack in regions/."""


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Landing folder to write (default data/landing).",
)
@click.option("--seed", type=int, default=2025, show_default=True, help="Random seed: same seed, same files.")
@click.option("--scale", type=int, default=1, show_default=True, help="Multiply every volume (benchmarks).")
@click.option("--years", type=int, default=5, show_default=True, help="Years of data up to October 2026.")
@regio_option
def sample(out: Path | None, seed: int, scale: int, years: int, regio: str | None) -> None:
    """Write a realistic, messy sample landing folder for a region (default: the default region)."""
    from basics import region
    from tools.sample import SampleError, write_sample

    try:
        settings = Settings.from_env(regio=regio)
    except ConfigError as exc:
        _stop(EXIT_USAGE, str(exc))
    out = out or settings.landing
    started = time.perf_counter()
    try:
        summary = write_sample(out, seed=seed, scale=scale, years=years, regio=settings.regio)
    except SampleError as exc:  # the pack's seeds cannot tell the story: found before a file is written
        _stop(EXIT_USAGE, f"{region.regio_dir(settings.regio)}/{exc}")
    click.echo(
        f"Wrote {len(summary.files)} files to {out} in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{k} {v} rows ({summary.bad_rows.get(k, 0)} bad)" for k, v in summary.rows.items())
    )


@main.command()
@click.option(
    "--landing", type=click.Path(path_type=Path), default=None, help="Landing folder (FAIRSHARE_LANDING)."
)
@click.option(
    "--warehouse", type=click.Path(path_type=Path), default=None, help="Warehouse file (FAIRSHARE_WAREHOUSE)."
)
@click.option(
    "--reports", type=click.Path(path_type=Path), default=None, help="Reports folder (FAIRSHARE_REPORTS)."
)
@click.option(
    "--serving",
    type=click.Path(path_type=Path),
    default=None,
    help="Published read-only copy (FAIRSHARE_SERVING); default: serving/ beside the warehouse's folder.",
)
@click.option(
    "--peildatum",
    default=None,
    help="Report as of this date (YYYY-MM-DD); default: the latest 1 April or 1 November.",
)
@click.option(
    "--adhoc",
    is_flag=True,
    default=False,
    help="Allow a --peildatum other than 1 April / 1 November: an ad-hoc report, never published.",
)
@click.option(
    "--als-huidig",
    "als_huidig",
    is_flag=True,
    default=False,
    help="With a --peildatum older than the published one: publish it as the current one (default: the copy "
    "and PostgreSQL keep the newer peildatum, only their historie is updated).",
)
@click.option(
    "--wait",
    "wait",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to wait for another run on the same warehouse to finish.",
)
@click.option(
    "--settle",
    type=float,
    default=None,
    help="Seconds a file must keep its size and time to be read (FAIRSHARE_SETTLE_SECONDS, default 3).",
)
@click.option(
    "--demo", is_flag=True, default=False, help="Demo/dev mode: use the documented non-secret pseudonym key."
)
@click.option(
    "--opnieuw",
    is_flag=True,
    default=False,
    help="Rebuild marts, gate, report and publication even when nothing is new.",
)
@click.option("--quiet", "-q", is_flag=True, default=False, help="Print only the closing summary.")
@click.option("--verbose", "-v", is_flag=True, default=False, help="Also show Dagster's and dbt's own logs.")
@regio_option
def run(
    landing: Path | None,
    warehouse: Path | None,
    reports: Path | None,
    serving: Path | None,
    peildatum: str | None,
    adhoc: bool,
    als_huidig: bool,
    wait: float,
    settle: float | None,
    demo: bool,
    opnieuw: bool,
    quiet: bool,
    verbose: bool,
    regio: str | None,
) -> None:
    """Run the whole pipeline in-process through Dagster.

    Exit status: 0 done (gate passed), 1 the gate blocked the report, 2 usage, configuration or the
    warehouse in use, 3 the pipeline failed (the failing step and its cause on the last line of stderr).
    """
    # The console shows what matters (fairshare.console); library and step logs only with --verbose.
    logging.basicConfig(
        level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    if not verbose:  # Dagster resets its loggers' levels during a run: filter at the handler instead
        for handler in logging.getLogger().handlers:
            handler.addFilter(
                lambda record: not record.name.startswith("dagster") or record.levelno >= logging.CRITICAL
            )
    from fairshare.runner import check_configuration
    from warehouse import lock

    try:
        settings = Settings.from_env(
            landing=landing,
            warehouse=warehouse,
            reports=reports,
            serving=serving,
            peildatum=peildatum,
            adhoc=adhoc or None,
            als_huidig=als_huidig or None,
            settle_seconds=settle,
            demo=demo or None,
            regio=regio,
        )
        check_configuration(settings)  # before the lock: a mistaken path must not even get a lock file
    except ConfigError as exc:
        _stop(EXIT_USAGE, str(exc))
    try:
        with lock.hold(settings.warehouse, wait=wait):
            _run_locked(settings, quiet=quiet, verbose=verbose, opnieuw=opnieuw)
    except lock.WarehouseLocked as exc:
        _stop(EXIT_USAGE, str(exc))
    except OSError as exc:  # the lock file cannot be made: the warehouse folder is not usable
        _stop(
            EXIT_USAGE,
            f"the warehouse lock {lock.lock_path(settings.warehouse)} cannot be created "
            f"({exc.strerror or type(exc).__name__}): choose a warehouse in a writable folder",
        )


def _stop(code: int, message: str) -> None:
    click.echo(f"fairshare: {message}", err=True)
    sys.exit(code)


def _run_locked(settings: Settings, quiet: bool, verbose: bool, opnieuw: bool = False) -> None:
    from fairshare.console import Console
    from fairshare.runner import check_ready, clean_leftovers, run_pipeline

    try:
        check_ready(settings)
    except ConfigError as exc:
        _stop(EXIT_USAGE, str(exc))
    clean_leftovers(settings)
    if settings.demo and not settings.pseudonym_key:
        click.echo(
            f"fairshare: DEMO MODE - pseudonyms use the documented, non-secret key {DEMO_KEY!r}; "
            "never use this mode for real data.",
            err=True,
        )
    try:
        outcome = run_pipeline(
            settings, verbose=verbose, shown=Console(quiet=quiet), started=STARTED, opnieuw=opnieuw
        )
    except Exception as exc:  # never a traceback: the cause in one line, exit 3
        _stop(EXIT_FAILED, f"the pipeline failed: {type(exc).__name__}: {exc}")
    click.echo(outcome.summary)
    if not outcome.success:
        _stop(EXIT_FAILED, f"the pipeline failed: {outcome.error}")
    sys.exit(EXIT_BLOCKED if outcome.blocked else EXIT_OK)


@main.command()
@click.option("--bron", type=click.Choice(source_names()), default=None, help="Only this source.")
@click.option(
    "--levering",
    default=None,
    help="Only this delivery: a file (e.g. urgentie/baarn_2026-11-03.csv) or date.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write: .xlsx or .csv.")
@click.option(
    "--warehouse", type=click.Path(path_type=Path), default=None, help="Warehouse file (FAIRSHARE_WAREHOUSE)."
)
@click.option(
    "--wait",
    "wait",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to wait for a run on the same warehouse to finish.",
)
@regio_option
def quarantaine(
    bron: str | None, levering: str | None, out: Path, warehouse: Path | None, wait: float, regio: str | None
) -> None:
    """Write every quarantined row and rejected file, in Dutch, for the supplier who can fix them.

    Exit status: 0 written (an empty list too), 2 usage: no warehouse, a --levering it does not know, the
    warehouse in use by a run or another program, or --out not writable (one sentence, nothing written).
    """
    from products.leverancierslijst import QuarantaineError, export

    try:
        settings = Settings.from_env(warehouse=warehouse, regio=regio)
    except ConfigError as exc:
        _stop(EXIT_USAGE, str(exc))
    if not settings.warehouse.exists():
        _stop(EXIT_USAGE, f"no warehouse at {settings.warehouse}")
    if out.suffix.lower() not in (".xlsx", ".csv"):
        _stop(EXIT_USAGE, "--out must end in .xlsx or .csv")
    try:
        rows, rejected, paths = export(settings.warehouse, out, bron, levering, wait=wait)
    except QuarantaineError as exc:
        _stop(EXIT_USAGE, str(exc))
    except OSError as exc:  # --out in a folder that cannot be made or written
        _stop(
            EXIT_USAGE,
            f"--out {out} cannot be written ({exc.strerror or type(exc).__name__}): "
            "choose a file in a writable folder",
        )
    written = ", ".join(str(p) for p in paths)
    if rows or rejected:
        click.echo(f"{rows} rows in quarantine, {rejected} rejected files: {written}")
    else:
        asked = " and ".join(f"{k} {v!r}" for k, v in (("--bron", bron), ("--levering", levering)) if v)
        click.echo(
            f"nothing in quarantine and no rejected file{' for ' + asked if asked else ''}: "
            f"wrote an empty list to {written}"
        )


@main.command()
@click.option("--mart", required=True, help="The mart: fair_share, fair_share_gemeente, terugkeer, ….")
@click.option(
    "--gemeente",
    required=True,
    help="The gemeente (name or CBS code), or for a committee's mart the commissie.",
)
@click.option("--jaar", type=int, required=True, help="The year of the cell.")
@click.option("--categorie", default=None, help="The urgentiecategorie (marts that have one); default: all.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The xlsx to write.")
@click.option(
    "--serving",
    type=click.Path(path_type=Path),
    default=None,
    help="Published read-only copy (FAIRSHARE_SERVING); default: serving/ beside the warehouse's folder.",
)
@regio_option
def uitleg(
    mart: str,
    gemeente: str,
    jaar: int,
    categorie: str | None,
    out: Path,
    serving: Path | None,
    regio: str | None,
) -> None:
    """Write the records behind one mart cell (and those that did not count, with the reason) as xlsx.

    Reads only the published copy (schema onderbouwing). Exit status: 0 written, 2 usage: no copy, an unknown
    mart, gemeente, year or categorie (the sentence names the allowed values), or --out not writable.
    """
    from products.uitleg import UitlegError, explain, write

    try:
        settings = Settings.from_env(serving=serving, regio=regio)
        if out.suffix.lower() != ".xlsx":
            raise ConfigError("--out must end in .xlsx")
        found = explain(settings.serving_file, mart, gemeente, jaar, categorie)
        write(found, out)
    except (ConfigError, UitlegError) as exc:
        _stop(EXIT_USAGE, str(exc))
    except OSError as exc:  # --out in a folder that cannot be made or written
        _stop(
            EXIT_USAGE,
            f"--out {out} cannot be written ({exc.strerror or type(exc).__name__}): choose a file in a writable folder",
        )
    click.echo(f"Onderbouwing van marts.{mart} ({found.cel_tekst}) in {out}:")
    for cijfer in found.cijfers:
        click.echo(f"  {cijfer.regel(mart)}")
    click.echo(f"  {found.niet_regel}, met de reden")


@main.command()
@click.option(
    "--regio", "regios", multiple=True, help="A region to include (repeatable); default: every region pack."
)
@click.option(
    "--serving",
    "copies",
    multiple=True,
    metavar="REGIO=FILE",
    help="A region's published copy, if not at its default place (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("data/provincie"),
    show_default=True,
    help="Folder for fairshare_provincie.duckdb and provincie_overzicht.html.",
)
@click.option(
    "--provincie",
    "provincie_naam",
    default=None,
    metavar="NAAM",
    help="Keep only the gemeenten of this province (seed gemeenten, column provincie) and the regions with one.",
)
@click.option(
    "--met-fictief",
    is_flag=True,
    help="Include fictional example regions (regio.csv fictief); left out by default unless named with --regio.",
)
def provincie(
    regios: tuple[str, ...], copies: tuple[str, ...], out: Path, provincie_naam: str | None, met_fictief: bool
) -> None:
    """Province publication: every region's published marts side by side (regio_code), and an overview page.

    Reads only the regions' published copies. With FAIRSHARE_PUBLISH_POSTGRES_DSN set, schema `provincie`
    also goes to PostgreSQL, readable by the reader role.
    """
    from basics import extras, region
    from products.provincie import render_overview
    from warehouse.province import Keuze, build_province, publish_province_postgres, stale_regions, weggelaten

    given = dict(c.split("=", 1) for c in copies if "=" in c)
    try:
        settings = Settings.from_env()
        # A missing extra is said first, before anything is read (README: extras).
        extras.require_postgres(settings.publish_postgres_dsn)
        chosen = list(regios) or sorted({*region.regions(), *given})
        sources = {
            r: Path(given[r]) if r in given else Settings.from_env(regio=r).serving_file for r in chosen
        }
        # Without --regio: every pack that has a published copy; one without (a new pack, a region not yet
        # run) is named on stderr and left out. A copy named with --regio or --serving must be there.
        geen_kopie = [] if regios else [r for r, p in sources.items() if r not in given and not p.exists()]
        if geen_kopie and len(geen_kopie) == len(sources):
            raise ConfigError(
                f"no region has a published copy yet ({', '.join(geen_kopie)}): run a region first "
                "(fairshare run --regio REGIO), or give a copy with --serving REGIO=FILE"
            )
        for r in geen_kopie:
            del sources[r]
        if settings.publish_postgres_dsn:  # the publishing user's privileges on schema provincie
            from warehouse import publish
            from warehouse.province import SCHEMA

            try:
                publish.check_postgres(
                    settings.publish_postgres_dsn, settings.postgres_reader_password, {SCHEMA: None}
                )
            except publish.PostgresNotReady as exc:
                raise ConfigError(str(exc)) from exc
        # A refused copy (views or macros where the province reads tables, another region's copy) is ValueError.
        if provincie_naam is not None and not provincie_naam.strip():
            raise ConfigError("--provincie is empty: give a province's name (e.g. --provincie Utrecht)")
        keuze = Keuze(provincie=provincie_naam, met_fictief=met_fictief, genoemd=frozenset(regios))
        published = build_province(sources, out / "fairshare_provincie.duckdb", keuze)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        _stop(EXIT_USAGE, str(exc))
    except Exception as exc:  # never a traceback: the cause in one line, exit 3
        _stop(EXIT_FAILED, f"the province publication failed: {type(exc).__name__}: {exc}")
    for regio, peildatum, latest in stale_regions(Path(published.target)):
        click.echo(
            f"fairshare: warning: region '{regio}' is stale: its published copy has peildatum "
            f"{peildatum.isoformat()}, the latest of the others {latest.isoformat()} (run that region for "
            f"{latest.isoformat()}); flagged in provincie.regios.verouderd and on the overview page",
            err=True,
        )
    for regio in geen_kopie:
        where = Settings.from_env(regio=regio).serving_file
        click.echo(
            f"fairshare: left out region '{regio}': no published copy at {where} "
            f"(fairshare run --regio {regio} publishes one)",
            err=True,
        )
    left_out = weggelaten(Path(published.target))
    for regio, reden in left_out:
        hint = " (--met-fictief includes it)" if reden == "fictief" else ""
        click.echo(f"fairshare: left out region '{regio}': {reden}{hint}", err=True)
    page = render_overview(Path(published.target), out)
    included = [r for r in sources if r not in dict(left_out)]
    click.echo(
        f"Province publication of {', '.join(included)}: {published.target} ({len(published.tables)} tables), "
        f"overview {page}"
    )
    if settings.publish_postgres_dsn:
        try:
            pg = publish_province_postgres(
                Path(published.target), settings.publish_postgres_dsn, settings.postgres_reader_password
            )
        except Exception as exc:  # never a traceback: the cause in one line, exit 3
            _stop(EXIT_FAILED, f"the PostgreSQL publication failed: {type(exc).__name__}: {exc}")
        click.echo(f"PostgreSQL: schema provincie at {pg.target}")
        for text in pg.warnings:
            click.echo(f"fairshare: WARNING: {text}", err=True)


@main.group()
def postgres() -> None:
    """The PostgreSQL publication (FAIRSHARE_PUBLISH_POSTGRES_DSN)."""


@postgres.command("init")
@click.option(
    "--admin-dsn",
    required=True,
    envvar="FAIRSHARE_POSTGRES_ADMIN_DSN",
    help="An administrator's DSN for the publication's database (a superuser, or its owner with CREATEROLE); "
    "FAIRSHARE_POSTGRES_ADMIN_DSN. Leave the password out of it (libpq reads ~/.pgpass or PGPASSWORD).",
)
@click.option(
    "--user",
    default=None,
    help="The pipeline's PostgreSQL user; default: the user of FAIRSHARE_PUBLISH_POSTGRES_DSN.",
)
def postgres_init(admin_dsn: str, user: str | None) -> None:
    """Once, as an administrator: the reader role provincie_lezer (with FAIRSHARE_POSTGRES_READER_PASSWORD, its
    password), the published schemas owned by the pipeline's user, the reader's rights, and the database
    locked down for the reader. The pipeline's user then needs nothing else (README, PostgreSQL publication).

    Exit status: 0 done, 2 usage (no psycopg, no user, a user that does not exist), 3 PostgreSQL refused.
    """
    from basics import extras
    from warehouse import publish

    try:
        settings = Settings.from_env()
        extras.require_postgres(admin_dsn)
    except ConfigError as exc:
        _stop(EXIT_USAGE, str(exc))
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    if user is None and settings.publish_postgres_dsn:
        try:
            user = conninfo_to_dict(settings.publish_postgres_dsn).get("user")
        except psycopg.Error:
            user = None
    if not user:
        _stop(
            EXIT_USAGE,
            "name the pipeline's PostgreSQL user: --user NAME (or set FAIRSHARE_PUBLISH_POSTGRES_DSN)",
        )
    try:
        said = publish.init_postgres(admin_dsn, user, settings.postgres_reader_password)
    except publish.PostgresNotReady as exc:
        _stop(EXIT_USAGE, str(exc))
    except psycopg.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        _stop(
            EXIT_USAGE, f"PostgreSQL {publish.where(admin_dsn)} cannot be reached with --admin-dsn: {first}"
        )
    except psycopg.Error as exc:  # e.g. the administrator may not create roles: PostgreSQL's own sentence
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        _stop(EXIT_FAILED, f"postgres init failed, nothing changed: {type(exc).__name__}: {first}")
    for line in said:
        click.echo(f"  {line}")
    click.echo(
        f"PostgreSQL {publish.where(admin_dsn)} is ready: {user} may publish (schemas "
        f"{', '.join([*publish.PG_SCHEMAS, 'provincie'])}), {publish.READER_ROLE} may read them"
    )


@main.command()
@click.option("--scale", type=int, default=1, show_default=True, help="Sample volume multiplier.")
@click.option("--years", type=int, default=5, show_default=True, help="Years of data in the sample.")
@click.option("--rounds", type=int, default=3, show_default=True, help="Rounds to take the median of.")
@click.option(
    "--dir",
    "workdir",
    type=click.Path(path_type=Path),
    default=Path("data/bench"),
    show_default=True,
    help="Work folder: the sample (kept for reuse) and one warehouse per round.",
)
@click.option(
    "--json", "json_out", type=click.Path(path_type=Path), default=None, help="Also write the figures here."
)
def bench(scale: int, years: int, rounds: int, workdir: Path, json_out: Path | None) -> None:
    """Benchmark: full run, no-op run, peer and limit, with memory and a breakdown per stage."""
    import json

    from basics import extras

    try:
        extras.require_bench()
    except ConfigError as exc:
        _stop(EXIT_USAGE, str(exc))
    from tools.bench import run as run_bench

    summary = run_bench(scale, years, rounds, workdir, echo=click.echo)
    if json_out:
        json_out.write_text(json.dumps(summary, indent=2))


# `fairshare regio nieuw | registreer | controleer` (fairshare/packs.py): a region's pack without touching code.
from fairshare.packs import regio as _regio_commands  # noqa: E402

main.add_command(_regio_commands)


def entry() -> None:
    """The ``fairshare`` command (console script and ``python -m fairshare.cli``): ``main``, then an exit without
    the interpreter's teardown (``basics.process``: 2.2 s after a run)."""
    from basics.process import run_then_exit

    run_then_exit(main)


if __name__ == "__main__":
    entry()

"""The `fairshare` command: `sample` writes a landing folder, `run` executes the pipeline in-process."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from fairshare.settings import DEMO_KEY, ConfigError, Settings

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


@click.group()
def main() -> None:
    """Fair-share monitor for housing aandachtsgroepen in Regio Amersfoort."""


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Landing folder to write (default data/landing).")
@click.option("--seed", type=int, default=2025, show_default=True, help="Random seed: same seed, same files.")
@click.option("--scale", type=int, default=1, show_default=True, help="Multiply every volume (benchmarks).")
@click.option("--years", type=int, default=5, show_default=True, help="Years of data up to October 2026.")
def sample(out: Path | None, seed: int, scale: int, years: int) -> None:
    """Write a realistic, messy sample landing folder for Regio Amersfoort."""
    from fairshare.sample import write_sample

    out = out or Settings.from_env().landing
    started = time.perf_counter()
    summary = write_sample(out, seed=seed, scale=scale, years=years)
    click.echo(f"Wrote {len(summary.files)} files to {out} in {time.perf_counter() - started:.1f}s: "
               + ", ".join(f"{k} {v} rows ({summary.bad_rows.get(k, 0)} bad)" for k, v in summary.rows.items()))


@main.command()
@click.option("--landing", type=click.Path(path_type=Path), default=None, help="Landing folder (FAIRSHARE_LANDING).")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None, help="Warehouse file (FAIRSHARE_WAREHOUSE).")
@click.option("--reports", type=click.Path(path_type=Path), default=None, help="Reports folder (FAIRSHARE_REPORTS).")
@click.option("--peildatum", default=None, help="Report as of this date (YYYY-MM-DD); default: the latest 1 April or 1 November.")
@click.option("--demo", is_flag=True, default=False, help="Demo/dev mode: use the documented non-secret pseudonym key.")
def run(landing: Path | None, warehouse: Path | None, reports: Path | None, peildatum: str | None, demo: bool) -> None:
    """Run the whole pipeline in-process through Dagster."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(landing=landing, warehouse=warehouse, reports=reports, peildatum=peildatum,
                                     demo=demo or None)
        from fairshare.runner import check_ready, run_pipeline

        check_ready(settings)
    except ConfigError as exc:
        click.echo(f"fairshare: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if settings.demo and not settings.pseudonym_key:
        click.echo(f"fairshare: DEMO MODE - pseudonyms use the documented, non-secret key {DEMO_KEY!r}; "
                   "never use this mode for real data.", err=True)
    outcome = run_pipeline(settings)
    click.echo(outcome.summary)
    if not outcome.success:
        click.echo(f"fairshare: the pipeline failed: {outcome.error}", err=True)
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_BLOCKED if outcome.blocked else EXIT_OK)


@main.command()
@click.option("--bron", type=click.Choice(["swev", "urgentie", "planregister"]), default=None, help="Only this source.")
@click.option("--levering", default=None, help="Only this delivery: a file (e.g. urgentie/baarn_2026-11-03.csv) or date.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write: .xlsx or .csv.")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None, help="Warehouse file (FAIRSHARE_WAREHOUSE).")
def quarantaine(bron: str | None, levering: str | None, out: Path, warehouse: Path | None) -> None:
    """Write every quarantined row and rejected file, in Dutch, for the supplier who can fix them."""
    from fairshare.feedback import export

    settings = Settings.from_env(warehouse=warehouse)
    if not settings.warehouse.exists() or out.suffix.lower() not in (".xlsx", ".csv"):
        click.echo(f"fairshare: {'--out must end in .xlsx or .csv' if settings.warehouse.exists() else f'no warehouse at {settings.warehouse}'}", err=True)
        sys.exit(EXIT_USAGE)
    rows, rejected, paths = export(settings.warehouse, out, bron, levering)
    click.echo(f"{rows} rows in quarantine, {rejected} rejected files: {', '.join(str(p) for p in paths)}")


@main.command()
@click.option("--scale", type=int, default=1, show_default=True, help="Sample volume multiplier.")
@click.option("--years", type=int, default=5, show_default=True, help="Years of data in the sample.")
@click.option("--rounds", type=int, default=3, show_default=True, help="Rounds to take the median of.")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("data/bench"), show_default=True,
              help="Work folder: the sample (kept for reuse) and one warehouse per round.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="Also write the figures here.")
def bench(scale: int, years: int, rounds: int, workdir: Path, json_out: Path | None) -> None:
    """Benchmark: full run, no-op run, peer and limit, with memory and a breakdown per stage."""
    import json

    from fairshare.bench import run as run_bench

    summary = run_bench(scale, years, rounds, workdir, echo=click.echo)
    if json_out:
        json_out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

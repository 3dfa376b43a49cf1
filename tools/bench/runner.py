"""``fairshare bench``: how fast and how lean the pipeline is, against a hand-written peer and the limit.

For one scale it writes (or reuses) a sample landing folder, then per round, each in its own process:
the full pipeline from an empty warehouse, the same again with nothing new (the no-op run), the
peer and the limit (``compare.py``). Wall time is the whole process (start-up included); peak memory
is the RSS of the process tree (dbt runs as a child), sampled every 50 ms. Medians over the rounds.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import psutil

from basics.timing import STAGES


@dataclass
class Measured:
    """One child process: wall seconds, peak RSS of its tree, and what it printed."""

    wall: float
    peak_rss: int
    report: dict = field(default_factory=dict)


def measure(args: list[str], log: Path) -> Measured:
    """Run a child process, sampling the RSS of its whole tree until it exits."""
    started = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=fh, text=True, start_new_session=True)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            root = psutil.Process(proc.pid)
            while not stop.is_set():
                try:
                    procs = [root, *root.children(recursive=True)]
                    peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
                except psutil.Error:
                    pass
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, _ = proc.communicate()
        stop.set()
        sampler.join()
    wall = time.perf_counter() - started
    line = next((ln for ln in reversed(out.splitlines()) if ln.startswith("BENCH ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"{' '.join(args[2:4])} failed (exit {proc.returncode}); see {log}")
    return Measured(wall, peak, json.loads(line.removeprefix("BENCH ")))


def _child(mode: str, landing: Path, warehouse: Path) -> list[str]:
    return [sys.executable, "-m", "tools.bench.child", mode, str(landing), str(warehouse)]


def _agrees(warehouse: Path, mode: str) -> int:
    """Cells of marts.fair_share where the peer's or limit's gehuisvest differs from the pipeline's."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        mart = conn.execute(
            "SELECT gemeente_code, jaar, urgentiecategorie, gehuisvest FROM marts.fair_share"
        ).df()
    other = pd.read_csv(warehouse.with_suffix(f".{mode}.csv"))
    both = mart.merge(
        other, on=["gemeente_code", "jaar", "urgentiecategorie"], how="outer", suffixes=("", "_x")
    )
    return int((both["gehuisvest"] != both["gehuisvest_x"]).sum())


def run(scale: int, years: int, rounds: int, workdir: Path, seed: int = 2025, echo=print) -> dict:
    """Measure and print; returns the medians."""
    from tools.sample import write_sample

    landing = workdir / f"landing-scale{scale}-years{years}-seed{seed}"
    done = landing / ".compleet"
    if not done.exists():
        shutil.rmtree(landing, ignore_errors=True)
        started = time.perf_counter()
        summary = write_sample(landing, seed=seed, scale=scale, years=years)
        done.write_text(json.dumps(summary.rows))
        echo(f"sample written in {time.perf_counter() - started:.1f}s: {summary.rows}")
    files = [p for p in landing.glob("*/*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    echo(f"landing {landing}: {len(files)} files, {size / 1e6:.0f} MB")
    results: dict[str, list] = {k: [] for k in ("full", "noop", "peer", "limit")}
    for r in range(rounds):
        run_dir = workdir / f"ronde{r}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        warehouse = run_dir / "warehouse" / "fairshare.duckdb"
        for kind in ("full", "noop"):
            m = measure(_child("pipeline", landing, warehouse), run_dir / f"{kind}.log")
            results[kind].append(m)
            counts = m.report["counts"]
            echo(
                f"round {r + 1} {kind:5}: {m.wall:7.1f}s wall, peak {m.peak_rss / 2**30:.2f} GiB, "
                f"{counts.get('rijen_gelezen', 0)} rows read, ok={m.report['ok']}"
            )
        for kind in ("peer", "limit"):
            m = measure(_child(kind, landing, warehouse), run_dir / f"{kind}.log")
            m.report["verschillen"] = _agrees(warehouse, kind)
            results[kind].append(m)
            echo(
                f"round {r + 1} {kind:5}: {m.wall:7.1f}s wall, peak {m.peak_rss / 2**30:.2f} GiB, "
                f"fair_share cells differing from the mart: {m.report['verschillen']}"
            )
    return _summarise(results, scale, years, echo)


def _median(ms: list[Measured], attr: str) -> float:
    return statistics.median(getattr(m, attr) for m in ms)


def _summarise(results: dict[str, list[Measured]], scale: int, years: int, echo) -> dict:
    full, noop, peer, limit = (results[k] for k in ("full", "noop", "peer", "limit"))
    rows = statistics.median(m.report["counts"].get("rijen_gelezen", 0) for m in full)
    wall = _median(full, "wall")
    stages = {s: statistics.median(m.report["seconds"][s] for m in full) for s in STAGES}
    summary = {
        "scale": scale,
        "years": years,
        "rounds": len(full),
        "full_seconds": round(wall, 1),
        "full_peak_gib": round(max(m.peak_rss for m in full) / 2**30, 2),
        "rows_read": int(rows),
        "rows_per_second": round(rows / wall),
        "noop_seconds": round(_median(noop, "wall"), 1),
        "noop_rows_read": max(m.report["counts"].get("rijen_gelezen", 0) for m in noop),
        "peer_seconds": round(_median(peer, "wall"), 1),
        "limit_seconds": round(_median(limit, "wall"), 1),
        "stages": {s: round(v, 1) for s, v in stages.items()},
        "peer_differences": max(m.report["verschillen"] for m in peer),
        "limit_differences": max(m.report["verschillen"] for m in limit),
    }
    summary["noop_share_pct"] = round(100 * summary["noop_seconds"] / wall, 1)
    summary["peer_ratio"] = round(wall / summary["peer_seconds"], 2)
    summary["limit_ratio"] = round(wall / summary["limit_seconds"], 2)
    imports = statistics.median(m.report.get("imports", 0.0) for m in full)
    summary["imports_seconds"] = round(imports, 1)
    other = wall - sum(stages.values()) - imports
    summary["fixed"] = fixed = _fixed_costs(full, stages, imports, other)
    echo("")
    echo(f"fairshare bench, scale {scale}, {years} years, median of {len(full)} round(s)")
    echo(
        f"  full pipeline (empty warehouse) {summary['full_seconds']:>8.1f} s   peak RSS {summary['full_peak_gib']:.2f} GiB"
        f"   {summary['rows_read']:,} rows read, {summary['rows_per_second']:,} rows/s"
    )
    echo(
        f"  no-op run (nothing new)         {summary['noop_seconds']:>8.1f} s   = {summary['noop_share_pct']}% of full,"
        f" {summary['noop_rows_read']} rows re-read"
    )
    echo(
        f"  peer (pandas + openpyxl)        {summary['peer_seconds']:>8.1f} s   pipeline/peer  = "
        f"{summary['peer_ratio']:.2f}  (the pipeline is {1 / summary['peer_ratio']:.1f}x as fast); "
        f"cells differing from the mart: {summary['peer_differences']}"
    )
    echo(
        f"  limit (fastest parse + 1 SQL)   {summary['limit_seconds']:>8.1f} s   pipeline/limit = "
        f"{summary['limit_ratio']:.2f}; cells differing from the mart: {summary['limit_differences']}"
    )
    echo(
        "  stages (s): "
        + ", ".join(f"{s} {v:.1f}" for s, v in summary["stages"].items())
        + f", imports {imports:.1f}, other (interpreter, Dagster, checks) {other:.1f}"
    )
    echo(
        "  fixed costs (s): "
        + f"interpreter {fixed['interpreter']:.1f}, imports {imports:.1f}, dbt start-up {fixed['dbt_startup']:.1f}, "
        + f"dbt {fixed['dbt_nodes']} nodes {fixed['dbt_elapsed']:.1f} ({fixed['dbt_ms_per_node']:.0f} ms a node), "
        + f"GX gate {stages['gate']:.1f}, Dagster and the rest {fixed['dagster_and_rest']:.1f}"
    )
    slowest = full[len(full) // 2].report.get("dbt_nodes", {})
    summary["dbt_nodes"] = slowest
    if slowest:
        echo(
            "  slowest dbt nodes (s): "
            + ", ".join(f"{k.split('.')[-1]} {v:.1f}" for k, v in list(slowest.items())[:6])
        )
    return summary


def _fixed_costs(full: list[Measured], stages: dict[str, float], imports: float, other: float) -> dict:
    """What a run costs at any volume, split as issue 24 asks: the interpreter's start-up (the process's wall
    before the child's code runs), imports, dbt's start-up (its stage less its node execution: parse check,
    adapter, artifacts), dbt's node execution and its node count, and Dagster with the rest (``other`` less the
    interpreter). At ``--scale 1`` these are most of a run; at national volume the stages' data work is."""
    interpreter = statistics.median(
        max(0.0, m.wall - m.report.get("seconds_in_process", m.wall)) for m in full
    )
    dbt_run = [m.report.get("dbt_run", {}) for m in full]
    elapsed = statistics.median(d.get("elapsed", 0.0) for d in dbt_run)
    nodes = int(statistics.median(d.get("nodes", 0) for d in dbt_run))
    return {
        "interpreter": round(interpreter, 1),
        "imports": round(imports, 1),
        "dbt_startup": round(max(0.0, stages["dbt"] - elapsed), 1),
        "dbt_elapsed": round(elapsed, 1),
        "dbt_nodes": nodes,
        "dbt_ms_per_node": round(1000 * elapsed / nodes, 1) if nodes else 0.0,
        "gx_gate": round(stages["gate"], 1),
        "dagster_and_rest": round(max(0.0, other - interpreter), 1),
    }

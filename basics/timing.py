"""Seconds spent per pipeline stage in this process, summed over a run (``fairshare bench`` reads them).

Stages: scan (listing and hashing landing files), read, normalise, load, dbt, gate, report, publish.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("scan", "read", "normalise", "load", "dbt", "gate", "report", "publish")
_seconds: defaultdict[str, float] = defaultdict(float)
_counts: defaultdict[str, int] = defaultdict(int)
_nodes: dict[str, float] = {}
_dbt: dict[str, float] = {}  # the build's node execution (dbt's elapsed_time) and its node count


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the wall time of the block to ``name``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _seconds[name] += time.perf_counter() - started


def timed(name: str, chunks: Iterator) -> Iterator:
    """Yield from ``chunks``, adding the time spent producing each item to ``name``."""
    it = iter(chunks)
    while True:
        with stage(name):
            item = next(it, _END)
        if item is _END:
            return
        yield item


_END = object()


def count(name: str, n: int) -> None:
    _counts[name] += n


def nodes(seconds: dict[str, float], elapsed: float = 0.0) -> None:
    """Execution seconds per dbt node of the run's build and the wall seconds dbt spent executing them (both
    from dbt's ``run_results.json``): the rest of the dbt stage is dbt's start-up (parse, adapter, artifacts)."""
    _nodes.update(seconds)
    _dbt["elapsed"] = _dbt.get("elapsed", 0.0) + elapsed
    _dbt["nodes"] = _dbt.get("nodes", 0) + len(seconds)


def snapshot() -> dict:
    """Seconds per stage, counters, and the slowest dbt nodes so far."""
    slowest = dict(sorted(_nodes.items(), key=lambda kv: -kv[1])[:10])
    return {
        "seconds": {s: round(_seconds.get(s, 0.0), 3) for s in STAGES},
        "counts": dict(_counts),
        "dbt_nodes": {k: round(v, 2) for k, v in slowest.items()},
        "dbt_run": {"elapsed": round(_dbt.get("elapsed", 0.0), 3), "nodes": int(_dbt.get("nodes", 0))},
    }


def reset() -> None:
    _seconds.clear()
    _counts.clear()
    _nodes.clear()
    _dbt.clear()

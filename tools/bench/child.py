"""One measured process of ``fairshare bench``: the pipeline, the peer or the limit; prints one JSON line."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(mode: str, landing: str, warehouse: str) -> None:
    started = time.perf_counter()
    out: dict = {}
    if mode == "pipeline":
        from basics import timing
        from basics.settings import Settings
        from orchestration.run import execute

        imported = time.perf_counter() - started  # interpreter start-up excluded: measured by the parent

        root = Path(warehouse).parent
        os.environ["DAGSTER_HOME"] = str(
            root / "dagster_home"
        )  # a round's runs stay out of the user's Dagster UI
        settings = Settings.from_env(
            landing=landing, warehouse=warehouse, reports=str(root / "reports"), demo=True
        )
        outcome = execute(settings)
        out = {
            "ok": outcome.success and not outcome.blocked,
            "error": outcome.error,
            **timing.snapshot(),
            "imports": round(imported, 3),
        }
    else:
        from tools.bench import compare

        result = getattr(compare, mode)(Path(landing))
        result.to_csv(Path(warehouse).with_suffix(f".{mode}.csv"), index=False)
        out = {"ok": True}
    out["seconds_in_process"] = round(time.perf_counter() - started, 3)
    print("BENCH " + json.dumps(out), flush=True)


if __name__ == "__main__":
    from basics.process import run_then_exit

    # ended as the fairshare command ends (its teardown is not part of what a user waits for)
    run_then_exit(lambda: main(*sys.argv[1:4]))

"""How a fairshare process ends: without the interpreter's teardown.

A run leaves Dagster, dbt, GX and pandas in memory, and tearing those modules down at exit took 2.2 s after
"Run finished" (about a tenth of a regional run) without doing anything a user needs. What exit does that
matters is done here first, in the interpreter's own order: wait for non-daemon threads, run the atexit handlers
(logging's flush, temporary folders, the xlsx worker's stop), flush stdout and stderr. Every warehouse connection
is closed by then (each is a ``with`` block); DuckDB's committed work is in its file or its WAL.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable


def run_then_exit(main: Callable[[], object]) -> None:
    """Call ``main``; end the process with its exit code (``SystemExit``'s, as the interpreter reads it)."""
    code = 0
    try:
        main()
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:  # sys.exit("message"): printed, exit 1, as the interpreter does
            print(stop.code, file=sys.stderr)
            code = 1
    threading._shutdown()  # what the interpreter calls at exit, before the atexit handlers
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the process ends either way
            pass
    os._exit(code)

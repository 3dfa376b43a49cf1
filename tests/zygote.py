"""A warm starter for the tests' `python -m fairshare.cli` child processes.

A fairshare command spends 4-6 s importing Dagster, dagster-dbt, dbt, Great Expectations, DuckDB and pandas before
it does anything, and the suite starts well over a hundred of them. The zygote is one process per test worker that
has imported those libraries once, and nothing of fairshare's own (its modules read the environment when they are
imported). Each command is a fork of it that takes the test's environment, folder and arguments and runs
`fairshare.cli` as `python -m fairshare.cli` does: still a process of its own, with its own exit code, output files
and fresh fairshare modules; only the third-party imports are shared. Run as a script, this file is the zygote
(stdlib imports only); ``run`` is the test side, a drop-in for ``subprocess.run``.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What every fairshare command would import first (measured with -X importtime on `fairshare run`).
PRELOAD = (
    "click",
    "duckdb",
    "pandas",
    "pyarrow",
    "dagster",
    "dagster_dbt",
    "dbt.cli.main",
    "great_expectations",
    "python_calamine",
    # the report's: charts, templates, workbook, PDF (a report-writing run imports them; ~1.5 s)
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_svg",
    "jinja2",
    "xlsxwriter",
    "weasyprint",
)


# Set to a command's DAGSTER_HOME by tests/conftest.py when no test reads what the command records there: its
# run is then recorded in Dagster's in-memory instance instead of that folder's SQLite storage (a few hundred
# events a run, committed one by one: 2-4 s of a run's 25). The run itself is the same code: the same job,
# steps, checks and events; only where Dagster keeps them differs. Tests about the record (what the UI shows,
# killed runs, personal data in the instance) give the command a DAGSTER_HOME of their own, or use the marker
# `dagster_instance`, and get the real storage.
IN_MEMORY = "FAIRSHARE_TEST_DAGSTER_IN_MEMORY"


def _record_in_memory() -> None:
    """Every instance this command opens (``orchestration.run.open_instance``) is a new in-memory one."""
    import dagster as dg

    import orchestration.run

    orchestration.run.open_instance = lambda home, config="dagster.yaml": dg.DagsterInstance.ephemeral()


def _serve() -> None:
    """The zygote's loop: one JSON request per line on stdin; replies the child's pid, then its exit status."""
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # an optional library: the child imports it itself, or does without
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    replies.write(b'{"ready": true}\n')
    replies.flush()
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)  # never returns
        replies.write(json.dumps({"pid": pid}).encode() + b"\n")
        replies.flush()
        started = time.monotonic()
        _, status, usage = os.wait4(pid, 0)
        _note(request, time.monotonic() - started, usage)
        replies.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
        replies.flush()


# A file named here gets one JSON line per command: its test, arguments, seconds and CPU seconds (the command's
# own and its waited-for children's): what the suite spends where.
COMMAND_LOG = "FAIRSHARE_TEST_COMMANDS"


def _note(request: dict, seconds: float, usage) -> None:
    log = os.environ.get(COMMAND_LOG)
    if not log:
        return
    line = {
        "test": request["env"].get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0],
        "argv": request["argv"][:1],
        "seconds": round(seconds, 2),
        "cpu": round(usage.ru_utime + usage.ru_stime, 2),
    }
    with open(log, "a") as out:
        out.write(json.dumps(line) + "\n")


def _child(request: dict) -> None:
    """`python -m fairshare.cli <argv>` in this forked process, as far as a fresh interpreter would differ."""
    code = 1
    try:
        os.setpgid(
            0, 0
        )  # its own process group, like a started command: a kill on timeout takes its children too
        for fd, path, flags in (
            (0, os.devnull, os.O_RDONLY),
            (1, request["stdout"], os.O_WRONLY | os.O_TRUNC),
            (2, request["stderr"], os.O_WRONLY | os.O_TRUNC),
        ):
            opened = os.open(path, flags)
            os.dup2(opened, fd)
            os.close(opened)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if request["env"].get(IN_MEMORY) and request["env"].get(IN_MEMORY) == request["env"].get(
            "DAGSTER_HOME"
        ):
            _record_in_memory()
        script = request["script"]
        # What the interpreter puts first on the path: the current folder for `python -m`, a script's own folder.
        sys.path[0] = str(Path(script).parent) if script else os.getcwd()
        sys.argv = [script or "-m", *request["argv"]]
        try:
            if script:  # the venv's console script: what it runs
                from fairshare.cli import main

                main()
            else:
                import runpy

                runpy.run_module("fairshare.cli", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            if stop.code is None or isinstance(stop.code, int):
                code = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
                code = 1
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        import atexit
        import threading

        threading._shutdown()  # what the interpreter does at exit: wait for non-daemon threads, then atexit
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001,S110 (the process ends either way)
                pass
        os._exit(code)


class _Zygote:
    def __init__(self) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="fairshare-zygote-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert json.loads(self._reply(None)) == {"ready": True}, "the test zygote did not start"

    def _reply(self, timeout: float | None) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not ready:
            raise TimeoutError
        if not line:
            raise RuntimeError(f"the test zygote stopped: see {self.log.name}")
        return line.decode()

    def run(
        self, cmd: list[str], argv: list[str], cwd: Path, env: dict, timeout: float | None
    ) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory(prefix="fairshare-cmd-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            out.touch(), err.touch()
            request = {
                **{"argv": argv, "script": None if cmd[0] == sys.executable else cmd[0]},
                **{"cwd": str(cwd), "env": env, "stdout": str(out), "stderr": str(err)},
            }
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
            pid = json.loads(self._reply(30))["pid"]
            try:
                code = json.loads(self._reply(timeout))["code"]
            except TimeoutError:
                os.killpg(pid, signal.SIGKILL)
                self._reply(30)
                raise subprocess.TimeoutExpired(cmd, timeout, out.read_text(), err.read_text()) from None
            stdout = out.read_text(errors="replace")
            stderr = err.read_text(errors="replace")
        return subprocess.CompletedProcess(cmd, code, stdout, stderr)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


_zygote: _Zygote | None = None


def run(
    cmd: list, *, cwd=None, env=None, timeout=None, capture_output=False, text=False, check=False, **other
):
    """``subprocess.run(cmd, ...)``, started from this worker's zygote when ``cmd`` is a fairshare command
    (``python -m fairshare.cli ...`` or the venv's ``fairshare``) with its output captured as text; any other
    command, or one that needs what a fork cannot give (``preexec_fn``, ``input``, an ``LD_PRELOAD``), is started
    by ``subprocess.run`` itself."""
    global _zygote
    cmd = [str(c) for c in cmd]
    argv = _fairshare_argv(cmd)
    env = dict(os.environ if env is None else env)
    if argv is None or other or not (capture_output and text) or "LD_PRELOAD" in env:
        return subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            timeout=timeout,
            capture_output=capture_output,
            text=text,
            check=check,
            **other,
        )
    if _zygote is None or _zygote.proc.poll() is not None:
        _zygote = _Zygote()
        atexit.register(close)
    done = _zygote.run(cmd, argv, Path(cwd or os.getcwd()), env, timeout)
    if check:
        done.check_returncode()
    return done


def _fairshare_argv(cmd: list[str]) -> list[str] | None:
    """The fairshare arguments of a command line that starts fairshare, else None."""
    if cmd[:3] == [sys.executable, "-m", "fairshare.cli"]:
        return cmd[3:]
    if cmd and cmd[0] == str(Path(sys.executable).parent / "fairshare"):
        return cmd[1:]
    return None


def close() -> None:
    """Stop this worker's zygote (at the end of the session)."""
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


if __name__ == "__main__":
    _serve()

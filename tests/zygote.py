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
    """The zygote's loop: one JSON request per line on stdin, each forked at once (commands run side by side, as
    started processes do); replies ``{"id", "pid"}`` when forked and ``{"pid", "code"}`` when it has ended."""
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # an optional library: the child imports it itself, or does without
    # A child's end wakes the loop through this pipe (SIGCHLD), as a request does through stdin.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    running: dict[int, tuple[dict, float]] = {}
    pending = b""
    _reply({"ready": True})
    while True:
        ready, _, _ = select.select([0, wake_r], [], [])
        if wake_r in ready:
            while _drained(wake_r):
                pass
        if 0 in ready:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break  # the worker closed its end: the session is over
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    os.close(wake_r), os.close(wake_w)
                    _child(request)  # never returns
                running[pid] = (request, time.monotonic())
                _reply({"id": request["id"], "pid": pid})
        while running:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                break
            request, started = running.pop(pid)
            _note(request, time.monotonic() - started, usage)
            _reply({"pid": pid, "code": os.waitstatus_to_exitcode(status)})


def _drained(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except BlockingIOError:
        return False


def _reply(message: dict) -> None:
    os.write(1, json.dumps(message).encode() + b"\n")


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
        signal.set_wakeup_fd(-1)  # the zygote's: a child's own children must not wake the zygote's loop
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
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
                from fairshare.cli import entry

                entry()
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
    """The test side of one zygote: starts commands, and collects their ends in whatever order they come."""

    def __init__(self) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="fairshare-zygote-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=Path(__file__).resolve().parents[1],
        )
        self.pending = b""
        self.ended: dict[int, int] = {}
        self.requests = 0
        assert self._message(60) == {"ready": True}, "the test zygote did not start"

    def _message(self, timeout: float | None) -> dict:
        """The zygote's next message (a command's end is noted in ``ended`` too); TimeoutError after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise RuntimeError(f"the test zygote stopped: see {self.log.name}")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        message = json.loads(line)
        if "code" in message:
            self.ended[message["pid"]] = message["code"]
        return message

    def start(self, cmd: list[str], argv: list[str], cwd: Path, env: dict, stdout: str, stderr: str) -> int:
        """Fork the command; its pid."""
        self.requests += 1
        request = {
            **{"id": self.requests, "argv": argv, "script": None if cmd[0] == sys.executable else cmd[0]},
            **{"cwd": str(cwd), "env": env, "stdout": stdout, "stderr": stderr},
        }
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        while True:
            message = self._message(30)
            if message.get("id") == self.requests:
                return message["pid"]

    def wait(self, pid: int, timeout: float | None) -> int:
        """The command's exit code (negative: the signal that ended it); TimeoutError after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self.ended:
            self._message(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return self.ended.pop(pid)

    def poll(self, pid: int) -> int | None:
        try:
            while pid not in self.ended:
                self._message(0)
        except TimeoutError:
            return None
        return self.ended.pop(pid)

    def run(
        self, cmd: list[str], argv: list[str], cwd: Path, env: dict, timeout: float | None
    ) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory(prefix="fairshare-cmd-") as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            out.touch(), err.touch()
            pid = self.start(cmd, argv, cwd, env, str(out), str(err))
            try:
                code = self.wait(pid, timeout)
            except TimeoutError:
                os.killpg(pid, signal.SIGKILL)
                self.wait(pid, 30)
                raise subprocess.TimeoutExpired(cmd, timeout, out.read_text(), err.read_text()) from None
            stdout = out.read_text(errors="replace")
            stderr = err.read_text(errors="replace")
        return subprocess.CompletedProcess(cmd, code, stdout, stderr)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Started:
    """A fairshare command started from the zygote: what tests use of ``subprocess.Popen`` (``pid``, ``poll``,
    ``wait``, ``communicate``, ``send_signal``/``terminate``/``kill``, ``returncode``, ``args``). Its output
    goes to files, read by ``communicate`` once it has ended (no test reads a command's pipe while it runs)."""

    def __init__(self, zygote: _Zygote, cmd: list[str], argv: list[str], cwd: Path, env: dict, streams: dict):
        self.args, self.returncode, self._zygote = cmd, None, zygote
        self._folder = tempfile.TemporaryDirectory(prefix="fairshare-cmd-")
        self._files = {}
        for name in ("stdout", "stderr"):
            wanted = streams.get(name)
            if wanted == subprocess.PIPE:
                self._files[name] = Path(self._folder.name, name)
                self._files[name].touch()
            elif wanted not in (None, subprocess.DEVNULL):
                raise ValueError(f"zygote.popen: {name} must be PIPE, DEVNULL or None")
        self._text = bool(streams.get("text") or streams.get("universal_newlines"))
        out, err = (str(self._files.get(n, os.devnull)) for n in ("stdout", "stderr"))
        self.pid = zygote.start(cmd, argv, cwd, env, out, err)

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._zygote.poll(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = self._zygote.wait(self.pid, timeout)
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout) from None
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple:
        self.wait(timeout)
        said = []
        for name in ("stdout", "stderr"):
            path = self._files.get(name)
            data = path.read_bytes() if path else None
            said.append(data.decode(errors="replace") if data is not None and self._text else data)
        self._folder.cleanup()
        return tuple(said)

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_zygote: _Zygote | None = None


def run(
    cmd: list, *, cwd=None, env=None, timeout=None, capture_output=False, text=False, check=False, **other
):
    """``subprocess.run(cmd, ...)``, started from this worker's zygote when ``cmd`` is a fairshare command
    (``python -m fairshare.cli ...`` or the venv's ``fairshare``) with its output captured as text; any other
    command, or one that needs what a fork cannot give (``preexec_fn``, ``input``, an ``LD_PRELOAD``), is started
    by ``subprocess.run`` itself."""
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
    done = _started().run(cmd, argv, Path(cwd or os.getcwd()), env, timeout)
    if check:
        done.check_returncode()
    return done


def popen(cmd: list, *, cwd=None, env=None, **streams):
    """``subprocess.Popen(cmd, ...)``, forked from this worker's zygote when ``cmd`` is a fairshare command and
    only ``stdout``/``stderr`` (PIPE, DEVNULL), ``text`` and ``start_new_session`` are asked for (a zygote's
    child has a process group of its own, so ``os.killpg(pid, ...)`` ends it and its children); else started
    by ``subprocess.Popen`` itself."""
    cmd = [str(c) for c in cmd]
    argv = _fairshare_argv(cmd)
    env = dict(os.environ if env is None else env)
    forkable = set(streams) <= {"stdout", "stderr", "text", "universal_newlines", "start_new_session"}
    if argv is None or not forkable or "LD_PRELOAD" in env:
        return subprocess.Popen(cmd, cwd=cwd, env=env, **streams)
    return Started(_started(), cmd, argv, Path(cwd or os.getcwd()), env, streams)


def _started() -> _Zygote:
    global _zygote
    if _zygote is None or _zygote.proc.poll() is not None:
        _zygote = _Zygote()
        atexit.register(close)
    return _zygote


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

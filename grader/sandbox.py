"""The first wall: run student code with bubblewrap (namespaces) and prlimit (resource limits).

A sandboxed run sees a root made of read-only mounts (``/usr``, the Python
installation, the virtual environment, the runner scripts, the job's inputs,
and :mod:`rnn_ref` or a view of it), a private ``/proc`` and ``/dev``, and one
writable tmpfs of bounded size (``/tmp``, the working directory).  It has no
network (a new network namespace holds only a loopback), no view of other
processes (a new PID namespace; when the run ends, every process in it is
killed), no capabilities, and these limits (``prlimit``, per process):

=================  =================================================
``memory_mb``      address space (``RLIMIT_AS``): a memory bomb gets MemoryError.
                   Per process: a sandbox can hold up to ``memory_mb`` times
                   ``processes``, and ``jobs`` sandboxes run at once
``cpu_seconds``    CPU time (``RLIMIT_CPU``): SIGXCPU, then SIGKILL
``processes``      tasks of the sandbox's user, threads included
                   (``RLIMIT_NPROC``): a fork bomb gets EAGAIN
``file_mb``        size of any file written (``RLIMIT_FSIZE``)
``open_files``     open file descriptors (``RLIMIT_NOFILE``)
``tmp_mb``         size of the writable tmpfs
=================  =================================================

and, enforced from outside: ``cell_seconds`` of wall-clock time per cell or
call, ``run_seconds`` per run, and ``output_mb`` read from the run (events,
stdout and stderr) before it is killed.

**Events.** A runner reports on an inherited pipe, one JSON object per line
(:mod:`grader.sandboxed.channel`); the student's code runs in the same
process and may write anything there.  Every line is data: one longer than
the reader accepts at that moment, or nested deeper than
``MAX_EVENT_DEPTH``, is rejected before it is parsed, and what a line means
is decided by a *conversation* (:class:`Recorder` by default; the judge's
is in :mod:`grader.judge`), which sees each event with the time it arrived,
may answer on a second pipe (the runner's ``--reply-fd``), sets the
deadline of what it is waiting for, and keeps what it needs, not every
event.  Lines that answer what the conversation asked for are bounded by
the conversation (by the size of what it expects); every other byte, and
everything on stdout and stderr, counts toward ``output_mb``.

``RLIMIT_NPROC`` counts the processes of a user *in the sandbox's user
namespace*, but does not apply to the host's root.  So when the grader runs as
root, the sandbox first drops to an unprivileged user (one per worker slot)
with ``setpriv``, and the paths it must mount that this user cannot reach
(under ``/root``, say) are first bind-mounted onto a world-readable staging
directory, in a private mount namespace (``unshare``).

Outside Linux, or without ``bwrap`` and ``prlimit``, :meth:`Sandbox.check`
raises :class:`SandboxUnavailable`; an instructor may then pass ``unsafe=True``
(``--unsafe-no-sandbox``), which runs the same code as plain subprocesses with
only the resource limits: no wall at all between the student and the course.
"""

from __future__ import annotations

import dataclasses
import json
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

import numpy as np

RUNNER_DIR = Path(__file__).resolve().parent / "sandboxed"
RUNNER_MOUNT = "/opt/grader/sandboxed"
WORK_DIR = "/tmp/work"
FIRST_UID = 61000  # the unprivileged users of the worker slots, when the grader runs as root

MB = 2**20
MAX_EVENT_DEPTH = 64  # JSON nesting of one event: the judge's values need about 12 levels
CONTROL_LINE_BYTES = 64 * 1024  # a line that answers nothing the grader asked for (ready, a cell's end, ...)


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (see the module docstring)."""

    memory_mb: int = 1024
    cpu_seconds: int = 600
    processes: int = 12
    file_mb: int = 64
    open_files: int = 256
    tmp_mb: int = 256
    cell_seconds: float = 60.0
    run_seconds: float = 1200.0
    output_mb: int = 32
    stream_kb: int = 200  # text kept per cell in the feedback

    def prlimit_args(self):
        cpu = int(self.cpu_seconds)
        return [
            f"--as={self.memory_mb * MB}",
            f"--cpu={cpu}:{cpu + 1}",
            f"--nproc={self.processes}",
            f"--fsize={self.file_mb * MB}",
            f"--nofile={self.open_files}",
            "--core=0",
        ]


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made here; the message says why and what to do."""


@dataclasses.dataclass
class RunResult:
    """What a sandboxed run reported, and how it ended."""

    events: list  # what the conversation kept (every event for a Recorder, nothing for the judge's)
    completed: bool  # the conversation got to its end (a Recorder: the runner reported "done")
    failure: str  # why it ended early, in words ("" when completed)
    active: dict | None  # the cell or call that was running when it ended early
    returncode: int | None
    log: str  # the start of its stdout and stderr, for diagnosis
    seconds: float


def _reachable_by_others(path):
    """True when a user other than the owner can reach and read ``path`` (every parent has o+x)."""
    path = Path(path).resolve()
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            return False
    return bool(path.stat().st_mode & 0o004)


class Sandbox:
    """Runs Python scripts in a sandbox; see the module docstring.

    Parameters
    ----------
    limits : Limits
    unsafe : bool
        Run without bubblewrap (only resource limits). Never for real grading.
    python : str
        The interpreter to run inside (the virtual environment's).
    """

    def __init__(self, limits=Limits(), unsafe=False, python=None):
        self.limits = limits
        self.unsafe = unsafe
        self.python = python or sys.executable
        self.as_root = os.geteuid() == 0
        self._stage_root = None
        self._lock = threading.Lock()

    # --- availability ------------------------------------------------------------------------------------

    def missing(self):
        """Why the sandbox cannot run here ("" when it can, as far as the tools go)."""
        if not sys.platform.startswith("linux"):
            return f"the sandbox needs Linux (bubblewrap); this is {sys.platform}"
        tools = ["bwrap", "prlimit"] + (["setpriv"] if self.as_root else [])
        absent = [tool for tool in tools if shutil.which(tool) is None]
        if absent:
            install = "Debian/Ubuntu: apt-get install bubblewrap util-linux; or `make grading-setup`"
            return f"{', '.join(absent)} not found ({install})"
        return ""

    def check(self):
        """Raise SandboxUnavailable unless a sandboxed Python runs, with NumPy, and without network."""
        if self.unsafe:
            return
        reason = self.missing()
        if reason:
            raise SandboxUnavailable(reason)
        probe = (
            "import socket, numpy\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 53), timeout=1)\n"
            "    print('network')\n"
            "except OSError:\n"
            "    print('isolated')\n"
        )
        with tempfile.TemporaryDirectory(prefix="grader-probe-") as tmp:
            script = Path(tmp) / "probe.py"
            script.write_text(probe)
            os.chmod(tmp, 0o755)
            os.chmod(script, 0o644)
            result = self.run_command([self.python, "-I", "-B", "/probe/probe.py"], binds=[(tmp, "/probe")])
        if "isolated" not in result.log:
            raise SandboxUnavailable(
                "bubblewrap is installed but a sandboxed Python did not run as expected "
                f"({result.failure or 'no output'}): {result.log.strip()[:500]}"
            )

    # --- running ---------------------------------------------------------------------------------------

    def python_binds(self):
        """Read-only mounts that make the interpreter and its packages work inside."""
        paths = [Path(sys.prefix), Path(sys.base_prefix), Path(self.python).resolve().parent.parent]
        binds = []
        for path in paths:
            path = path.resolve()
            if str(path).startswith("/usr/") or any(str(path) == b for b, _ in binds):
                continue
            binds.append((str(path), str(path)))
        # the venv's own path, unresolved, as the interpreter sees it
        venv = Path(sys.prefix).absolute()
        if str(venv) not in [d for _, d in binds] and not str(venv).startswith("/usr/"):
            binds.append((str(venv.resolve()), str(venv)))
        return binds

    def run_script(self, script, args, binds=(), slot=0, sys_path=(), conversation=None):
        """Run ``python -I -B <runner script> --fd N args`` in the sandbox; collect its events.

        ``binds`` are (host path, path inside) read-only mounts; ``sys_path``
        are directories the runner puts first on ``sys.path`` (the unsafe mode
        uses it in place of mounts).  ``conversation`` reads the events (a
        :class:`Recorder` when omitted); one that answers (``replies = True``)
        gets a second pipe, passed to the runner as ``--reply-fd N``.
        """
        inside = str(RUNNER_DIR / script) if self.unsafe else f"{RUNNER_MOUNT}/{script}"
        extra = [arg for path in sys_path for arg in ("--sys-path", path)]
        argv = [self.python, "-I", "-B", inside, *args, *extra]
        return self.run_command(argv, binds=binds, slot=slot, events=True, conversation=conversation)

    def run_command(self, argv, binds=(), slot=0, events=False, conversation=None):
        conversation = conversation or Recorder(self.limits)
        read_fd, write_fd = os.pipe()
        reply_read, reply_write = os.pipe() if getattr(conversation, "replies", False) else (None, None)
        inherited = [fd for fd in (write_fd, reply_read) if fd is not None]
        if events:
            fds = ["--fd", str(write_fd)] + (["--reply-fd", str(reply_read)] if reply_read is not None else [])
            argv = [*argv[:4], *fds, *argv[4:]]
        command, env, cwd = self._command(argv, list(binds), slot)
        start = time.monotonic()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=tuple(inherited),
                start_new_session=True,  # its own process group: killed as a whole
                env=env,
                cwd=cwd,
            )
        finally:
            for fd in inherited:
                os.close(fd)
        try:
            result = self._collect(process, read_fd, reply_write, conversation)
        finally:
            os.close(read_fd)
            if reply_write is not None:
                try:
                    os.close(reply_write)
                except OSError:
                    pass
            if cwd is not None:
                shutil.rmtree(cwd, ignore_errors=True)
        result.seconds = time.monotonic() - start
        return result

    def _env(self):
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": WORK_DIR,
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": "/tmp/.matplotlib",
            "IPYTHONDIR": "/tmp/.ipython",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NBGRADER_EXECUTION": "autograde",
        }
        return env

    def _command(self, argv, binds, slot):
        limits = self.limits
        if self.unsafe:
            work = tempfile.mkdtemp(prefix="grader-unsafe-")
            env = dict(self._env(), HOME=work, TMPDIR=work)
            prlimit = [shutil.which("prlimit"), *limits.prlimit_args(), "--"] if shutil.which("prlimit") else []
            return [*prlimit, *argv], env, work
        binds = self.python_binds() + [(str(RUNNER_DIR), RUNNER_MOUNT)] + binds
        sources = [source for source, _ in binds]
        if self.as_root:
            sources = self._staged(sources)
        command = [
            "bwrap",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--hostname",
            "sandbox",
            "--clearenv",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for name in ("bin", "lib", "lib32", "lib64", "sbin"):
            host = Path("/") / name
            if host.is_symlink():
                command += ["--symlink", os.readlink(host), str(host)]
            elif host.is_dir():
                command += ["--ro-bind", str(host), str(host)]
        for name in ("ld.so.cache", "ld.so.conf", "localtime", "alternatives"):
            command += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        # /tmp first: the course (and its virtual environment) may itself live under /tmp, as in a fresh
        # clone made with mktemp; binds made after the tmpfs stay visible on top of it.
        command += ["--size", str(limits.tmp_mb * MB), "--tmpfs", "/tmp", "--dir", WORK_DIR, "--chdir", WORK_DIR]
        for source, (_, dest) in zip(sources, binds, strict=True):
            command += ["--ro-bind", source, dest]
        command += ["--remount-ro", "/"]  # the root itself is a tmpfs of unbounded size: read-only
        for key, value in self._env().items():
            command += ["--setenv", key, value]
        command += ["--", shutil.which("prlimit") or "/usr/bin/prlimit", *limits.prlimit_args(), "--", *argv]
        if self.as_root:
            uid = str(FIRST_UID + slot)
            command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *command]
            pairs = self._stage_pairs(binds, sources)
            if pairs:  # paths the unprivileged user cannot reach: staged in a mount namespace of their own
                mounts = " && ".join(f"mount --bind {shlex.quote(host)} {shlex.quote(stage)}" for host, stage in pairs)
                script = f"{mounts} && exec {shlex.join(command)}"
                command = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script]
        return command, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, None

    # --- staging, when the grader runs as root --------------------------------------------------------------

    def _staged(self, sources):
        """Stage directories (one per source that the sandbox user could not reach)."""
        with self._lock:
            if self._stage_root is None:
                self._stage_root = Path(tempfile.mkdtemp(prefix="grader-stage-"))
                os.chmod(self._stage_root, 0o755)
                weakref.finalize(self, shutil.rmtree, self._stage_root, ignore_errors=True)
                self._stages = {}
            staged = []
            for source in sources:
                if _reachable_by_others(source):
                    staged.append(source)
                    continue
                if source not in self._stages:
                    stage = self._stage_root / str(len(self._stages))
                    stage.mkdir() if Path(source).is_dir() else stage.touch()
                    os.chmod(stage, 0o755)
                    self._stages[source] = str(stage)
                staged.append(self._stages[source])
            return staged

    def _stage_pairs(self, binds, sources):
        return [(host, stage) for (host, _), stage in zip(binds, sources, strict=True) if host != stage]

    def close(self):
        if self._stage_root is not None:
            shutil.rmtree(self._stage_root, ignore_errors=True)
            self._stage_root = None

    # --- watching a run -------------------------------------------------------------------------------------

    def _collect(self, process, read_fd, reply_fd, conversation):
        """Read the run's events and log until it ends; answer through ``reply_fd``; enforce the deadlines."""
        limits = self.limits
        selector = selectors.DefaultSelector()
        selector.register(read_fd, selectors.EVENT_READ, "events")
        selector.register(process.stdout, selectors.EVENT_READ, "log")
        os.set_blocking(read_fd, False)
        os.set_blocking(process.stdout.fileno(), False)
        if reply_fd is not None:
            os.set_blocking(reply_fd, False)
        lines = _LineReader()
        outgoing, writing = bytearray(), False
        log = b""
        unsolicited, budget = 0, limits.output_mb * MB
        run_deadline = time.monotonic() + limits.run_seconds
        completed, failure, done_deadline = False, "", None
        open_streams = 2
        while open_streams:
            now = time.monotonic()
            if conversation.finished and done_deadline is None:
                completed, done_deadline = True, now + 2.0
            if done_deadline is not None and now >= done_deadline:
                break  # done, but something the student started still holds the pipe: it is killed below
            step_deadline = None if completed else conversation.deadline
            deadline = min(d for d in (run_deadline, step_deadline, done_deadline) if d is not None)
            if now >= deadline:
                if step_deadline is not None and now >= step_deadline:
                    failure = conversation.timeout_failure()
                else:
                    failure = f"the run took longer than {limits.run_seconds:g} s in all"
                break
            if reply_fd is not None and bool(outgoing) != writing:
                writing = bool(outgoing)
                if writing:
                    selector.register(reply_fd, selectors.EVENT_WRITE, "replies")
                else:
                    selector.unregister(reply_fd)
            ready = selector.select(timeout=min(deadline - now, 1.0))
            for key, _ in ready:
                if key.data == "replies":
                    try:
                        written = os.write(reply_fd, outgoing[: 1 << 16])
                    except BlockingIOError:
                        continue
                    except OSError:  # the runner closed its end (or died): nothing more reaches it
                        outgoing.clear()
                        continue
                    del outgoing[:written]
                    continue
                fd = key.fileobj if isinstance(key.fileobj, int) else key.fileobj.fileno()
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                if key.data == "log":
                    unsolicited += len(chunk)
                    if len(log) < 8192:
                        log += chunk[: 8192 - len(log)]
                    continue
                arrived = time.monotonic()
                for line, rejected in lines.feed(chunk, conversation.line_limit()):
                    reply, solicited = b"", False
                    event = None if rejected else _parse_event(line)
                    if event is None:
                        reply = conversation.rejected(rejected or "not a JSON object with an event name", arrived)
                    else:
                        reply, solicited = conversation.receive(event, arrived)
                    if not solicited:
                        unsolicited += len(line) if not rejected else lines.last_length
                    if reply:
                        outgoing += reply
                if lines.discarded:
                    unsolicited += lines.take_discarded()
            if unsolicited > budget:
                failure = f"printed or returned more than {limits.output_mb} MB"
                break
        selector.close()
        if failure or open_streams:
            _kill(process)
        returncode = _wait(process, 10.0)
        if not completed and not failure:
            failure = _death(returncode, log.decode("utf-8", "replace"))
        return RunResult(
            getattr(conversation, "events", []),
            completed and not failure,
            failure,
            conversation.active if failure else None,
            returncode,
            log.decode("utf-8", "replace"),
            0.0,
        )


class Recorder:
    """The default conversation: every event kept as it came, no answers; a start/end pair times an activity.

    This is how the feedback run is read (``grader.feedback``): its runner pushes one event per
    cell and says "done" at the end.  A line may be as long as the run's whole output budget.
    """

    replies = False

    def __init__(self, limits):
        self.limits, self.events = limits, []
        self.active, self.deadline, self.finished = None, None, False

    def line_limit(self):
        return self.limits.output_mb * MB

    def receive(self, event, now):
        kind = event.get("event")
        if kind == "start":
            self.active, self.deadline = event, now + self.limits.cell_seconds
        elif kind == "end":
            self.active, self.deadline = None, None
        elif kind == "done":
            self.finished = True
        self.events.append(event)
        return b"", False

    def rejected(self, reason, now):
        return b""

    def timeout_failure(self):
        return f"ran longer than {self.limits.cell_seconds:g} s (wall clock)"


class _LineReader:
    """Splits the event pipe into lines, dropping (without keeping) a line longer than the limit of the moment."""

    def __init__(self):
        self.pending = bytearray()
        self.discarding = False
        self.discarded = 0  # bytes dropped since last taken
        self.last_length = 0  # length of the last rejected line

    def feed(self, chunk, limit):
        """Yield ``(line, reason)``: a complete line and "" or, for a rejected one, ``(b"", why)``."""
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if self.discarding:
                self.discarded += len(piece)
            else:
                self.pending += piece
                if len(self.pending) > limit:
                    self.discarded += len(self.pending)
                    self.pending.clear()
                    self.discarding = True
            if end < 0:
                return
            start = end + 1
            if self.discarding:
                self.discarding = False
                self.last_length = 0
                yield b"", f"a line longer than {limit} bytes"
                continue
            line = bytes(self.pending)
            self.pending.clear()
            if line.strip():
                depth = _depth(line)
                if depth > MAX_EVENT_DEPTH:
                    self.last_length = len(line)
                    yield b"", f"a line nested {depth} levels deep (at most {MAX_EVENT_DEPTH})"
                    continue
                yield line, ""

    def take_discarded(self):
        taken, self.discarded = self.discarded, 0
        return taken


_KEEP = bytes(set(range(256)) - set(b'"[]{}'))  # what the skeleton of a line drops


def _depth(line):
    """The deepest nesting of ``[`` and ``{`` in a line of JSON (outside strings), counted without parsing it.

    A line with few brackets gets their count (a bound, at C speed).  Otherwise escaped backslashes,
    then escaped quotes, are dropped (``bytes.replace``, left to right), so that every quote left
    delimits a string, and what remains of brackets and quotes is scanned with NumPy.
    """
    opening = line.count(b"[") + line.count(b"{")
    if opening <= MAX_EVENT_DEPTH:
        return opening
    skeleton = line.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, delete=_KEEP)
    if not skeleton:
        return 0
    codes = np.frombuffer(skeleton, dtype=np.uint8)
    quote = codes == ord('"')
    outside = (np.cumsum(quote) % 2 == 0) & ~quote
    opening = outside & ((codes == ord("[")) | (codes == ord("{")))
    closing = outside & ((codes == ord("]")) | (codes == ord("}")))
    steps = opening.astype(np.int32) - closing.astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def _parse_event(line):
    """One event from the runner, or None for anything that is not a JSON object with an event name."""
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    return event


def _kill(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)  # bwrap and, with its PID namespace, everything inside
    except ProcessLookupError:
        pass


def _wait(process, seconds):
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        _kill(process)
        return process.wait()


def _death(returncode, log):
    """Why a run ended without reporting it was done, in words."""
    signals = {
        signal.SIGKILL: "was killed (SIGKILL: memory, CPU or process limit)",
        signal.SIGXCPU: "used up its CPU time (SIGXCPU)",
        signal.SIGXFSZ: "wrote a file larger than the limit (SIGXFSZ)",
        signal.SIGSEGV: "crashed (segmentation fault)",
        signal.SIGABRT: "aborted (SIGABRT)",
        signal.SIGTERM: "was terminated (SIGTERM)",
        signal.SIGINT: "was interrupted (SIGINT)",
    }
    number = -returncode if returncode is not None and returncode < 0 else None
    if returncode is not None and returncode > 128:  # bwrap reports a signal as 128 + its number
        number = returncode - 128
    if number is not None:
        try:
            return signals.get(signal.Signals(number), f"was killed by signal {number}")
        except ValueError:
            return f"was killed by signal {number}"
    if "MemoryError" in log:
        return "ran out of memory"
    return f"exited with code {returncode} before it finished (os._exit or sys.exit?)"

"""The first wall: run student code with bubblewrap (namespaces), seccomp and prlimit (resource limits).

A sandboxed run sees a root made of read-only mounts (``/usr``, the Python
installation, the virtual environment, the runner scripts, the job's inputs,
and :mod:`rnn_ref` or a view of it), a private ``/proc``, a read-only ``/dev``
(the device nodes only: no ``/dev/shm``), and one writable tmpfs of bounded
size (``/tmp``, the working directory).  It has no network (a new network
namespace holds only a loopback), no view of other processes (a new PID
namespace; when the run ends, every process in it is killed), no
capabilities, a seccomp filter that refuses the system calls which hold memory
outside the address space (``memfd_create``, ``memfd_secret``, ``shmget``,
``msgget``: see :mod:`grader.seccomp`), and these limits (``prlimit``, per
process):

=================  =================================================
``memory_mb``      address space (``RLIMIT_AS``): a memory bomb gets MemoryError.
                   Per process: a sandbox can hold up to ``memory_mb`` times
                   ``processes``, plus ``tmp_mb``, and ``jobs`` sandboxes run at
                   once (see ``total_memory_mb`` for a hard total)
``cpu_seconds``    CPU time (``RLIMIT_CPU``): SIGXCPU, then SIGKILL
``processes``      tasks of the sandbox's user, threads included
                   (``RLIMIT_NPROC``): a fork bomb gets EAGAIN
``file_mb``        size of any file written (``RLIMIT_FSIZE``)
``open_files``     open file descriptors (``RLIMIT_NOFILE``)
``tmp_mb``         size of the writable tmpfs
=================  =================================================

and, enforced from outside (by the grader's process, whatever the sandbox
does with its signals):

====================  ==============================================================
``cell_seconds``      wall clock per cell or call
``run_seconds``       wall clock per run
``student_seconds``   wall clock of all the runs of one student together
                      (:meth:`Sandbox.budget`): a student who sleeps through every
                      cell costs at most this, and the runs left are not started
``output_mb``         bytes read from a run (events, stdout and stderr) before it is killed
``event_kb``          the longest event line of a run read by :class:`Recorder` (the
                      feedback run) that is parsed (longer: rejected unread); the
                      judge's conversation bounds its lines by what it asked for
``stream_kb``         text kept per cell in the feedback
``total_memory_mb``   a hard total per sandbox (``MemoryMax`` of a cgroup), only where
                      ``systemd-run`` can make one (:meth:`Sandbox.cgroups`)
====================  ==============================================================

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

:mod:`rnn_ref` and :mod:`rnn_checks` (or their views) are mounted at
``PACKAGES_MOUNT``, first on the runners' ``sys.path``, whatever the layout of
the instructor's installation (a virtual environment outside the course, an
editable install made elsewhere, a conda environment, the course found through
the working directory), and also over every place where the host's Python
finds them (:func:`grader.judge.mount_points`), so that no route leads to
the real package.

Outside Linux, or without ``bwrap`` and ``prlimit``, :meth:`Sandbox.check`
raises :class:`SandboxUnavailable`; an instructor may then pass ``unsafe=True``
(``--unsafe-no-sandbox``), which runs the same code as plain subprocesses with
only the resource limits: no wall at all between the student and the course.
"""

from __future__ import annotations

import contextlib
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

from . import seccomp

RUNNER_DIR = Path(__file__).resolve().parent / "sandboxed"
RUNNER_MOUNT = "/opt/grader/sandboxed"
PACKAGES_MOUNT = "/opt/grader/packages"  # rnn_ref and rnn_checks (or their views), first on the runners' sys.path
WORK_DIR = "/tmp/work"
FIRST_UID = 61000  # the unprivileged users of the worker slots, when the grader runs as root

MB = 2**20
MAX_EVENT_DEPTH = 64  # JSON nesting of one event: the judge's values need about 12 levels
CONTROL_LINE_BYTES = 64 * 1024  # a line that answers nothing the grader asked for (ready, a cell's end, ...)
_PROBES, _PROBES_LOCK = {}, threading.Lock()  # systemd-run prefix -> what the cgroup probe found


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
    run_seconds: float = 300.0
    student_seconds: float = 600.0
    output_mb: int = 16
    event_kb: int = 4096
    stream_kb: int = 200  # text kept per cell in the feedback
    total_memory_mb: int = 2048

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


class Budget:
    """Wall-clock seconds left to the runs of one student (see :meth:`Sandbox.budget`).

    Each run is charged its wall-clock time, measured by the grader; a run is
    killed from outside when the budget runs out, and the runs asked for after
    that are not started.  ``exhausted`` tells whether that happened.
    """

    def __init__(self, seconds):
        self.seconds, self.spent, self.exhausted = float(seconds), 0.0, False

    def left(self):
        return self.seconds - self.spent

    def reason(self):
        return f"used up the time budget of {self.seconds:g} s for all of this student's runs"

    def refusal(self):
        """The result of a run that is not started, the budget being spent."""
        self.exhausted = True
        failure = f"was not started: this student's runs had used up their time budget of {self.seconds:g} s"
        return RunResult([], False, failure, None, None, "", 0.0)

    def watch(self, process):
        """A watchdog that kills ``process`` when the budget runs out (cancel it when the run ends)."""
        return _Watchdog(self.left(), process)

    def charge(self, result, watchdog):
        """Charge ``result.seconds``; a run the watchdog killed fails for the budget, whatever else it saw."""
        self.spent += result.seconds
        if watchdog.fired and not result.completed:
            result.failure = self.reason()
            self.exhausted = True


class _Watchdog:
    """Kills a run's process group after ``seconds`` unless cancelled first (a timer thread of the grader)."""

    def __init__(self, seconds, process):
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire, [process])
        self._timer.daemon = True
        self._timer.start()

    def _fire(self, process):
        self.fired = True
        _kill(process)

    def cancel(self):
        self._timer.cancel()


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
    cgroups : {"auto", "require", "off"}
        Put each sandbox in a cgroup of its own with ``systemd-run`` (a hard
        total of ``limits.total_memory_mb``): where it works ("auto"), always
        ("require": :meth:`check` fails without it), or never.
    """

    def __init__(self, limits=Limits(), unsafe=False, python=None, cgroups="auto"):
        if cgroups not in ("auto", "require", "off"):
            raise ValueError(f"cgroups must be 'auto', 'require' or 'off', not {cgroups!r}")
        self.limits = limits
        self.unsafe = unsafe
        self.python = python or sys.executable
        self.as_root = os.geteuid() == 0
        self.cgroup_mode = cgroups
        self._cgroup = None  # (systemd-run prefix or None, why not), probed once
        self._seccomp = seccomp.program() if sys.platform.startswith("linux") else None
        self._budgets = {}  # worker slot -> Budget of the student graded in it
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
        """Raise SandboxUnavailable unless a sandboxed Python runs, with NumPy, and inside every wall.

        Checked by a run: no network, ``/dev`` read-only, ``memfd_create``
        refused (where the seccomp filter exists for this architecture), and a
        cgroup when ``cgroups="require"``.
        """
        if self.unsafe:
            return
        reason = self.missing()
        if reason:
            raise SandboxUnavailable(reason)
        if self.cgroup_mode == "require" and self.cgroups() is None:
            raise SandboxUnavailable(f"no cgroup for the sandboxes (required): {self._cgroup[1]}")
        probe = (
            "import os, socket, numpy\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 53), timeout=1)\n"
            "    print('network')\n"
            "except OSError:\n"
            "    print('isolated')\n"
            "try:\n"
            "    os.memfd_create('probe')\n"
            "    print('memfd allowed')\n"
            "except OSError:\n"
            "    print('memfd refused')\n"
            "try:\n"
            "    open('/dev/probe', 'w')\n"
            "    print('dev writable')\n"
            "except OSError:\n"
            "    print('dev read-only')\n"
        )
        with tempfile.TemporaryDirectory(prefix="grader-probe-") as tmp:
            script = Path(tmp) / "probe.py"
            script.write_text(probe)
            os.chmod(tmp, 0o755)
            os.chmod(script, 0o644)
            result = self.run_command([self.python, "-I", "-B", "/probe/probe.py"], binds=[(tmp, "/probe")])
        said = result.log.splitlines()
        if "isolated" not in said:
            raise SandboxUnavailable(
                "bubblewrap is installed but a sandboxed Python did not run as expected "
                f"({result.failure or 'no output'}): {result.log.strip()[:500]}"
            )
        if "dev read-only" not in said:
            raise SandboxUnavailable(f"/dev is writable in the sandbox: {result.log.strip()[:500]}")
        if self._seccomp is not None and "memfd refused" not in said:
            raise SandboxUnavailable(f"the seccomp filter did not apply (memfd_create works): {result.log[:500]}")

    def description(self):
        """The walls of a run, in words (for the report)."""
        if self.unsafe:
            return "none (UNSAFE)"
        walls = ["bubblewrap", "prlimit"]
        if self._seccomp is not None:
            walls.append(f"seccomp ({', '.join(seccomp.REFUSED)} refused)")
        if self.cgroup_mode != "off" and self.cgroups() is not None:
            walls.append(f"cgroup (MemoryMax={self.limits.total_memory_mb} MB per sandbox)")
        return " + ".join(walls)

    def notes(self):
        """What is weaker here than the full set of walls, and why, in words ([] when nothing is)."""
        if self.unsafe:
            return ["no sandbox at all (--unsafe-no-sandbox): student code runs with your rights"]
        notes = []
        if self._seccomp is None:
            notes.append(
                f"no seccomp filter for this architecture ({os.uname().machine}; known: "
                f"{', '.join(seccomp.ARCHITECTURES)}): memfd_create and System V shared memory are not refused, "
                "so a run may hold memory outside its address-space limit"
            )
        if self.cgroup_mode == "off":
            notes.append("cgroups switched off: memory is bounded per process (memory-mb x processes per sandbox)")
        elif self.cgroups() is None:
            notes.append(
                f"no cgroup per sandbox ({self._cgroup[1]}): memory is bounded per process only "
                f"(up to {self.limits.memory_mb} MB x {self.limits.processes} processes + {self.limits.tmp_mb} MB "
                "of /tmp per sandbox); for a hard total, grade inside a memory-limited container or cgroup "
                "(book/instructors.md, 'Hard totals')"
            )
        return notes

    def cgroups(self):
        """The ``systemd-run`` prefix that puts a sandbox in a cgroup of its own, or None (probed once).

        The probe runs ``systemd-run --scope`` (``--user`` when not root) with
        the properties of a real run and reads back the ``memory.max`` of the
        scope it lands in: a cgroup without the memory controller (not
        delegated to the user, or cgroup v1) does not count.  Why it failed is
        kept for :meth:`notes`.
        """
        if self.cgroup_mode == "off" or self.unsafe:
            return None
        with self._lock:
            if self._cgroup is None:
                key = tuple(self._systemd_run())
                with _PROBES_LOCK:  # one probe per machine and set of properties, not one per Sandbox
                    if key not in _PROBES:
                        _PROBES[key] = self._probe_cgroups()
                    self._cgroup = _PROBES[key]
        return self._cgroup[0]

    def _systemd_run(self):
        limits = self.limits
        return [
            shutil.which("systemd-run") or "systemd-run",
            *([] if self.as_root else ["--user"]),
            "--quiet",
            "--scope",
            "--collect",
            "-p",
            f"MemoryMax={limits.total_memory_mb}M",
            "-p",
            "MemorySwapMax=0",
            "-p",
            f"TasksMax={limits.processes + 8}",  # the sandbox's own processes, and bwrap's around them
            "--",
        ]

    def _probe_cgroups(self):
        if not sys.platform.startswith("linux"):
            return None, "not Linux"
        missing = _systemd_missing()
        if missing:
            return None, missing
        read_limit = 'cat "/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)/memory.max"'
        try:
            done = subprocess.run(
                [*self._systemd_run(), "/bin/sh", "-c", read_limit],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"systemd-run failed: {exc}"
        if done.returncode != 0:
            said = " ".join((done.stderr or done.stdout).split())[:300]
            return None, f"systemd-run failed: {said or f'exit status {done.returncode}'}"
        if done.stdout.strip() != str(self.limits.total_memory_mb * MB):
            return None, f"systemd-run made a scope without a memory limit (memory.max: {done.stdout.strip()[:40]!r})"
        return self._systemd_run(), ""

    @contextlib.contextmanager
    def budget(self, slot, seconds=None):
        """Inside this block, the runs of worker ``slot`` share ``seconds`` of wall clock (one student's runs).

        Default: ``limits.student_seconds``.  Yields the :class:`Budget`, whose
        ``exhausted`` says afterwards whether the student ran out of time.
        """
        budget = Budget(self.limits.student_seconds if seconds is None else seconds)
        with self._lock:
            self._budgets[slot] = budget
        try:
            yield budget
        finally:
            with self._lock:
                self._budgets.pop(slot, None)

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
        # the venvs' own paths, unresolved, as the interpreter sees them: this process's, and the one of
        # the interpreter run inside when it is another (Sandbox(python=...))
        for venv in (Path(sys.prefix).absolute(), Path(self.python).absolute().parent.parent):
            if str(venv) not in [d for _, d in binds] and not str(venv).startswith("/usr/"):
                if (venv / "pyvenv.cfg").is_file() or venv == Path(sys.prefix).absolute():
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
        sys_path = list(sys_path) if self.unsafe else [PACKAGES_MOUNT, *sys_path]
        extra = [arg for path in sys_path for arg in ("--sys-path", path)]
        argv = [self.python, "-I", "-B", inside, *args, *extra]
        return self.run_command(argv, binds=binds, slot=slot, events=True, conversation=conversation)

    def run_command(self, argv, binds=(), slot=0, events=False, conversation=None):
        budget = self._budgets.get(slot)
        if budget is not None and budget.left() <= 0:
            return budget.refusal()
        conversation = conversation or Recorder(self.limits)
        read_fd, write_fd = os.pipe()
        reply_read, reply_write = os.pipe() if getattr(conversation, "replies", False) else (None, None)
        inherited = [fd for fd in (write_fd, reply_read) if fd is not None]
        if events:
            fds = ["--fd", str(write_fd)] + (["--reply-fd", str(reply_read)] if reply_read is not None else [])
            argv = [*argv[:4], *fds, *argv[4:]]
        seccomp_fd = self._seccomp_fd()
        if seccomp_fd is not None:
            inherited.append(seccomp_fd)
        command, env, cwd = self._command(argv, list(binds), slot, seccomp_fd)
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
        watchdog = budget.watch(process) if budget is not None else None
        try:
            result = self._collect(process, read_fd, reply_write, conversation)
        finally:
            os.close(read_fd)
            if reply_write is not None:
                try:
                    os.close(reply_write)
                except OSError:
                    pass
            if watchdog is not None:
                watchdog.cancel()
            if cwd is not None:
                shutil.rmtree(cwd, ignore_errors=True)
        result.seconds = time.monotonic() - start
        if budget is not None:
            budget.charge(result, watchdog)
        return result

    def _seccomp_fd(self):
        """A new pipe to read the seccomp program from (bubblewrap reads it to the end), or None."""
        if self.unsafe or self._seccomp is None:
            return None
        read_fd, write_fd = os.pipe()  # the program is a few hundred bytes: it fits in the pipe's buffer
        try:
            os.write(write_fd, self._seccomp)
        finally:
            os.close(write_fd)
        return read_fd

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

    def _command(self, argv, binds, slot, seccomp_fd=None):
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
            "--remount-ro",  # device nodes work, but no file can be made there (/dev/shm: memory outside limits)
            "/dev",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        if seccomp_fd is not None:
            command += ["--seccomp", str(seccomp_fd)]
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
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        cgroup = self.cgroups()
        if cgroup is not None:  # systemd-run --scope execs the command: same process, in a cgroup of its own
            command = [*cgroup, *command]
            # how systemd-run --user finds the user's service manager (bwrap clears the sandbox's environment)
            env.update({k: os.environ[k] for k in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS") if k in os.environ})
        return command, env, None

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
    cell and says "done" at the end.  A line may be ``event_kb`` long (within the run's output budget).
    """

    replies = False

    def __init__(self, limits):
        self.limits, self.events = limits, []
        self.active, self.deadline, self.finished = None, None, False

    def line_limit(self):
        return min(self.limits.event_kb * 1024, self.limits.output_mb * MB)

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


def _systemd_missing():
    """Why ``systemd-run`` cannot make cgroups here ("" when it may: the probe then tries)."""
    if shutil.which("systemd-run") is None:
        return "systemd-run not found"
    if not Path("/run/systemd/system").is_dir():  # sd_booted(): how systemd itself tells
        try:
            init = Path("/proc/1/comm").read_text().strip()
        except OSError:
            init = "unknown"
        return f"systemd is not running on this machine (process 1 is {init!r})"
    if not Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return "no unified cgroup hierarchy (cgroup v2) at /sys/fs/cgroup"
    return ""


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

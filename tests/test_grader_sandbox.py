"""The sandbox's walls and limits, each tried on a tiny case first (never a bomb without its limit)."""

from __future__ import annotations

import ast
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hostile.course import ROOT, require_sandbox, tight_limits

from grader import __main__ as cli
from grader import seccomp
from grader.sandbox import Sandbox, SandboxUnavailable


def run(sandbox, code, **limits):
    """Run ``code`` with Python in ``sandbox`` (with other limits if given); return the RunResult."""
    if limits:
        sandbox = Sandbox(tight_limits(**limits))
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        script = Path(folder) / "script.py"
        script.write_text(textwrap.dedent(code))
        os.chmod(script, 0o644)
        return sandbox.run_command([sys.executable, "-I", "-B", "/job/script.py"], binds=[(folder, "/job")])


@pytest.fixture(scope="module")
def sandbox():
    return require_sandbox(tight_limits())


def test_no_network(sandbox):
    result = run(
        sandbox,
        """
        import socket
        for host, port in [("1.1.1.1", 53), ("127.0.0.1", 22)]:
            try:
                socket.create_connection((host, port), timeout=2)
                print("CONNECTED", host)
            except OSError:
                print("refused", host)
        """,
    )
    assert result.log.split() == ["refused", "1.1.1.1", "refused", "127.0.0.1"]


def test_no_view_of_the_course_or_the_host(sandbox):
    result = run(
        sandbox,
        f"""
        import os
        root = {str(ROOT)!r}
        print(sorted(os.listdir(root)) if os.path.isdir(root) else [])
        print(*(os.path.exists(f"{{root}}/{{name}}") for name in ("solutions", "gradebook.db", "rnn_ref")))
        print(os.path.exists("/etc/passwd"), os.path.exists("/root/.ssh"), os.path.exists("/home"))
        print(sorted(p for p in os.listdir("/proc") if p.isdigit()))
        """,
    )
    listing, course, host, processes = result.log.splitlines()
    assert set(ast.literal_eval(listing)) <= {
        ".venv"
    }  # at most the virtual environment, when it lives in the repository
    assert course == "False False False"
    assert host == "False False False"
    assert len(ast.literal_eval(processes)) <= 2  # bubblewrap's init and this script: no other process is visible


def test_writes_go_nowhere_but_a_small_tmpfs(sandbox):
    result = run(
        sandbox,
        f"""
        import os
        for path in ["/x", "/usr/x", {str(Path(sys.prefix) / "x")!r}, "/job/x"]:
            try:
                open(path, "w").write("x")
                print("WROTE", path)
            except OSError:
                print("refused")
        try:
            with open("/tmp/fill", "wb") as f:
                for _ in range(64):
                    f.write(b"x" * 2**20)
            print("FILLED")
        except OSError as exc:
            print("full", exc.errno)
        """,
        file_mb=64,
    )
    assert result.log.split() == ["refused"] * 4 + ["full", "28"]


def test_a_fork_bomb_stops_at_the_process_limit(sandbox):
    result = run(
        sandbox,
        """
        import os, time
        children = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(2)
                os._exit(0)
            children += 1
        print(children)
        """,
        processes=10,
    )
    assert 0 < int(result.log.split()[0]) < 10


def test_a_memory_bomb_gets_memory_error(sandbox):
    result = run(
        sandbox,
        """
        blocks = []
        try:
            while True:
                blocks.append(bytearray(32 * 2**20))
        except MemoryError:
            print("MemoryError after", len(blocks) * 32, "MB")
        """,
        memory_mb=256,
    )
    assert result.log.startswith("MemoryError after")
    assert int(result.log.split()[2]) < 256


def test_a_busy_loop_is_killed_at_its_cpu_limit(sandbox):
    result = run(sandbox, "while True:\n    pass\n", cpu_seconds=1)
    assert "CPU" in result.failure


def test_a_run_that_ignores_signals_is_killed_at_its_wall_clock_limit(sandbox):
    code = """
        import signal, time
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_IGN)
        while True:
            time.sleep(0.1)
        """
    result = run(sandbox, code, run_seconds=2)
    assert "longer than 2 s" in result.failure and result.seconds < 10


def test_a_flood_of_output_is_cut(sandbox):
    result = run(sandbox, "import os\nwhile True:\n    os.write(1, b'x' * 65536)\n", output_mb=1)
    assert "more than 1 MB" in result.failure


def test_a_file_larger_than_the_limit_cannot_be_written(sandbox):
    code = """
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            open("/tmp/big", "wb").write(b"x" * 3 * 2**20)
        except OSError as exc:
            print("refused", exc.errno)
        """
    assert run(sandbox, code, file_mb=1).log.split() == ["refused", "27"]


def test_the_event_of_a_hung_activity_is_named(sandbox):
    code = """
        import os, sys, time
        fd = int(sys.argv[sys.argv.index("--fd") + 1])
        os.write(fd, b'{"event": "start", "kind": "cell", "index": 7}\\n')
        time.sleep(60)
        """
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        (Path(folder) / "script.py").write_text(textwrap.dedent(code))
        os.chmod(Path(folder) / "script.py", 0o644)
        quick = Sandbox(tight_limits(cell_seconds=1))
        result = quick.run_command(
            [sys.executable, "-I", "-B", "/job/script.py"], binds=[(folder, "/job")], events=True
        )
    assert result.active == {"event": "start", "kind": "cell", "index": 7}
    assert "longer than 1 s" in result.failure


def test_grading_refuses_without_a_sandbox_unless_told(monkeypatch, capsys):
    import shutil

    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real_which(name, *a, **k))
    with pytest.raises(SandboxUnavailable, match="bwrap not found"):
        Sandbox().check()
    assert cli.main(["grade", "01_rnn_cell", "--course", str(ROOT)]) == 2
    assert "--unsafe-no-sandbox" in capsys.readouterr().err
    Sandbox(unsafe=True).check()  # the explicit flag: no refusal


def test_as_root_the_sandbox_drops_to_an_unprivileged_user(monkeypatch):
    """setpriv always; unshare and staging mounts only for the paths that user could not reach."""
    import grader.sandbox as module

    sandbox = Sandbox(tight_limits(), cgroups="off")
    sandbox.as_root = True
    monkeypatch.setattr(module, "_reachable_by_others", lambda path: True)
    command, _, _ = sandbox._command(["python", "script.py"], [], slot=3)
    assert command[:4] == [
        "setpriv",
        f"--reuid={module.FIRST_UID + 3}",
        f"--regid={module.FIRST_UID + 3}",
        "--clear-groups",
    ]
    monkeypatch.setattr(module, "_reachable_by_others", lambda path: False)
    command, _, _ = sandbox._command(["python", "script.py"], [], slot=0)
    assert command[:5] == ["unshare", "--mount", "--propagation", "private", "--"]
    assert "mount --bind" in command[-1] and "exec setpriv" in command[-1]
    sandbox.close()


def test_a_read_only_bind_under_tmp_stays_visible(sandbox):
    """A course cloned under /tmp (mktemp) must keep its virtual environment visible inside the sandbox."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        (Path(folder) / "inside.txt").write_text("visible")
        os.chmod(Path(folder) / "inside.txt", 0o644)
        result = run(sandbox, f"print(open({folder + '/inside.txt'!r}).read())")
        assert "No such file" in result.log or result.log.strip() != "visible"  # not bound: not visible
        with tempfile.TemporaryDirectory() as job:
            os.chmod(job, 0o755)
            script = Path(job) / "script.py"
            script.write_text(f"print(open({folder + '/inside.txt'!r}).read())")
            os.chmod(script, 0o644)
            bound = sandbox.run_command(
                [sys.executable, "-I", "-B", "/job/script.py"], binds=[(job, "/job"), (folder, folder)]
            )
        assert bound.log.strip() == "visible"


# --- area B of issue 10: /dev, memory outside the address space, the student's time budget, cgroups -------------


def test_dev_is_read_only_but_its_devices_work(sandbox):
    result = run(
        sandbox,
        """
        import os
        for path in ["/dev/null", "/dev/x", "/dev/shm/x", "/dev/mqueue/x"]:
            try:
                with open(path, "w") as f:
                    f.write("x")
                print("wrote", path)
            except OSError as exc:
                print("refused", path, exc.errno)
        print(len(open("/dev/urandom", "rb").read(16)), sorted(os.listdir("/dev")) == sorted(set(os.listdir("/dev"))))
        """,
    )
    lines = result.log.splitlines()
    assert lines[0] == "wrote /dev/null"
    assert lines[1:3] == ["refused /dev/x 30", "refused /dev/shm/x 30"]  # EROFS
    assert lines[3].startswith("refused /dev/mqueue/x")
    assert lines[4] == "16 True"


@pytest.mark.skipif(seccomp.program() is None, reason=f"no seccomp filter for {os.uname().machine}")
def test_memory_outside_the_address_space_is_refused(sandbox):
    """memfd files and System V memory escape RLIMIT_AS: the seccomp filter refuses them with EPERM."""
    result = run(
        sandbox,
        """
        import ctypes, errno, os
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            os.memfd_create("hold")
            print("memfd allowed")
        except OSError as exc:
            print("memfd", errno.errorcode[exc.errno])
        for name, call in [("shmget", lambda: libc.shmget(0, 4096, 0o1000 | 0o600)),
                           ("msgget", lambda: libc.msgget(0, 0o1000 | 0o600))]:
            value = call()
            print(name, value, errno.errorcode.get(ctypes.get_errno()))
        print("still alive", os.getpid() > 0, len(os.listdir("/tmp")) >= 0)
        """,
    )
    assert result.log.splitlines() == [
        "memfd EPERM",
        "shmget -1 EPERM",
        "msgget -1 EPERM",
        "still alive True True",
    ], result.log


def test_the_student_budget_bounds_all_runs_together(sandbox):
    """Each run is charged its wall clock; the run that overdraws is killed from outside, the rest never start."""
    sleeper = """
        import signal, sys, time
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_IGN)
        print("started", flush=True)
        time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 60)
        print("woke")
        """
    with sandbox.budget(slot=5, seconds=4) as budget:
        first = run_argv(sandbox, sleeper, ["1"], slot=5)
        exhausted_after_first = budget.exhausted
        second = run_argv(sandbox, sleeper, ["60"], slot=5)
        third = run_argv(sandbox, "print('ran')", [], slot=5)
        other_slot = run_argv(sandbox, "print('ran')", [], slot=6)  # another student, another budget
    assert first.log.split() == ["started", "woke"] and not exhausted_after_first
    assert second.log.split() == ["started"]
    assert second.failure == "used up the time budget of 4 s for all of this student's runs"
    assert third.failure.startswith("was not started") and third.seconds == 0 and third.log == ""
    assert other_slot.log.split() == ["ran"]
    assert budget.exhausted
    assert 4 <= first.seconds + second.seconds < 4 + 3, (first.seconds, second.seconds)
    after = run_argv(sandbox, "print('ran')", [], slot=5)  # the block is over: no budget for slot 5 any more
    assert after.log.split() == ["ran"]


def run_argv(sandbox, code, argv, slot=0):
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        script = Path(folder) / "script.py"
        script.write_text(textwrap.dedent(code))
        os.chmod(script, 0o644)
        return sandbox.run_command(
            [sys.executable, "-I", "-B", "/job/script.py", *argv], binds=[(folder, "/job")], slot=slot
        )


def test_without_systemd_the_cgroup_is_reported_missing_with_its_reason(monkeypatch):
    """On a machine without systemd (this one; containers) a sandbox has no cgroup, and the notes say why."""
    import grader.sandbox as module

    monkeypatch.setattr(module, "_systemd_missing", lambda: "systemd is not running on this machine (process 1 is 'x')")
    monkeypatch.setattr(module, "_PROBES", {})  # what earlier sandboxes found on this machine
    quiet = Sandbox(tight_limits())
    assert quiet.cgroups() is None
    notes = " ".join(quiet.notes())
    assert "no cgroup per sandbox (systemd is not running" in notes and "Hard totals" in notes
    assert "cgroup" not in quiet.description()
    with pytest.raises(SandboxUnavailable, match="no cgroup for the sandboxes"):
        Sandbox(tight_limits(), cgroups="require").check()
    off = Sandbox(tight_limits(), cgroups="off")
    assert off.cgroups() is None and "cgroups switched off" in " ".join(off.notes())
    assert cli.main(["check-sandbox", "--cgroups", "require"]) == 2


def test_with_a_cgroup_every_run_goes_through_systemd_run_scope(tmp_path):
    """The command as systemd-run gets it: a scope with the hard total, around everything else (a stand-in
    systemd-run records its arguments and runs the command, as ``systemd-run --scope`` does)."""
    log = tmp_path / "systemd-run.log"
    fake = tmp_path / "systemd-run"
    fake.write_text(
        f'#!/bin/sh\nprintf \'%s\\n\' "$@" >> {log}\nwhile [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"\n'
    )
    fake.chmod(0o755)
    limited = Sandbox(tight_limits(total_memory_mb=900))
    limited._cgroup = ([str(fake), *limited._systemd_run()[1:]], "")  # as if the probe had succeeded
    assert "cgroup (MemoryMax=900 MB per sandbox)" in limited.description()
    result = run(limited, "print('inside')")
    assert result.log.split() == ["inside"]
    arguments = log.read_text().splitlines()
    assert arguments[: arguments.index("--")] == [
        *([] if limited.as_root else ["--user"]),
        "--quiet",
        "--scope",
        "--collect",
        "-p",
        "MemoryMax=900M",
        "-p",
        "MemorySwapMax=0",
        "-p",
        f"TasksMax={limited.limits.processes + 8}",
    ]
    assert arguments[arguments.index("--") + 1] in ("bwrap", "setpriv", "unshare")


def test_a_real_cgroup_holds_a_hard_total_across_processes():
    """Where systemd can make the scope (not on the development machine: no systemd there), three processes of
    200 MB each stay under a 256 MB total."""
    limited = Sandbox(tight_limits(total_memory_mb=256, memory_mb=400))
    if limited.cgroups() is None:
        pytest.skip(f"no cgroup here: {limited._cgroup[1]}")
    result = run(
        limited,
        """
        import os, time
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                block = bytearray(200 * 2**20)
                block[::4096] = b"x" * len(block[::4096])
                time.sleep(5)
                os._exit(0)
            children.append(pid)
        codes = [os.waitpid(pid, 0)[1] for pid in children]
        print("all three held 200 MB" if codes == [0, 0, 0] else "killed")
        """,
    )
    assert "all three held 200 MB" not in result.log, result.log


def test_an_event_longer_than_event_kb_is_dropped_unread():
    """The runner's events are bounded in size: a longer line is not parsed (area B owns the value, --event-kb)."""
    code = """
        import os, sys
        fd = int(sys.argv[sys.argv.index("--fd") + 1])
        os.write(fd, b'{"event": "start", "kind": "cell", "index": 1, "pad": "' + b"x" * 3000 + b'"}\\n')
        os.write(fd, b'{"event": "start", "kind": "cell", "index": 2}\\n')
        os.write(fd, b'{"event": "done"}\\n')
        """
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        (Path(folder) / "script.py").write_text(textwrap.dedent(code))
        os.chmod(Path(folder) / "script.py", 0o644)
        small = Sandbox(tight_limits(event_kb=2))
        result = small.run_command(
            [sys.executable, "-I", "-B", "/job/script.py"], binds=[(folder, "/job")], events=True
        )
    assert [e.get("index") for e in result.events if e.get("event") == "start"] == [2]
    assert result.completed

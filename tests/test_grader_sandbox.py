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

    sandbox = Sandbox(tight_limits())
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

"""What the grader reads from a sandboxed run: bounded lines, answers only to what it asked, a budget for the rest.

The runner's pipe is written by the student's code as much as by the runner: these tests write on it
from inside the sandbox what a hostile cell could (lines too long, nested too deep, not JSON, events
nobody asked for) and check what the reading loop (grader.sandbox) makes of them.  The judge's own
conversation is exercised end to end by the hostile corpus and the agreement tests.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from hostile.course import require_sandbox, tight_limits

from grader.sandbox import CONTROL_LINE_BYTES, MAX_EVENT_DEPTH, _depth, _LineReader


def test_depth_is_counted_outside_strings_without_parsing():
    brackets = "[{" * MAX_EVENT_DEPTH  # in strings: they do not count
    assert _depth(json.dumps({"a": [1, {"b": brackets}]}).encode()) == 3
    assert _depth(json.dumps({"message": f'a \\" {brackets} \\\\" ]', "x": [[1]]}).encode()) == 3
    assert _depth(b"[" * 1000 + b"]" * 1000) == 1000
    assert _depth(b'"no brackets"') == 0
    assert _depth(json.dumps([[["x"]]]).encode()) >= 3  # few brackets: their count, a bound


def test_a_line_longer_than_the_limit_is_dropped_as_it_comes():
    reader = _LineReader()
    seen = []
    for chunk in [b'{"event": "a"}\n' + b"x" * 300, b"y" * 300, b"z" * 300 + b'\n{"event": "b"}\n']:
        seen += list(reader.feed(chunk, 500))
        assert len(reader.pending) <= 500  # never more than the limit is kept
    assert seen == [(b'{"event": "a"}', ""), (b"", "a line longer than 500 bytes"), (b'{"event": "b"}', "")]
    assert reader.take_discarded() == 900


class Asker:
    """A conversation that asks one question and records everything else."""

    replies = True

    def __init__(self, limit, stop_when_rejected=False):
        self.limit, self.events, self.rejections, self.answers = limit, [], [], []
        self.deadline, self.active, self.finished = None, None, False
        self.stop_when_rejected, self.ignored = stop_when_rejected, 0

    def line_limit(self):
        return self.limit

    def receive(self, event, now):
        if event.get("event") == "ready" and not self.answers:
            return b'{"do": "answer"}\n', True
        if event.get("event") == "answer" and not self.answers:
            self.answers.append(event)
            self.finished = True
            return b'{"do": "stop"}\n', True
        if len(self.events) < 100:
            self.events.append(event)
        self.ignored += 1
        return b"", False

    def rejected(self, reason, now):
        self.rejections.append(reason)
        if self.stop_when_rejected:
            self.finished = True
            return b'{"do": "stop"}\n'
        return b""

    def timeout_failure(self):
        return "took too long"


_RUNNER = """
import json, os, sys

argv = sys.argv
out, replies = int(argv[argv.index("--fd") + 1]), int(argv[argv.index("--reply-fd") + 1])


def send(text):
    os.write(out, text if isinstance(text, bytes) else text.encode())


def receive():
    data = b""
    while not data.endswith(b"\\n"):
        data += os.read(replies, 1 << 16)
    return json.loads(data)


send('{"event": "ready"}\\n')
assert receive() == {"do": "answer"}
send(JUNK)
send('{"event": "answer", "size": %d, "data": "%s"}\\n' % (ANSWER, "a" * ANSWER))
assert receive() == {"do": "stop"}
"""


def _talk(sandbox, conversation, junk, answer=10):
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        script = Path(folder) / "runner.py"
        script.write_text(_RUNNER.replace("JUNK", repr(junk)).replace("ANSWER", str(answer)))
        os.chmod(script, 0o644)
        argv = [sys.executable, "-I", "-B", "/job/runner.py"]
        return sandbox.run_command(argv, binds=[(folder, "/job")], events=True, conversation=conversation)


@pytest.fixture(scope="module")
def sandbox():
    return require_sandbox(tight_limits())


def test_lines_too_long_too_deep_or_not_json_are_rejected_and_the_answer_still_arrives(sandbox):
    junk = (
        b'{"event": "forged", "step": 1}\n'
        + b"x" * (2 * CONTROL_LINE_BYTES)
        + b"\n"
        + b"[" * (MAX_EVENT_DEPTH + 1)
        + b"]" * (MAX_EVENT_DEPTH + 1)
        + b"\n"
        + b"not json\n[1, 2]\n"
    )
    asker = Asker(CONTROL_LINE_BYTES)
    result = _talk(sandbox, asker, junk)
    assert result.completed and not result.failure, (result.failure, result.log)
    assert [e["event"] for e in asker.events] == ["forged"]
    assert asker.rejections[0] == f"a line longer than {CONTROL_LINE_BYTES} bytes"
    assert asker.rejections[1].startswith(f"a line nested {MAX_EVENT_DEPTH + 1} levels deep")
    assert len(asker.rejections) == 4 and asker.answers and asker.answers[0]["size"] == 10


def test_an_answer_may_be_as_long_as_the_question_allows_and_no_longer(sandbox):
    big = 3 * CONTROL_LINE_BYTES
    allowed = Asker(big + 1000)
    assert _talk(sandbox, allowed, b"", answer=big).completed and allowed.answers
    refused = Asker(big - 1000, stop_when_rejected=True)
    _talk(sandbox, refused, b"", answer=big)
    assert not refused.answers and refused.rejections == [f"a line longer than {big - 1000} bytes"]


def test_what_nobody_asked_for_counts_toward_the_output_budget(sandbox):
    flood = b'{"event": "noise"}\n' * (5 * 2**20 // 19)  # 5 MB of well-formed events, over the 4 MB budget
    asker = Asker(CONTROL_LINE_BYTES)
    result = _talk(sandbox, asker, flood)
    assert not result.completed and result.failure == "printed or returned more than 4 MB"
    assert len(asker.events) == 100  # the conversation keeps what it chooses, not every event

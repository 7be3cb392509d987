"""Execute a notebook's code cells in IPython, inside the sandbox, and report each cell's outputs.

This is the run that makes the student's *feedback*: the test cells run here,
with the real :mod:`rnn_checks`, and print the same messages as in
Jupyter.  Nothing printed here is worth a point (the judge decides points).

    python -I -B run_notebook.py --fd FD --job JOB.json

The job names the code cells (index in the notebook and source) and the cells
to skip (a cell that killed an earlier run).  Events on ``FD``::

    {"event": "ready"}
    {"event": "start", "kind": "cell", "index": i}
    {"event": "end", "kind": "cell", "index": i, "outputs": [...], "execution_count": n}
    {"event": "done"}

Outputs are nbformat v4 output dicts.  Streams are cut at ``stream_limit``
characters per cell.  A display keeps only the MIME types the grader may show
(:data:`SHOWN`; it checks and sanitizes them again outside, trusting nothing
from here), and no metadata.  IPython is used the way ipykernel uses it (a subclass of
``InteractiveShell`` whose display hook and publisher collect outputs), minus
the ZeroMQ kernel around it.
"""

import argparse
import gc
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sandboxed.channel import Channel  # noqa: E402

TRUNCATED = "\n[... output truncated by the grader ...]\n"
# What grader.feedback may keep of a display (no SVG, no JavaScript, no widget): the rest is not even sent.
SHOWN = ("text/plain", "text/latex", "text/html", "text/markdown", "image/png", "image/jpeg")


def shown(data):
    """The part of a MIME bundle the grader may show (a note in place of the rest)."""
    kept = {mime: value for mime, value in dict(data).items() if mime in SHOWN}
    return kept or {"text/plain": "[an output of a kind the grader does not show]"}


class Outputs:
    """The outputs of the cell being run, as nbformat dicts."""

    def __init__(self, stream_limit):
        self.items, self.stream_limit, self.stream_chars = [], stream_limit, 0

    def reset(self):
        self.items, self.stream_chars = [], 0

    def stream(self, name, text):
        if self.stream_chars >= self.stream_limit:
            return
        room = self.stream_limit - self.stream_chars
        if len(text) > room:
            text = text[:room] + TRUNCATED
        self.stream_chars += len(text)
        last = self.items[-1] if self.items else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})


class Stream:
    """``sys.stdout`` / ``sys.stderr`` of the student's code."""

    encoding, errors = "utf-8", "replace"

    def __init__(self, outputs, name):
        self._outputs, self.name = outputs, name

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        self._outputs.stream(self.name, text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        return 1 if self.name == "stdout" else 2


def make_shell(outputs):
    """An IPython shell whose results, displays and tracebacks go to ``outputs``."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type
    from traitlets.config import Config

    class Hook(DisplayHook):
        def start_displayhook(self):
            self._is_active = True

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            outputs.items.append(
                {
                    "output_type": "execute_result",
                    "execution_count": self.shell.execution_count,
                    "data": shown(format_dict),
                    "metadata": {},
                }
            )

        def finish_displayhook(self):
            self._is_active = False

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            outputs.items.append({"output_type": "display_data", "data": shown(data), "metadata": {}})

        def clear_output(self, wait=False):
            outputs.reset()

    class Shell(InteractiveShell):
        displayhook_class = Type(Hook)
        display_pub_class = Type(Publisher)

        def _showtraceback(self, etype, evalue, stb):
            outputs.items.append(
                {
                    "output_type": "error",
                    "ename": getattr(etype, "__name__", str(etype)),
                    "evalue": _text(evalue),
                    "traceback": [str(line) for line in stb],
                }
            )

    config = Config()
    config.HistoryManager.enabled = False
    return Shell.instance(config=config)


def _text(value):
    try:
        return str(value)[:10_000]
    except Exception:  # a student's __str__ that raises
        return "<unprintable>"


def _forget_traceback(shell):
    """Drop the failed cell's frames (a MemoryError's frames hold the memory that ran out)."""
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)
    shell.InteractiveTB.tb = None
    shell.last_execution_result = None  # holds the exception, its traceback, and so its frames
    gc.collect()


def _jsonable(items):
    """The outputs that JSON can carry (a display of bytes, say, is dropped with a note)."""
    kept = []
    for item in items:
        try:
            json.dumps(item)
        except (TypeError, ValueError):
            item = {"output_type": "stream", "name": "stderr", "text": "[an output the grader cannot record]\n"}
        kept.append(item)
    return kept


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--sys-path", action="append", default=[])
    args = parser.parse_args(argv)
    channel = Channel(args.fd)
    with open(args.job, encoding="utf-8") as file:
        job = json.load(file)
    for path in reversed(args.sys_path):
        sys.path.insert(0, path)
    sys.path.append(os.getcwd())  # a module the notebook wrote (%%writefile), as Jupyter finds it (last here)
    outputs = Outputs(int(job.get("stream_limit", 100_000)))
    shell = make_shell(outputs)
    sys.stdout, sys.stderr = Stream(outputs, "stdout"), Stream(outputs, "stderr")
    skip = {int(index) for index in job.get("skip_cells", {})}
    end = channel.end  # bound now: the student may replace anything later
    channel.send("ready")
    for cell in job["cells"]:
        index = int(cell["index"])
        if index in skip:
            continue
        channel.start(kind="cell", index=index)
        outputs.reset()
        try:
            shell.run_cell(cell["source"], store_history=True)
        except BaseException as exc:  # run_cell catches the cell's errors; this is IPython itself failing
            outputs.items.append(
                {"output_type": "error", "ename": type(exc).__name__, "evalue": _text(exc), "traceback": []}
            )
        if any(item["output_type"] == "error" for item in outputs.items):
            _forget_traceback(shell)
        end(kind="cell", index=index, outputs=_jsonable(outputs.items), execution_count=shell.execution_count - 1)
    channel.send("done")
    os._exit(0)  # threads the student started must not keep the sandbox alive


if __name__ == "__main__":
    main()

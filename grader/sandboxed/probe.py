"""Inside the sandbox, before any student: can the grader's runs import what they need?

    python -I -B probe.py --sys-path DIR --module numpy --module rnn_ref ...

The path set up as the runners set it up (this script's parent first, then
each ``--sys-path`` before it), then one line of JSON per module on stdout::

    {"module": "rnn_ref", "file": "/opt/grader/packages/rnn_ref/__init__.py", "error": null}

``error`` is ``"ModuleNotFoundError: No module named 'rnn_ref'"`` (type and
message, cut to 300 characters) when the import fails.  No student code runs
with this script.
"""

import argparse
import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sys-path", action="append", default=[])
    parser.add_argument("--module", action="append", default=[])
    options = parser.parse_args()
    for path in reversed(options.sys_path):
        sys.path.insert(0, path)
    for name in options.module:
        try:
            module = importlib.import_module(name)
            found = {"module": name, "file": getattr(module, "__file__", None), "error": None}
        except BaseException as exc:  # an import may fail in any way, SystemExit included
            found = {"module": name, "file": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
        print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()

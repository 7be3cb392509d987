"""Files written all at once or not at all: a failed write never leaves a truncated or half-made file behind.

Each file is written into a temporary file of the same folder and then renamed
over its target (``os.replace``, atomic on POSIX): a reader sees either the
old file or the new one.  A folder (a student's autograded submission) is made
beside its target and then swapped in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path, data):
    """Write ``data`` (bytes, or str written as UTF-8) to ``path`` through a temporary file and a rename.

    The text is encoded before anything is written, so that a string that
    cannot be encoded leaves the old file untouched.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600; give it the mode a plain open() would
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def new_folder_beside(target):
    """An empty temporary folder in the parent of ``target`` (made if needed), to be swapped in later."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))


def swap_in(made, target):
    """Put the folder ``made`` (from :func:`new_folder_beside`) in place of ``target``, whose old content goes."""
    made, target = Path(made), Path(target)
    os.chmod(made, 0o777 & ~_umask())
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{id(made)}")
        os.replace(target, old)
    os.replace(made, target)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)

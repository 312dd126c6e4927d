"""Writing output files safely: never onto an input, atomically, with room on the disk.

* **Atomic**: an output is written to a temporary file beside the target and renamed
  into place only when complete (:func:`atomic_write_bytes`, :class:`AtomicOutput`).
* **Cleaned up**: the temporary file is removed on any error, on Ctrl-C and on SIGTERM
  (:func:`terminate_as_exit`).  A run killed with SIGKILL cannot clean up; its temporary
  file carries the process id in its name (``.NAME.ugk-PID-XXXX.tmp``) and the next
  write of the same target removes temporary files whose process is gone
  (:func:`clean_stale_temps`).
* **Never onto an input**: every file a reader opens is noted (:func:`note_input`);
  writing onto a noted file, or onto a path given in ``inputs``, raises
  :class:`~uncertainty_gk.errors.OutputError` whatever ``overwrite`` says.
* **Disk full**: free space is checked before writing (:func:`ensure_free_space`, which
  reads :func:`free_bytes`), and an ``OSError`` while writing becomes an
  :class:`~uncertainty_gk.errors.OutputError` naming the target (the temporary file is
  removed).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import warnings
from pathlib import Path

from .errors import OutputError, UGKWarning

__all__ = ["atomic_output", "atomic_write_bytes", "atomic_write_text", "AtomicOutput", "note_input", "refuse_inputs",
           "free_bytes", "ensure_free_space", "clean_stale_temps", "terminate_as_exit", "json_default",
           "current_umask", "writing", "remove_path", "replace_path"]

#: Free space (bytes) kept on the disk beyond what a write needs.
FREE_SPACE_MARGIN = 16 << 20
#: Temporary files of the old naming (no process id) older than this (s) are stale.
STALE_AGE_S = 24 * 3600

_INPUTS: set[str] = set()


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _default_mode() -> int:
    """0666 minus the process umask: the mode ``open(path, "w")`` would give a new file."""
    return 0o666 & ~current_umask()


# --------------------------------------------------------------------------- inputs
def _key(path) -> str:
    return os.path.realpath(os.fspath(path))


def note_input(path) -> None:
    """Record ``path`` as an input of this process: no output may be written onto it."""
    _INPUTS.add(_key(path))


def refuse_inputs(target, inputs=()) -> None:
    """Raise :class:`OutputError` if ``target`` is one of ``inputs`` or a noted input."""
    key = _key(target)
    named = {_key(p): os.fspath(p) for p in inputs if p is not None}
    hit = named.get(key) or (os.fspath(target) if key in _INPUTS else None)
    if hit is None and os.path.exists(target):
        for p in list(named.values()):
            try:
                if os.path.exists(p) and os.path.samefile(p, target):   # hard links
                    hit = p
                    break
            except OSError:
                continue
    if hit is not None:
        raise OutputError(f"{target}: the output is one of the inputs ({hit}); inputs are never overwritten "
                          "(not even with --overwrite): choose another output path")


# --------------------------------------------------------------------------- disk space
def free_bytes(directory) -> int:
    """Free bytes on the file system of ``directory`` (for unprivileged users)."""
    return shutil.disk_usage(directory).free


def ensure_free_space(target, need_bytes: int) -> None:
    """Raise :class:`OutputError` unless ``need_bytes`` plus a margin fit beside ``target``."""
    directory = Path(target).parent
    free = free_bytes(directory)
    if free < need_bytes + FREE_SPACE_MARGIN:
        raise OutputError(f"{target}: not enough free disk space in {directory} ({free / 2**20:.1f} MB free, about "
                          f"{(need_bytes + FREE_SPACE_MARGIN) / 2**20:.1f} MB needed); free some space or write "
                          "elsewhere. Nothing was changed")


@contextlib.contextmanager
def writing(target):
    """Turn an ``OSError`` raised while writing ``target`` into an :class:`OutputError`."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        why = "the disk is full" if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) else str(exc)
        raise OutputError(f"{target}: writing failed ({why}); the partial output was removed and nothing "
                          "was changed") from None


# --------------------------------------------------------------------------- temporary files
_TEMP = re.compile(r"^\.(?P<name>.+)\.ugk-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(target) -> list[Path]:
    """Remove temporary files of ``target`` left by killed processes; returns what was removed."""
    target = Path(target)
    directory = target.parent
    removed = []
    if not directory.is_dir():
        return removed
    legacy = re.compile(r"^\." + re.escape(target.name) + r"\.[A-Za-z0-9_]{8}\.tmp$")
    now = time.time()
    for p in directory.iterdir():
        m = _TEMP.match(p.name)
        try:
            if m and m.group("name") == target.name and not _pid_alive(int(m.group("pid"))):
                remove_path(p)
                removed.append(p)
            elif legacy.match(p.name) and now - p.stat().st_mtime > STALE_AGE_S:
                remove_path(p)
                removed.append(p)
        except FileNotFoundError:
            continue
    if removed:
        warnings.warn(f"removed {len(removed)} stale temporary file(s) of {target} left by killed runs: "
                      f"{', '.join(p.name for p in removed[:5])}", UGKWarning, stacklevel=3)
    return removed


def remove_path(path) -> None:
    """Remove a file or a directory tree (a zarr store); nothing if it does not exist."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def replace_path(tmp, target) -> None:
    """Rename ``tmp`` (a file or a directory) onto ``target``.  A directory replacing an
    existing one: the old one is first renamed aside (to a temporary name that
    :func:`clean_stale_temps` recognises), then removed."""
    tmp, target = Path(tmp), Path(target)
    if not tmp.is_dir():
        os.replace(tmp, target)
        return
    old = None
    if target.exists():
        old = temp_path(target)
        old.unlink()
        os.rename(target, old)
    os.rename(tmp, target)
    if old is not None:
        remove_path(old)


def temp_path(target) -> Path:
    """A new, unique temporary path beside ``target`` carrying this process's id (not created)."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.ugk-{os.getpid()}-", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def terminate_as_exit():
    """Within the block, SIGTERM raises ``SystemExit(143)`` so that cleanup code runs.

    Only in the main thread (signal handlers cannot be set elsewhere); the previous
    handler is restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


class AtomicOutput:
    """A temporary path beside ``target`` that replaces it only on success.

    The writer may create a file or a directory (a zarr store) there.

    ``inputs`` are paths the output must not replace (see :func:`refuse_inputs`);
    ``need_bytes`` is checked against the free space first.  The temporary file is
    removed on any exception (including Ctrl-C and SIGTERM); stale temporary files of
    the same target left by killed processes are removed on entry.
    """

    def __init__(self, target, *, inputs=(), need_bytes: int = 0):
        self.target = Path(target)
        self.inputs = list(inputs)
        self.need_bytes = int(need_bytes)
        self._term = None

    def __enter__(self) -> Path:
        refuse_inputs(self.target, self.inputs)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(self.target)
        ensure_free_space(self.target, self.need_bytes)
        self._term = terminate_as_exit()
        self._term.__enter__()
        with writing(self.target):
            self.tmp = temp_path(self.target)
        self.tmp.unlink()          # the writer creates it
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                with writing(self.target):
                    if self.tmp.is_file():
                        os.chmod(self.tmp, _default_mode())
                    replace_path(self.tmp, self.target)
        finally:
            remove_path(self.tmp)
            self._term.__exit__(None, None, None)
        return False


@contextlib.contextmanager
def atomic_output(path, *, inputs=()):
    """Yield a temporary path beside ``path`` to write (by any writer); rename it into place
    on success, remove it on failure (and on SIGTERM).  The temporary file does not exist
    when yielded.  Refuses ``path`` if it is an input (see :class:`AtomicOutput`)."""
    with AtomicOutput(path, inputs=inputs) as tmp:
        yield tmp


def atomic_write_bytes(path, data: bytes, *, inputs=()) -> Path:
    """Write ``data`` to ``path`` so that readers never see a partial file."""
    path = Path(path)
    with AtomicOutput(path, inputs=inputs, need_bytes=len(data)) as tmp, writing(path):
        with open(tmp, "wb") as fh:
            fh.write(data)
    return path


def atomic_write_text(path, text: str, *, inputs=()) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), inputs=inputs)


def json_default(o):
    """``json.dumps(default=...)`` for numpy scalars and arrays (anything else as text)."""
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)

"""Atomic file writes: a crash leaves the old file or the new one, never a mixture."""

from __future__ import annotations

import os
import threading


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place.

    A crash at any moment leaves either the old file or the new one, never a
    mixture: ``os.replace`` is atomic, and the data is flushed to disk first. The
    temporary file is named after this process, so temporaries left by writers
    that were killed can be recognised, and are removed after the next write.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
    # Mode 0o666 less the umask: the file gets the permissions any new file would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _sync_directory(directory)
    _remove_orphans(directory, name)


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable; not possible on every platform."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _remove_orphans(directory: str, name: str) -> None:
    """Delete temporaries of ``name`` whose writing process no longer exists.

    A temporary of a live process (another writer, still writing) is kept.
    """
    if os.name != "posix":  # os.kill(pid, 0) only probes on POSIX
        return
    prefix = f".{name}."
    for entry in os.listdir(directory):
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):].split(".")[0]  # the writer's pid: up to the next dot
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, entry))
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True

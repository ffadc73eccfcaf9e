"""Grading learners' folders: untrusted code, each folder in its own process.

For each folder the exercise files (regular files only: no links) are copied into a fresh
temporary folder, and a worker process checks them there, with that folder as its working
directory, a CPU-time and a memory limit (``resource.setrlimit``, on Linux and macOS) and a
wall-clock limit, a limit on the size of a file it writes (``RLIMIT_FSIZE``) and, where it
can be counted, on the number of processes. The worker reports one line per exercise on a
private copy of its stdout (the learner's own prints, text or binary, go to /dev/null); if it
loops, runs out of memory, exits or dies, the exercise it was on is marked so and a new
worker goes on with the rest; whatever it started is killed with it (its process group).
The CSV is written to a temporary file and renamed over the old one: never half a table.
Limits of this, honestly: a process is not a sandbox. Code that knows an absolute path can
still read, write or delete it with the teacher's permissions, a child that calls setsid
leaves the process group, and code can signal the grader itself (``os.getppid()``). Grade
untrusted folders as a user who owns nothing else, or in a container.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ._catalogue import EXERCISES
from ._diagnosis import ERROR, FAILED, NOT_FINISHED, NOT_STARTED, PASSED

STATUSES = (NOT_STARTED, NOT_FINISHED, FAILED, ERROR, PASSED, "memory limit")

TIME_LIMIT = 60.0
MEMORY_LIMIT = 2 * 1024 ** 3
FILE_LIMIT = 64 * 1024 ** 2  # the largest file a worker may write (a learner's, or a .pyc)
EXTRA_PROCESSES = 64  # how many more processes than the teacher's own a worker may start


def grade(folders, *, csv_path=None, time_limit: float = TIME_LIMIT,
          memory_limit: int = MEMORY_LIMIT, out=print) -> dict[str, dict[str, str]]:
    """Check each folder; return ``{folder: {exercise: status}}``, print the table, and
    write it to ``csv_path`` if given."""
    table = {}
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"grade: {folder} is not a folder")
        table[str(folder)] = _grade_folder(folder, time_limit, memory_limit)
    names = [e.name for e in EXERCISES]
    if csv_path is not None:
        _write_csv(Path(csv_path), table, names)
    width = max([len("learner"), *map(len, table)])
    out(f"{'learner':<{width}}  " + " ".join(f"{n[:8]:>8}" for n in names))
    for folder, row in table.items():
        passed = sum(status == "passing" for status in row.values())
        out(f"{folder:<{width}}  " + " ".join(f"{row[n][:8]:>8}" for n in names)
            + f"  {passed}/{len(names)}")
    return table


def _write_csv(path: Path, table, names) -> None:
    # A temporary file beside it, renamed over it: a reader (or a second grade) never sees
    # half a table, and a failed run leaves the old one.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["learner", *names])
            for folder, row in table.items():
                writer.writerow([folder, *(row[n] for n in names)])
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _grade_folder(folder: Path, time_limit: float, memory_limit: int) -> dict[str, str]:
    row = {e.name: "not started" for e in EXERCISES}
    with tempfile.TemporaryDirectory(prefix="chainrule-grade-") as scratch:
        work = Path(scratch) / "work"
        work.mkdir()
        todo = []
        for exercise in EXERCISES:
            source = folder / exercise.filename
            if source.is_file() and not source.is_symlink():
                shutil.copyfile(source, work / exercise.filename)
                todo.append(exercise.name)
        while todo:
            done, failure = _run_worker(work, todo, time_limit, memory_limit)
            row.update(done)
            todo = [name for name in todo if name not in done]
            if todo:  # the worker stopped on todo[0]: mark it, go on with the rest
                row[todo.pop(0)] = failure
    return row


def _run_worker(work: Path, names, time_limit, memory_limit):
    nonce = secrets.token_hex(16)
    env = {**os.environ, "CHAINRULE_KERNELS": "numpy", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HOME": str(work)}
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.exercises._grade", str(work), *names],
        cwd=work, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_limits(time_limit, memory_limit))
    try:
        raw, _ = process.communicate((nonce + "\n").encode(), timeout=time_limit)
        failure = "crashed" if process.returncode else "exited"
        if process.returncode in (-9, -24):  # SIGKILL / SIGXCPU: the CPU-time limit
            failure = "time limit"
        elif process.returncode == -25:  # SIGXFSZ: a file past FILE_LIMIT
            failure = "file size limit"
    except subprocess.TimeoutExpired:
        _kill(process)
        raw, _ = process.communicate()
        failure = "time limit"
    finally:
        _kill(process)  # what the learner's code started dies with the worker
    # Bytes, not text: the learner's code may have written anything to the pipe.
    stdout = raw.decode("utf-8", errors="replace")
    done = {}
    for line in stdout.splitlines():
        if line.startswith(nonce + " "):
            try:
                name, status = json.loads(line[len(nonce) + 1:])
            except (ValueError, TypeError):
                continue
            if name in names and status in STATUSES:
                done[name] = status
    return done, failure


def _kill(process) -> None:
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        if process.poll() is None:
            process.kill()


def _limits(time_limit: float, memory_limit: int):
    running = _processes_of_this_user()  # counted here: apply runs between fork and exec

    def apply():
        try:
            import resource
        except ImportError:  # not on Windows: the wall-clock limit still holds
            return
        seconds = int(time_limit) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        # RLIMIT_NPROC counts all of this user's processes: allow the teacher's own plus a
        # few, so a fork bomb stops early (root is not held by it; nor is it counted off Linux).
        if running is not None:
            hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
            cap = running + EXTRA_PROCESSES
            if hard == resource.RLIM_INFINITY or cap < hard:
                resource.setrlimit(resource.RLIMIT_NPROC, (cap, hard))
    return apply if os.name == "posix" else None


def _processes_of_this_user() -> int | None:
    """The number of processes and threads of this user (Linux's /proc), or None."""
    try:
        uid, count = os.getuid(), 0
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid == uid:
                        count += len(os.listdir(f"/proc/{entry.name}/task"))
                except OSError:
                    continue
        return count or None
    except (OSError, AttributeError):
        return None


def _worker(argv) -> None:
    """In the worker process: check each named exercise of the folder, one line each."""
    nonce = sys.stdin.readline().strip()
    # The results go to a private copy of the pipe; fd 1 (print, os.write(1, …)) goes to
    # /dev/null, so what a learner prints, closes or replaces cannot touch them.
    stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    from ._runner import check_file

    folder, names = Path(argv[0]), argv[1:]
    for name in names:
        try:
            status = check_file(folder, name).status
        except MemoryError:
            status = "memory limit"
        except BaseException:  # anything the learner's code raised
            status = "error"
        stdout.write(f"{nonce} {json.dumps([name, status])}\n")
        stdout.flush()


if __name__ == "__main__":
    _worker(sys.argv[1:])

"""Grading learners' folders: untrusted code, each folder in its own process.

For each folder the exercise files (regular files only: no links) are copied into a fresh
temporary folder, and a worker process checks them there, with that folder as its working
directory, a CPU-time and a memory limit (``resource.setrlimit``, on Linux and macOS) and a
wall-clock limit. The worker prints one line per exercise as it goes; if it loops, runs out
of memory, exits or dies, the exercise it was on is marked so and a new worker goes on with
the rest. Nothing a learner's file does reaches another learner's grading. Limits of this:
code that knows an absolute path can still reach it (a process is not a sandbox).
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

TIME_LIMIT = 60.0
MEMORY_LIMIT = 2 * 1024 ** 3


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
        with open(csv_path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["learner", *names])
            for folder, row in table.items():
                writer.writerow([folder, *(row[n] for n in names)])
    width = max([len("learner"), *map(len, table)])
    out(f"{'learner':<{width}}  " + " ".join(f"{n[:8]:>8}" for n in names))
    for folder, row in table.items():
        passed = sum(status == "passing" for status in row.values())
        out(f"{folder:<{width}}  " + " ".join(f"{row[n][:8]:>8}" for n in names)
            + f"  {passed}/{len(names)}")
    return table


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
        stderr=subprocess.DEVNULL, text=True, start_new_session=True,
        preexec_fn=_limits(time_limit, memory_limit))
    try:
        stdout, _ = process.communicate(nonce + "\n", timeout=time_limit)
        failure = "crashed" if process.returncode else "exited"
        if process.returncode in (-9, -24):  # SIGKILL / SIGXCPU: the CPU-time limit
            failure = "time limit"
    except subprocess.TimeoutExpired:
        _kill(process)
        stdout, _ = process.communicate()
        failure = "time limit"
    done = {}
    for line in stdout.splitlines():
        if line.startswith(nonce + " "):
            name, status = json.loads(line[len(nonce) + 1:])
            if name in names:
                done[name] = status
    return done, failure


def _kill(process) -> None:
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _limits(time_limit: float, memory_limit: int):
    def apply():
        try:
            import resource
        except ImportError:  # not on Windows: the wall-clock limit still holds
            return
        seconds = int(time_limit) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    return apply if os.name == "posix" else None


def _worker(argv) -> None:
    """In the worker process: check each named exercise of the folder, one line each."""
    nonce = sys.stdin.readline().strip()
    stdout = sys.stdout  # kept: a learner's file may replace or close sys.stdout
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

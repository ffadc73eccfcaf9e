"""Running the exercises: check an object or a learner's file, start, list, hint, watch.

``check(name, obj)`` is the notebook way (no files). ``check_file`` imports the learner's
file afresh from their folder (with the folder on ``sys.path``, so the capstone imports
their other files) and reads a ``NotImplementedError`` as "not finished", any other
exception as an error with its last line, never as a crash of the checker.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from ._catalogue import EXERCISES, find
from ._diagnosis import ERROR, FAILED, NOT_FINISHED, NOT_STARTED, PASSED, Result, Wrong

DEFAULT_DIR = Path("chainrule-exercises")


def check(name: str, obj) -> Result:
    """Check ``obj`` (the learner's class, or function for ``neuron``) as exercise ``name``.

    Returns a ``Result``: ``.passed``, ``str(result)`` and ``_repr_html_`` for Jupyter.
    """
    exercise = find(name)
    try:
        # The learner's warnings (an overflow in exp) are theirs to see, not errors here.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            cases = exercise.check(obj)
    except Wrong as wrong:
        return Result(name, FAILED, wrong.text, wrong.output, wrong.case, wrong.mistake)
    except NotImplementedError as exc:
        return Result(name, NOT_FINISHED, _not_finished(exc))
    except (Exception, SystemExit) as exc:  # the learner's code: report it, do not crash
        return Result(name, ERROR, _last_frames(exc))
    return Result(name, PASSED, cases=cases)


def _not_finished(exc: NotImplementedError) -> str:
    return (f"not finished: {str(exc) or 'a part'} still raises NotImplementedError — "
            "write the parts marked TODO")


def _last_frames(exc: BaseException) -> str:
    """The exception and the learner's line it came from (a SyntaxError names its own)."""
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    # the learner's frame: neither chainrule's nor Python's own (<frozen importlib…>)
    where = next((f"{Path(f.filename).name}, line {f.lineno}" for f in reversed(frames)
                  if "chainrule" not in Path(f.filename).parts
                  and not f.filename.startswith("<")), None)
    return f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else "")


def load(folder: Path, name: str):
    """Import the learner's ``name.py`` from ``folder`` afresh; return what it defines."""
    exercise, folder = find(name), Path(folder).resolve()
    # Forget the learner's modules from an earlier import: watch re-checks edited files.
    for module_name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(folder)):
            del sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(name, folder / exercise.filename)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    try:
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    if not hasattr(module, exercise.defines):
        mine = [k for k, v in vars(module).items() if not k.startswith("_") and callable(v)
                and getattr(v, "__module__", None) == name]
        raise AttributeError(f"{exercise.filename} defines no {exercise.defines}"
                             + (f" (it defines {', '.join(mine)})" if mine else "")
                             + f": the check looks for {exercise.defines}")
    return getattr(module, exercise.defines)


def check_file(folder: Path, name: str) -> Result:
    """Check the learner's file for ``name`` in ``folder``."""
    path = Path(folder) / find(name).filename
    if path.exists() and not path.is_file():
        return Result(name, ERROR, f"{path} is not a file (a folder?): move it away, then "
                      f"chainrule exercises start {name}")
    if not path.is_file():
        return Result(name, NOT_STARTED, f"{path} does not exist: chainrule exercises start "
                      f"{name}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = load(folder, name)
    except NotImplementedError as exc:
        return Result(name, NOT_FINISHED, _not_finished(exc))
    except (Exception, SystemExit) as exc:
        return Result(name, ERROR, f"{path} does not import: {_last_frames(exc)}")
    return check(name, obj)


def started(folder: Path) -> list[str]:
    return [e.name for e in EXERCISES if (Path(folder) / e.filename).is_file()]


def start(folder: Path, name: str | None = None) -> Path:
    """Write the named (or the next not yet started) exercise into ``folder``; never
    overwrite a file that is there. Returns the file's path."""
    folder = Path(folder)
    if name is None:
        todo = [e for e in EXERCISES if not (folder / e.filename).exists()]
        if not todo:
            raise FileExistsError(f"every exercise is already in {folder}")
        exercise = todo[0]
    else:
        exercise = find(name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / exercise.filename
    # "x" opens only a file that does not exist: a learner's work is never replaced,
    # even by a start racing another one.
    with open(path, "x", encoding="utf-8") as file:
        file.write(exercise.template.read_text(encoding="utf-8"))
    return path


def progress(folder: Path) -> list[Result]:
    """Each exercise's state in ``folder``: not started, not finished, failing, passing."""
    return [check_file(folder, e.name) for e in EXERCISES]


def hint(name: str, step: int | None = None) -> list[str]:
    """The hints of ``name``, the first ``step`` of them (all by default)."""
    hints = find(name).hints
    return list(hints if step is None else hints[:max(step, 1)])


def watch(folder: Path, *, interval: float = 0.5, out=print, stop=None,
          max_checks: int | None = None) -> int:
    """Re-check an exercise each time its file in ``folder`` is saved (polling mtimes).

    ``stop`` is a ``threading.Event`` (or None: until interrupted); returns the number
    of checks made.
    """
    folder, checks = Path(folder), 0

    def stamps():
        found = {}
        for exercise in EXERCISES:
            try:
                info = (folder / exercise.filename).stat()
            except OSError:
                continue
            found[exercise.name] = (info.st_mtime_ns, info.st_size)
        return found

    checked = previous = stamps()
    out(f"watching {folder} — save an exercise file to check it (Ctrl-C stops)")
    while (stop is None or not stop.is_set()) and (max_checks is None or checks < max_checks):
        time.sleep(interval)
        now = stamps()
        # Changed since the last check, and the same as one poll ago: an editor that saves
        # in several writes is checked once, when it is done, not half-written.
        for name in [n for n in now if checked.get(n) != now[n] and previous.get(n) == now[n]]:
            result = check_file(folder, name)
            checks += 1
            checked = {**checked, name: now[name]}
            out(str(result))
            if result.passed:
                out("passing: chainrule exercises start   (for the next one)")
        # a deleted file forgets its stamp: saved again, it is checked again
        checked = {n: s for n, s in checked.items() if n in now}
        previous = now
    return checks


STATE_MARK = {PASSED: "✓", FAILED: "✗", ERROR: "✗", NOT_FINISHED: "…", NOT_STARTED: " "}

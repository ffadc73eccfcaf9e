"""``chainrule exercises list | start | check | watch | hint | grade``: the practice CLI.

``configure(parser)`` adds the sub-commands to the ``exercises`` command of
``chainrule.cli``; ``run(args)`` returns the exit status: 0 passed (or done), 1 failed or
not finished, 2 a usage error (an unknown exercise, a missing folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._catalogue import BY_NAME, EXERCISES
from ._diagnosis import NOT_STARTED
from ._grade import MEMORY_LIMIT, TIME_LIMIT, grade
from ._runner import DEFAULT_DIR, STATE_MARK, check_file, hint, progress, start, started, watch


def configure(parser) -> None:
    """Add the sub-commands (list, start, check, watch, hint, grade) to ``parser``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="each exercise and its state").add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="your exercises' folder")
    begin = sub.add_parser("start", help="write the next (or the named) exercise")
    begin.add_argument("name", nargs="?", help="an exercise; default: the next one")
    begin.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="your exercises' folder")
    test = sub.add_parser("check", help="check one exercise (or all started)")
    test.add_argument("name", nargs="?", help="an exercise; default: all started")
    test.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="your exercises' folder")
    sub.add_parser("watch", help="re-check an exercise on every save").add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="your exercises' folder")
    clue = sub.add_parser("hint", help="hints in steps, each more specific")
    clue.add_argument("name", help="an exercise")
    clue.add_argument("--step", type=int, default=None, help="show the first STEP hints")
    mark = sub.add_parser("grade", help="for teachers: check learners' folders")
    mark.add_argument("folders", nargs="+", type=Path, help="one folder per learner")
    mark.add_argument("--csv", type=Path, default=Path("grades.csv"), help="the table as CSV")
    mark.add_argument("--time-limit", type=float, default=TIME_LIMIT,
                      help="seconds per learner's worker")
    mark.add_argument("--memory-limit", type=int, default=MEMORY_LIMIT // 1024 ** 2,
                      help="MiB per learner's worker")


def run(args) -> int:
    """Run the sub-command ``args`` names; return the exit status (0, 1 or 2).

    0: passed (or done); 1: failed or not finished; 2: a usage error (an unknown
    exercise, a missing folder).
    """
    action = getattr(args, "action", None)
    name = getattr(args, "name", None)
    if name is not None and name not in BY_NAME:
        print(f"chainrule exercises: no exercise named {name!r}; the exercises are: "
              f"{', '.join(BY_NAME)}", file=sys.stderr)
        return 2
    if action is None:
        print("chainrule exercises: choose one of list, start, check, watch, hint, grade",
              file=sys.stderr)
        return 2
    if action == "list":
        for result in progress(args.dir):
            print(f"[{STATE_MARK.get(result.status, '✗')}] {result.name:<22} {result.status}")
        return 0
    if action == "start":
        if Path(args.dir).exists() and not Path(args.dir).is_dir():
            print(f"chainrule exercises start: {args.dir} is a file, not a folder: choose "
                  "another with --dir", file=sys.stderr)
            return 2
        try:
            path = start(args.dir, name)
        except FileExistsError as exc:
            print(f"chainrule exercises start: {exc.filename or exc} is there already; your "
                  "work is kept (check it with: chainrule exercises check)", file=sys.stderr)
            return 1
        print(f"wrote {path}: open it, write the parts marked TODO, then run\n"
              f"  chainrule exercises check {path.stem} --dir {args.dir}")
        return 0
    if action == "check":
        names = [name] if name else started(args.dir)
        if not names:
            print(f"chainrule exercises check: nothing started in {args.dir}: chainrule "
                  "exercises start", file=sys.stderr)
            return 2
        results = [check_file(args.dir, n) for n in names]
        for result in results:
            print(result)
        if name and results[0].status == NOT_STARTED:
            return 2
        return 0 if all(r.passed for r in results) else 1
    if action == "watch":
        if not Path(args.dir).is_dir():
            print(f"chainrule exercises watch: {args.dir} is not a folder", file=sys.stderr)
            return 2
        try:
            watch(args.dir)
        except KeyboardInterrupt:
            pass
        return 0
    if action == "hint":
        for step, text in enumerate(hint(name, args.step), start=1):
            print(f"hint {step}/{len(BY_NAME[name].hints)}: {text}")
        return 0
    # grade
    if not all(Path(f).is_dir() for f in args.folders):
        missing = [str(f) for f in args.folders if not Path(f).is_dir()]
        print(f"chainrule exercises grade: not folders: {', '.join(missing)}", file=sys.stderr)
        return 2
    table = grade(args.folders, csv_path=args.csv, time_limit=args.time_limit,
                  memory_limit=args.memory_limit * 1024 ** 2)
    print(f"wrote {args.csv}")
    complete = all(v == "passing" for row in table.values() for v in row.values())
    return 0 if complete else 1


NAMES = [e.name for e in EXERCISES]

"""Mutation testing for chainrule: does the test suite catch plausible bugs?

Each *mutant* is the source with one small change a programmer could have made by
mistake — a flipped comparison, ``+`` for ``-``, an off-by-one constant, a negated
condition, a dropped in-place update or ``raise`` — and the suite *kills* it when
some test fails. A mutant that survives is a bug the tests would not notice, or a
change that is no bug at all (an equivalent mutant); each survivor is looked at.

The checkout is never touched: the repository is copied to a temporary folder, each
mutant is written into the copy, and the tests relevant to the mutated module run
there (``-x``: the first failure kills) with the copy's ``src`` first on the path.

Usage (from the repository root)::

    .venv/bin/python tools/mutants.py --sample 400 --seed 0 --log mutants.jsonl
    .venv/bin/python tools/mutants.py --count             # how many mutants per module
    .venv/bin/python tools/mutants.py --show model:57     # the diff of one mutant

``--log`` records each result as a JSON line and skips mutants already killed, so
an interrupted run continues where it stopped and a rerun tries only the survivors;
``--report`` with the same ``--sample``/``--seed``/``--log`` summarises the run (the
latest result of each chosen mutant of the current source) and lists the survivors.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CORE = ["test_layers", "test_details", "test_jacobian", "test_gradcheck", "test_properties",
         "test_explain"]
_FILES = ["test_io", "test_files_hostile", "test_checkpoint", "test_fuzz_files",
          "test_roundtrip", "test_plumbing", "test_reliability"]
# test_kernels holds the compiled kernel beside each NumPy expression: a mutant of a kernel
# call (the run forces the NumPy path) is caught there
_LAYERS = [*_CORE, "test_optimizers", "test_training", "test_model", "test_against_pytorch",
           "test_kernels"]
_OPTIMIZERS = ["test_optimizers", "test_details", "test_plumbing", "test_training",
               "test_callbacks", "test_checkpoint", "test_io", "test_files_hostile",
               "test_performance", "test_model", "test_against_pytorch", "test_kernels"]
_MODEL = ["test_training", "test_plumbing", "test_checkpoint", "test_io", "test_model",
          "test_summary", "test_reliability", "test_scaling_hostile"]
_TRAINING = ["test_training", "test_plumbing", "test_checkpoint", "test_model",
             "test_performance", "test_reliability", "test_scaling_hostile"]
_CALLBACKS = ["test_callbacks", "test_callbacks_hostile", "test_checkpoint", "test_training"]
_EXPLAIN = ["test_explain", "test_explain_hostile", "test_jacobian", "test_gradcheck",
            "test_notebook"]
_CLI = ["test_cli", "test_cli_hostile", "test_tables"]
_PLAYGROUND = ["test_playground_session", "test_playground_server", "test_playground_hostile",
               "test_playground_lesson"]

#: module group → module → the test files that exercise it, fastest and most direct first
#: (``-x`` stops at the first failure, so a killed mutant costs only the tests before it).
#: A module is named by its path below src/chainrule, without ``.py`` and with dots.
GROUPS = {
    "ground": {
        "_checks": ["test_reliability", "test_model", "test_losses", "test_training"],
        "_random": ["test_training", "test_checkpoint", "test_plumbing"],
        "_kernels": ["test_kernels", "test_training", "test_optimizers"],
    },
    "nn": {
        "nn._layers": _LAYERS,
        "nn._layer": _LAYERS,
        "nn._buffers": _LAYERS,
        "nn._activations": [*_CORE, "test_losses", "test_training", "test_model",
                            "test_against_pytorch", "test_kernels"],
        "nn._losses": ["test_losses", "test_details", "test_gradcheck", "test_properties",
                       "test_explain", "test_training", "test_model", "test_against_pytorch",
                       "test_kernels"],
        "nn._normalization": ["test_normalization", "test_scaling_hostile", "test_io",
                              "test_onnx"],
        "nn._metrics": ["test_metrics", "test_training", "test_model"],
    },
    "optim": {
        "optim._optimizers": _OPTIMIZERS,
        "optim._groups": _OPTIMIZERS,
        "optim._schedules": ["test_callbacks", "test_callbacks_hostile", "test_optimizers"],
    },
    "files": {
        "files._io": _FILES,
        "files._archive": _FILES,
        "files._atomic": _FILES,
        "files._values": _FILES,
        "files._build": _FILES,
    },
    "datasets": {
        "datasets._generated": ["test_datasets", "test_book", "test_cli"],
        "datasets._real": ["test_datasets", "test_cli"],
    },
    "training": {
        "training._model": _MODEL,
        "training._data_checks": _MODEL,
        "training._loop": _TRAINING,
        "training._plan": _TRAINING,
        "training._checkpoints": ["test_checkpoint", "test_training", "test_plumbing",
                                  "test_reliability"],
        "training._callbacks": _CALLBACKS,
        "training._schedulers": _CALLBACKS,
        "training._progress": ["test_training", "test_callbacks"],
        "training._summary": ["test_summary", "test_model"],
    },
    "inspection": {
        "inspection._explain": _EXPLAIN,
        "inspection._explanation": _EXPLAIN,
        "inspection._gradcheck": ["test_gradcheck", "test_explain", "test_reliability"],
        "inspection._plotting": ["test_plotting", "test_explain"],
    },
    "cli": {
        "cli._main": _CLI,
        "cli._data": _CLI,
        "cli._report": _CLI,
        "cli._saved": _CLI,
        "cli._train": _CLI,
        "cli._tables": ["test_tables", "test_cli", "test_cli_hostile"],
    },
    "integrations": {
        "sklearn": ["test_sklearn", "test_scaling_hostile", "test_dask"],
        "onnx": ["test_onnx", "test_files_hostile"],
        "nnfs.__init__": ["test_book_objects", "test_book", "test_seed"],
        "playground.session": _PLAYGROUND,
        "playground.server": _PLAYGROUND,
        "playground.frames": _PLAYGROUND,
        "playground.settings": _PLAYGROUND,
        "playground.messages": _PLAYGROUND,
        "playground.recipe": _PLAYGROUND,
        "playground.__init__": _PLAYGROUND,
        "exercises._catalogue": ["test_exercises"],
        "exercises._cases": ["test_exercises"],
        "exercises._diagnosis": ["test_exercises"],
        "exercises._runner": ["test_exercises"],
        "exercises._grade": ["test_exercises"],
        "exercises._cli": ["test_exercises"],
    },
}
TESTS = {module: tests for group in GROUPS.values() for module, tests in group.items()}
GROUP_OF = {module: name for name, group in GROUPS.items() for module in group}

# -- the mutation operators ---------------------------------------------------------------------

SWAP_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
                ast.In: ast.NotIn, ast.NotIn: ast.In}
SWAP_ARITHMETIC = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
                   ast.FloorDiv: ast.Div, ast.Pow: ast.Mult, ast.Mod: ast.FloorDiv}
SWAP_BOOL = {ast.And: ast.Or, ast.Or: ast.And}


def _is_docstring(node) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _skipped(node) -> bool:
    """Subtrees not mutated: message text, warnings, annotations and ``__all__``.

    A changed word or number inside an error message or a warning is not a bug a
    test should catch (the tests match the message's meaning, not every digit).
    """
    if isinstance(node, (ast.JoinedStr, ast.Raise)):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "warn":
        return True
    if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                            for t in node.targets):
        return True
    return False


def _statements(parent, field: str):
    value = getattr(parent, field, None)
    return value if isinstance(value, list) and value and isinstance(value[0], ast.stmt) else None


def sites(tree: ast.Module) -> list[tuple[int, str, callable]]:
    """Every mutation of ``tree``, in a fixed order: ``(line, description, apply)``.

    ``apply()`` changes ``tree`` in place; call it on a fresh parse, never twice.
    """
    found = []

    def visit(node, parent, field, index):
        if isinstance(node, ast.Raise) and parent is not None:
            found.append((node.lineno, "raise → pass", _replace(parent, field, index,
                                                                ast.Pass())))
        if _skipped(node) or _is_docstring(node):
            return
        found.extend(_mutations(node, parent, field, index))
        for child_field, value in ast.iter_fields(node):
            if child_field in ("annotation", "returns", "decorator_list"):
                continue
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        visit(child, node, child_field, i)
            elif isinstance(value, ast.AST):
                visit(value, node, child_field, None)

    visit(tree, None, None, None)
    return found


def _replace(parent, field, index, new):
    def apply():
        if index is None:
            setattr(parent, field, new)
        else:
            getattr(parent, field)[index] = new
    return apply


def _set(node, attr, value):
    return lambda: setattr(node, attr, value)


def _mutations(node, parent, field, index):
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in SWAP_COMPARE:
                new = SWAP_COMPARE[type(op)]()
                yield line, f"{_op(op)} → {_op(new)}", _set_item(node.ops, i, new)
    elif isinstance(node, ast.BinOp) and type(node.op) in SWAP_ARITHMETIC \
            and not _is_text(node.left) and not _is_text(node.right):
        new = SWAP_ARITHMETIC[type(node.op)]()
        yield line, f"{_op(node.op)} → {_op(new)}", _set(node, "op", new)
    elif isinstance(node, ast.AugAssign) and type(node.op) in SWAP_ARITHMETIC:
        new = SWAP_ARITHMETIC[type(node.op)]()
        yield line, f"{_op(node.op)}= → {_op(new)}=", _set(node, "op", new)
    elif isinstance(node, ast.BoolOp):
        new = SWAP_BOOL[type(node.op)]()
        yield line, f"{_op(node.op)} → {_op(new)}", _set(node, "op", new)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield line, f"drop unary {_op(node.op)}", _replace(parent, field, index, node.operand)
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        yield line, f"{node.value} → {not node.value}", _set(node, "value", not node.value)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float) \
            and not (isinstance(parent, ast.keyword) and parent.arg == "stacklevel"):
        new = {0: 1, 1: 0}.get(node.value, node.value + 1)
        new = type(node.value)(new)
        yield line, f"{node.value!r} → {new!r}", _set(node, "value", new)
    elif isinstance(node, ast.Slice):
        for bound in ("lower", "upper"):
            if getattr(node, bound) is not None:
                yield line, f"slice drops its {bound} bound", _set(node, bound, None)
    if isinstance(node, ast.Dict):  # state not saved: a key missing from get_state/config
        for i, key in enumerate(node.keys):
            if key is not None:
                yield line, f"dict drops {ast.unparse(key)}", _drop_entry(node, i)
    if isinstance(node, (ast.If, ast.While, ast.IfExp)) and not (
            isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)):
        yield line, "negate condition", _set(node, "test", ast.UnaryOp(ast.Not(), node.test))
    if isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield line, "return → return None", _set(node, "value", ast.Constant(None))
    if isinstance(node, ast.stmt) and _statements(parent, field) is not None and (
            isinstance(node, (ast.AugAssign, ast.Break, ast.Continue))
            or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))
            or (isinstance(node, ast.Assign) and isinstance(node.targets[0],
                                                            (ast.Subscript, ast.Attribute)))):
        yield line, "drop statement", _replace(parent, field, index, ast.Pass())


def _drop_entry(node: ast.Dict, i: int):
    def apply():
        del node.keys[i], node.values[i]
    return apply


def _set_item(items, i, value):
    def apply():
        items[i] = value
    return apply


def _is_text(node) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant)
                                               and isinstance(node.value, (str, bytes)))


_SYMBOLS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
            ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
            ast.NotIn: "not in", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
            ast.FloorDiv: "//", ast.Pow: "**", ast.Mod: "%", ast.And: "and", ast.Or: "or",
            ast.Not: "not", ast.USub: "-"}


def _op(op) -> str:
    return _SYMBOLS[type(op)]


# -- mutants of a module ------------------------------------------------------------------------


def module_path(root: Path, module: str) -> Path:
    """``playground.session`` → ``src/chainrule/playground/session.py``."""
    return root / "src" / "chainrule" / (module.replace(".", "/") + ".py")


def count(root: Path, module: str) -> int:
    return len(sites(ast.parse(module_path(root, module).read_text())))


def mutant(root: Path, module: str, index: int) -> tuple[str, str]:
    """(description, mutated source) of mutant ``index`` of ``module``."""
    tree = ast.parse(module_path(root, module).read_text())
    line, description, apply = sites(tree)[index]
    original = ast.unparse(copy.deepcopy(tree))
    apply()
    source = ast.unparse(ast.fix_missing_locations(tree))
    changed = [d for d in difflib.unified_diff(original.splitlines(), source.splitlines(),
                                               lineterm="", n=0)
               if d[:1] in "+-" and d[:3] not in ("+++", "---")]
    return f"line {line}: {description}  |  " + "  ".join(changed)[:300], source


# -- running ------------------------------------------------------------------------------------


def make_copy(root: Path) -> Path:
    """A private copy of the repository: the tests' files, without caches or the venv."""
    work = Path(tempfile.mkdtemp(prefix="chainrule-mutants-"))
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", ".hypothesis",
                                    ".pytest_cache", ".ruff_cache", "build", "*.egg-info",
                                    "chainrule-output")
    for entry in root.iterdir():
        if entry.name in {".git", ".venv", "build"}:
            continue
        if entry.is_dir():
            shutil.copytree(entry, work / entry.name, ignore=ignore)
        else:
            shutil.copy2(entry, work / entry.name)
    return work


def run_tests(work: Path, module: str, timeout: float) -> tuple[str, float, str]:
    """Run ``module``'s tests in ``work``, stopping at the first failure.

    The first test file runs on its own, the rest together: most mutants fail in the
    first file, and then never pay for collecting the others (PyTorch's import, ...).
    Returns ("passed" | "failed" | "timeout", seconds, the first failing test or "").
    """
    files = [f"tests/{name}.py" for name in TESTS[module]
             if (work / "tests" / f"{name}.py").exists()]
    # CHAINRULE_KERNELS=numpy: the NumPy code is the definition the mutants change (with
    # numba installed, the compiled kernels beside it would otherwise run instead).
    env = {**os.environ, "PYTHONPATH": str(work / "src"), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONHASHSEED": "0", "CHAINRULE_KERNELS": "numpy"}
    start = time.monotonic()
    for stage in (files[:1], files[1:]):
        if not stage:
            continue
        shutil.rmtree(work / ".hypothesis", ignore_errors=True)  # no other mutant's examples
        command = ["nice", "-n", "19", sys.executable, "-m", "pytest", *stage, "-x", "-q",
                   "-rfE", "-p", "no:cacheprovider", "--hypothesis-seed=0", "-m", "not browser"]
        left = timeout - (time.monotonic() - start)
        process = subprocess.Popen(command, cwd=work, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            output, _ = process.communicate(timeout=max(left, 1))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # pytest and anything it started
            process.communicate()
            return "timeout", time.monotonic() - start, ""
        if process.returncode != 0:
            failed = [line.split(" ")[1] for line in output.splitlines()
                      if line.startswith(("FAILED ", "ERROR "))]
            first = failed[0] if failed else f"pytest exit {process.returncode}"
            return "failed", time.monotonic() - start, first
    return "passed", time.monotonic() - start, ""


def check_imports_the_copy(work: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(work / "src")}
    where = subprocess.run([sys.executable, "-c", "import chainrule; print(chainrule.__file__)"],
                           env=env, cwd=work, capture_output=True, text=True, check=True)
    if not where.stdout.strip().startswith(str(work)):
        sys.exit(f"the tests would import {where.stdout.strip()}, not the copy in {work}")


def choose(root: Path, modules: list[str], sample: int | None, seed: int,
           per_group: bool = False) -> list[tuple]:
    """(module, index) of every mutant, or a seeded sample, proportional to each module's.

    With ``per_group`` each module group gets ``sample`` mutants (shared among its modules
    in proportion), so every group's kill rate rests on a sample of the same size.
    """
    everything = [(m, i) for m in modules for i in range(count(root, m))]
    if sample is None or (not per_group and sample >= len(everything)):
        return everything
    rng = random.Random(seed)
    chosen = []
    for m in modules:
        mine = [site for site in everything if site[0] == m]
        pool = everything
        if per_group:
            pool = [site for site in everything if GROUP_OF[site[0]] == GROUP_OF[m]]
        share = max(1, round(sample * len(mine) / len(pool)))
        chosen += rng.sample(mine, min(share, len(mine)))
    return sorted(chosen, key=lambda site: (modules.index(site[0]), site[1]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", nargs="+", choices=list(TESTS),
                        help="these modules (default: every module of --groups)")
    parser.add_argument("--groups", nargs="+", default=list(GROUPS), choices=list(GROUPS),
                        help="these module groups (default: all)")
    parser.add_argument("--sample", type=int, help="a seeded sample of this many mutants")
    parser.add_argument("--per-group", action="store_true",
                        help="--sample mutants in each group, not in all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", help="run these mutants (module:index)")
    parser.add_argument("--log", type=Path, help="JSON lines; mutants already in it are skipped")
    parser.add_argument("--timeout", type=float,
                        help="seconds a mutant's tests may take; skips the run of each module's "
                             "tests without a mutant (which sets 10× its time otherwise)")
    parser.add_argument("--count", action="store_true", help="print the mutant counts and stop")
    parser.add_argument("--show", nargs="+", help="print these mutants (module:index) and stop")
    parser.add_argument("--report", action="store_true",
                        help="summarise the --log (counts per module, survivors) and stop")
    args = parser.parse_args(argv)
    if args.modules is None:
        args.modules = [m for g in args.groups for m in GROUPS[g]]

    if args.count:
        for m in args.modules:
            print(f"{m:14s} {count(ROOT, m):5d}")
        return 0
    if args.show:
        for name in args.show:
            module, index = name.split(":")
            print(f"{name}  {mutant(ROOT, module, int(index))[0]}")
        return 0
    if args.report:  # the latest result of each chosen mutant of the current source
        current = {m: _digest(module_path(ROOT, m).read_text()) for m in args.modules}
        chosen = set(choose(ROOT, args.modules, args.sample, args.seed, args.per_group))
        records = {(r["module"], r["index"]): r for r in map(json.loads, args.log.open())
                   if current.get(r["module"]) == r["source"]
                   and (r["module"], r["index"]) in chosen}
        survivors = [r for r in records.values() if r["status"] == "survived"]
        for r in sorted(survivors, key=lambda r: (r["module"], r["index"])):
            print(f"survived {r['module']}:{r['index']}  {r['mutant']}")
        summarize(list(records.values()))
        return 0
    if args.only:
        chosen = [(name.split(":")[0], int(name.split(":")[1])) for name in args.only]
    else:
        chosen = choose(ROOT, args.modules, args.sample, args.seed, args.per_group)
    done = set()  # killed before, on this very source: survivors are always run again
    if args.log and args.log.exists():
        done = {(r["module"], r["index"], r["source"]) for r in map(json.loads, args.log.open())
                if r["status"] != "survived"}
    work = make_copy(ROOT)
    # A terminated run still removes its copy (SIGTERM would skip the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    try:
        check_imports_the_copy(work)
        return _run(work, chosen, done, args.log, args.timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, chosen: list[tuple], done: set, log: Path | None,
         timeout: float | None = None) -> int:
    baseline = {}
    results = []
    for module, index in chosen:
        path = module_path(work, module)
        original = path.read_text()
        digest = _digest(original)
        if (module, index, digest) in done:
            continue
        if timeout is not None:
            baseline[module] = timeout / 10
        if module not in baseline:
            status, seconds, _ = run_tests(work, module, timeout=1800)
            if status != "passed":
                sys.exit(f"the tests of {module} fail without any mutant: fix them first")
            baseline[module] = seconds
        description, source = mutant(work, module, index)
        path.write_text(source)
        try:
            status, seconds, test = run_tests(work, module,
                                              timeout=max(120, 10 * baseline[module]))
        finally:
            path.write_text(original)
        status = {"failed": "killed", "passed": "survived"}.get(status, status)
        record = {"module": module, "index": index, "source": digest, "status": status,
                  "seconds": round(seconds, 1), "mutant": description, "killed_by": test}
        results.append(record)
        print(f"{status:9s} {module}:{index:<5d} {seconds:6.1f}s  {description}", flush=True)
        if log:
            with log.open("a") as f:
                f.write(json.dumps(record) + "\n")
    summarize(results)
    return 0


def _digest(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()[:12]


def summarize(results: list[dict]) -> None:
    """A line per module, then per group (with its kill rate), then the total."""
    print(f"\n{'module':20s} {'mutants':>8s} {'killed':>7s} {'timeout':>8s} {'survived':>9s}")
    rows = [(m, [r for r in results if r["module"] == m])
            for m in sorted({r["module"] for r in results}, key=list(TESTS).index)]
    rows += [(f"[{g}]", [r for r in results if GROUP_OF.get(r["module"]) == g])
             for g in GROUPS]
    for name, mine in [*rows, ("total", results)]:
        if not mine:
            continue
        n = {s: sum(r["status"] == s for r in mine) for s in ("killed", "timeout", "survived")}
        rate = f"{(len(mine) - n['survived']) / len(mine):8.1%}" if name[0] == "[" else ""
        print(f"{name:20s} {len(mine):8d} {n['killed']:7d} {n['timeout']:8d} "
              f"{n['survived']:9d}{rate}")
    total = len(results)
    if total:
        caught = sum(r["status"] != "survived" for r in results)
        print(f"kill rate (killed + timeouts): {caught}/{total} = {caught / total:.1%}")


if __name__ == "__main__":
    sys.exit(main())

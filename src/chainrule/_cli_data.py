"""The command line's data: built-in datasets and CSV tables as arrays, the task, the
class labels, and the held-out split that ``train`` makes and ``evaluate`` reuses.

The split is written to ``split.json`` beside the model: the dataset, the seed,
the fraction held out and the held-out rows (0-based data rows; for a CSV file
also its SHA-256, so a changed file is noticed rather than silently mis-split).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import datasets, tables
from ._atomic import atomic_write

GENERATED = ("spiral", "vertical")  # held out: a fresh draw of the same distribution
BUILTIN = ("spiral", "vertical", "sine", "digits", "fashion-mnist")
TASKS = {"spiral": "classification", "vertical": "classification", "sine": "regression",
         "digits": "classification", "fashion-mnist": "classification"}
SPLIT_FILE = "split.json"


@dataclass
class Dataset:
    """Every row of a dataset, with its targets encoded for the network.

    ``y`` holds class indices (n,) for classification and float targets (n, 1)
    for regression; ``classes`` are the original labels in the order of the
    outputs (None for regression). ``fresh`` is a held-out set that is not rows
    of ``X``: a new draw of a generated dataset, or Fashion-MNIST's test set.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    why: str
    classes: list | None = None
    feature_names: list | None = None
    target_name: str | None = None
    digest: str | None = None
    fresh: tuple | None = None

    @property
    def source(self) -> str:
        return self.name if self.name in BUILTIN else str(Path(self.name).resolve())

    def describe(self) -> str:
        rows = f"{len(self.X):,} rows" if self.fresh is None else f"{len(self.X):,} samples"
        names = ""
        if self.feature_names:
            shown = ", ".join(self.feature_names[:6])
            names = f" ({shown}{', …' if len(self.feature_names) > 6 else ''})"
        target = f", target {self.target_name!r}" if self.target_name else ""
        return f"{self.name}: {rows}, {self.X.shape[1]} features{names}{target}"


def load(name: str, *, task: str | None = None, target=None, seed: int = 0,
         classes: list | None = None) -> Dataset:
    """A built-in dataset or a CSV file, every row of it.

    ``task`` overrides the guess for a CSV file; ``classes`` (a saved model's) fixes
    the label order instead of reading it from the data.
    """
    if name in BUILTIN:
        if task is not None and task != TASKS[name]:
            raise ValueError(f"--task {task}: the {name} dataset is {TASKS[name]}")
        return _builtin(name, seed)
    path = Path(name)
    if path.suffix.lower() != ".csv" or not path.is_file():
        raise ValueError(f"--dataset must be one of {', '.join(BUILTIN)} or an existing .csv "
                         f"file; got {name!r}")
    table = tables.read_table(path, target=target)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    common = {"feature_names": table.feature_names, "target_name": table.target_name,
              "digest": digest}
    if task is None:
        task, why = tables.guess_task(table.target)
        why = f"guessed: {why}; --task decides otherwise"
    else:
        why = "--task"
    if task == "regression":
        y = tables.target_numbers(table.target, table).reshape(-1, 1)
        return Dataset(name, table.X, y, task, why, **common)
    labels = tables.ClassLabels(classes) if classes is not None else \
        tables.ClassLabels.from_target(table.target)
    return Dataset(name, table.X, labels.encode(table.target), task, why,
                   classes=labels.classes, **common)


def _builtin(name: str, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    if name in GENERATED:
        make = datasets.spiral_data if name == "spiral" else datasets.vertical_data
        X, y = make(100, 3, rng=rng)
        fresh = make(100, 3, rng=rng)
        return Dataset(name, X, y, "classification", "the spiral and vertical data are "
                       "classes", classes=[0, 1, 2], fresh=fresh)
    if name == "sine":
        X, y = datasets.sine_data()
        return Dataset(name, X, y.reshape(-1, 1), "regression", "sine is a curve to fit")
    if name == "digits":
        X, y = datasets.load_digits()
        return Dataset(name, X, y, "classification", "digits are classes",
                       classes=list(range(10)))
    X, y, X_test, y_test = datasets.load_fashion_mnist()
    return Dataset(name, X, y, "classification", "fashion items are classes",
                   classes=list(range(10)), fresh=(X_test, y_test))


def split(data: Dataset, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(train_rows, test_rows) of ``data``; test_rows is None when ``data.fresh`` is the
    held-out set. Classes are held out in proportion (stratified)."""
    if data.fresh is not None:
        return np.arange(len(data.X)), None
    rng = np.random.default_rng([seed, 1])  # its own stream: the seed also draws weights
    classes = data.y if data.task == "classification" else None
    return tables.stratified_split(classes, len(data.X), test_size, rng)


def save_split(folder: Path, data: Dataset, seed: int, test_size: float, target,
               test_rows: np.ndarray | None) -> Path:
    """Write the split ``evaluate`` reuses; return its path."""
    record = {"format": "chainrule-split", "dataset": data.source, "seed": seed,
              "test_size": test_size, "target": target, "rows": len(data.X),
              "sha256": data.digest,
              "test_rows": None if test_rows is None else [int(i) for i in test_rows]}
    path = folder / SPLIT_FILE
    atomic_write(path, lambda f: f.write(json.dumps(record, indent=1).encode("utf-8")))
    return path


def held_out(split_path: Path, classes: list | None, task: str):
    """(X, y, description) of the held-out rows recorded in ``split_path``."""
    try:
        record = json.loads(split_path.read_text(encoding="utf-8"))
        name, seed = record["dataset"], int(record["seed"])
        rows = record["test_rows"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{split_path} is not a split written by chainrule train "
                         f"({exc})") from None
    data = load(name, task=task if name not in BUILTIN else None,
                target=record.get("target"), seed=seed, classes=classes)
    if data.digest != record.get("sha256") or len(data.X) != record.get("rows"):
        raise ValueError(f"{name} has changed since training, so its held-out rows are "
                         "unknown; give --dataset to evaluate on a file of your choice")
    shown = Path(name).name if name not in BUILTIN else name
    if rows is None:
        X, y = data.fresh
        return X, y, (f"a fresh draw of {len(X):,} {shown} samples, held out "
                      f"(seed {seed}, recorded in {split_path})")
    rows = np.asarray(rows, dtype=np.int64)
    return data.X[rows], data.y[rows], (f"the {len(rows):,} held-out rows of {shown} "
                                        f"(the split train made, recorded in {split_path})")

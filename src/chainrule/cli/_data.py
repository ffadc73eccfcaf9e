"""The command line's data: built-in datasets and CSV tables as arrays, the task, the
class labels, and the held-out split that ``train`` makes and ``evaluate`` reuses.

The split is written to ``split.json`` beside the model: the dataset, the seed,
the fraction held out, the held-out rows (0-based data rows) and the SHA-256 of
the data (of a CSV file's bytes, or of a built-in dataset's arrays), so a changed
file is noticed rather than silently mis-split. The model's metadata records the
same digest, so a ``split.json`` left beside it by another run is noticed too.

A table read for a saved model (``evaluate``, ``explain`` and ``predict`` alike) goes
through one function, ``load_for_model``: the target and the order of the features
come from the model's metadata, columns are matched by name when the file has a
header, and a file that does not match is refused.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import datasets, nn
from ..files import atomic_write
from ..nn import Normalization
from . import _tables as tables

GENERATED = ("spiral", "vertical")  # held out: a fresh draw of the same distribution
BUILTIN = ("spiral", "vertical", "sine", "digits", "fashion-mnist")
TASKS = {"spiral": "classification", "vertical": "classification", "sine": "regression",
         "digits": "classification", "fashion-mnist": "classification"}
#: what a model trained on each built-in dataset takes as inputs (the raw values)
INPUTS = {"spiral": "x and y as chainrule.datasets.spiral_data draws them",
          "vertical": "x and y as chainrule.datasets.vertical_data draws them",
          "sine": "x in [0, 1), as chainrule.datasets.sine_data",
          "digits": "raw pixel intensities 0–16, as sklearn.datasets.load_digits().data "
                    "(chainrule.datasets.load_digits(raw=True))",
          "fashion-mnist": "raw pixel values 0–255, 784 per image "
                           "(chainrule.datasets.load_fashion_mnist(raw=True))"}
SPLIT_FILE = "split.json"
#: an input further outside the training range than this share of its width is warned of
OUTSIDE = 0.5


@dataclass
class Dataset:
    """Every row of a dataset, with its targets encoded for the network.

    ``y`` holds class indices (n,) for classification and float targets (n, 1)
    for regression (None when a file read for ``predict`` has no targets);
    ``classes`` are the original labels in the order of the outputs (None for
    regression). ``fresh`` is a held-out set that is not rows of ``X``: a new
    draw of a generated dataset, or Fashion-MNIST's test set. ``digest`` is the
    SHA-256 of the data. ``target_column`` counts from 1.
    """

    name: str
    X: np.ndarray
    y: np.ndarray | None
    task: str
    why: str
    classes: list | None = None
    feature_names: list | None = None
    target_name: str | None = None
    digest: str | None = None
    fresh: tuple | None = None
    target_column: int | None = None

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


def load(name: str, *, task: str | None = None, target=None, seed: int = 0) -> Dataset:
    """A built-in dataset or a CSV file, every row of it, as ``train`` reads it.

    ``task`` overrides the guess for a CSV file.
    """
    if name in BUILTIN:
        if task is not None and task != TASKS[name]:
            raise ValueError(f"--task {task}: the {name} dataset is {TASKS[name]}")
        return _builtin(name, seed)
    table = tables.read_table(_csv_path(name), target=target)
    if task is None:
        task, why = tables.guess_task(table.target)
        why = f"guessed: {why}; --task decides otherwise"
    else:
        why = "--task"
    labels = tables.ClassLabels.from_target(table.target) if task == "classification" \
        else None
    return _from_table(name, table, task, why, labels)


def _csv_path(name: str) -> Path:
    path = Path(name)
    if path.suffix.lower() != ".csv" or not path.is_file():
        raise ValueError(f"--dataset must be one of {', '.join(BUILTIN)} or an existing .csv "
                         f"file; got {name!r}")
    return path


def _from_table(name: str, table: tables.Table, task: str, why: str,
                labels: tables.ClassLabels | None, X=None) -> Dataset:
    y = None
    if table.target is not None and task == "regression":
        y = tables.target_numbers(table.target, table).reshape(-1, 1)
    elif table.target is not None and labels is not None:
        y = labels.encode(table.target)
    elif table.target is not None:
        y = _class_indices(name, tables.target_numbers(table.target, table))
    return Dataset(name, table.X if X is None else X, y, task, why,
                   classes=None if labels is None else labels.classes,
                   feature_names=table.feature_names, target_name=table.target_name,
                   digest=table.sha256, target_column=table.target_column)


def _builtin(name: str, seed: int) -> Dataset:
    # Raw values (digits 0–16, Fashion-MNIST 0–255): the model scales them itself, so
    # that predict takes what the data's own source gives.
    rng = np.random.default_rng(seed)
    if name in GENERATED:
        make = datasets.spiral_data if name == "spiral" else datasets.vertical_data
        X, y = make(100, 3, rng=rng)
        fresh = make(100, 3, rng=rng)  # the same generator, drawn on: new points
        data = Dataset(name, X, y, "classification", "the spiral and vertical data are "
                       "classes", classes=[0, 1, 2], fresh=fresh)
    elif name == "sine":
        X, y = datasets.sine_data()
        data = Dataset(name, X, y.reshape(-1, 1), "regression", "sine is a curve to fit")
    elif name == "digits":
        X, y = datasets.load_digits(raw=True)
        data = Dataset(name, X, y, "classification", "digits are classes",
                       classes=list(range(10)))
    else:
        X, y, X_test, y_test = datasets.load_fashion_mnist(raw=True)
        data = Dataset(name, X, y, "classification", "fashion items are classes",
                       classes=list(range(10)), fresh=(X_test, y_test))
    data.digest = _digest(data.X, data.y, *(data.fresh or ()))
    return data


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# -- the held-out split -------------------------------------------------------------------------


def split(data: Dataset, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(train_rows, test_rows) of ``data``; test_rows is None when ``data.fresh`` is the
    held-out set. Classes are held out in proportion (stratified)."""
    if data.fresh is not None:
        return np.arange(len(data.X)), None
    rng = np.random.default_rng([seed, 1])  # its own stream: the seed also draws weights
    classes = data.y if data.task == "classification" else None
    return tables.stratified_split(classes, len(data.X), test_size, rng)


def split_record(data: Dataset, seed: int, test_size: float, target,
                 test_rows: np.ndarray | None) -> dict:
    """What ``split.json`` holds (and, less the rows and the path, the model's metadata)."""
    return {"format": "chainrule-split", "dataset": data.source, "seed": seed,
            "test_size": test_size, "target": target, "rows": len(data.X),
            "sha256": data.digest,
            "test_rows": None if test_rows is None else [int(i) for i in test_rows]}


def split_identity(record: dict) -> dict:
    """The part of a split record a model's metadata keeps: enough to know it is its own."""
    return {key: record.get(key) for key in ("seed", "test_size", "rows", "sha256")}


def save_split(folder: Path, record: dict) -> Path:
    """Write the split ``evaluate`` reuses; return its path."""
    path = folder / SPLIT_FILE
    atomic_write(path, lambda f: f.write(json.dumps(record, indent=1).encode("utf-8")))
    return path


def read_split(split_path: Path, model_columns: Columns) -> dict:
    """The split recorded beside a model, checked to be that model's own."""
    try:
        record = json.loads(split_path.read_text(encoding="utf-8"))
        missing = {"dataset", "seed", "test_rows"} - set(record)
        if missing:
            raise KeyError(", ".join(sorted(missing)))
        int(record["seed"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{split_path} is not a split written by chainrule train "
                         f"({exc})") from None
    own = model_columns.split
    if own is not None and split_identity(record) != own:
        raise ValueError(f"{split_path} was written by another training run than the model "
                         "beside it (the digest of its data or its seed differs), so the "
                         "model's held-out rows are unknown; give --dataset")
    return record


def same_dataset(record: dict, name: str) -> bool:
    """Whether ``name`` (as given on the command line) is the dataset ``record`` split:
    the same built-in name, or the same file wherever it is named from (paths are
    resolved on both sides), or a file with the same content."""
    recorded = record.get("dataset")
    if name in BUILTIN or recorded in BUILTIN:
        return name == recorded
    if str(Path(name).resolve()) == recorded:
        return True
    try:
        return hashlib.sha256(Path(name).read_bytes()).hexdigest() == record.get("sha256")
    except OSError:
        return False


def held_out(record: dict, split_path: Path, model_columns: Columns, name: str | None = None):
    """(X, y, description) of the held-out rows recorded in ``record``; ``name`` reads the
    data from another path of the same content."""
    recorded, seed, rows = record["dataset"], int(record["seed"]), record["test_rows"]
    data = load_for_model(name or recorded, model_columns, seed=seed, need_target=True,
                          warn=False)
    if data.digest != record.get("sha256") or len(data.X) != record.get("rows"):
        raise ValueError(f"{name or recorded} has changed since training (its SHA-256 or its "
                         "row count differs from the one recorded), so its held-out rows are "
                         "unknown; give --dataset and --all-rows to evaluate on it as it is")
    warn_outside(data.X, model_columns, name or recorded)  # once it is known to be the data
    shown = Path(data.name).name if data.name not in BUILTIN else data.name
    if rows is None:
        X, y = data.fresh
        return X, y, (f"a fresh draw of {len(X):,} {shown} samples, held out "
                      f"(seed {seed}, recorded in {split_path})")
    rows = np.asarray(rows, dtype=np.int64)
    if rows.ndim != 1 or (len(rows) and (rows.min() < 0 or rows.max() >= len(data.X))):
        raise ValueError(f"{split_path}: test_rows must be row numbers of {shown} "
                         f"(0 to {len(data.X) - 1})")
    return data.X[rows], data.y[rows], (f"the {len(rows):,} held-out rows of {shown} "
                                        f"(the split train made, recorded in {split_path})")


# -- what a saved model expects -----------------------------------------------------------------


@dataclass
class Columns:
    """What a saved model takes: from the metadata ``train`` writes, else from the model.

    ``features`` are the column names in the order of the model's inputs (None when
    the training data had no header); ``target`` the target's name and
    ``target_column`` its position (from 1) in the training file; ``low``/``high``
    each feature's range on the training rows; ``split`` the identity of its split.
    """

    task: str
    classes: list | None
    n_features: int | None
    features: list | None = None
    target: str | None = None
    target_column: int | None = None
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    split: dict | None = None
    inputs: str | None = field(default=None, repr=False)


def columns_of(model) -> Columns:
    """The task, classes and columns ``model`` was trained on (its metadata, else its loss
    and its layers' widths)."""
    meta = model.metadata if isinstance(getattr(model, "metadata", None), dict) else {}
    model.metadata = meta
    task = meta.get("task")
    if task not in ("classification", "regression"):
        task = "classification" if isinstance(model.loss, nn.CategoricalCrossentropy) \
            else "regression"
    _check_metadata(meta)
    widths = [layer for layer in model.layers if getattr(layer, "n_inputs", None)]
    n_features = meta.get("n_features", widths[0].n_inputs if widths else None)
    classes = meta.get("classes")
    width = next((layer.n_neurons for layer in reversed(model.layers)
                  if hasattr(layer, "n_neurons")), None)
    if task == "classification" and not isinstance(classes, list):
        classes = list(range(width)) if width else None
    elif task == "classification" and len(tables.ClassLabels(classes)) != width and width:
        raise ValueError(f"the model's metadata names {len(classes)} classes {classes[:10]}; "
                         f"the model has {width} outputs")
    features = meta.get("features")
    if features is not None and (not isinstance(features, list) or not all(
            isinstance(name, str) for name in features) or len(set(features)) != len(
            features) or (
            n_features is not None and len(features) != n_features)):
        raise ValueError(f"the model's metadata names its features {features!r}; that is not "
                         f"a list of {n_features} distinct names")
    ranges = meta.get("range") or {}
    try:
        low, high = (np.asarray(ranges[key], dtype=np.float64) if key in ranges else None
                     for key in ("min", "max"))
    except (TypeError, ValueError):
        raise ValueError(f"the model's metadata gives its input range as {ranges!r}; that is "
                         "not two lists of numbers") from None
    if n_features is not None and any(ends is not None and ends.shape != (n_features,)
                                      for ends in (low, high)):
        raise ValueError(f"the model's metadata gives its input range as {ranges!r}; that is "
                         f"not two lists of {n_features} numbers")
    return Columns(task, classes, n_features, features, meta.get("target"),
                   meta.get("target_column"), low, high, meta.get("split"),
                   meta.get("inputs"))


#: what each key of a model's metadata must be, if it is there (None is always allowed)
_METADATA = {"target": ("a column name", lambda v: isinstance(v, str)),
             "target_column": ("a column number (from 1)", lambda v: _whole(v, 1)),
             "n_features": ("a number of features", lambda v: _whole(v, 1)),
             "classes": ("a list of class labels (text or numbers)", lambda v: isinstance(
                 v, list) and all(isinstance(c, (str, int, float)) and not isinstance(c, bool)
                                  for c in v)),
             "range": ("an object of two lists, min and max", lambda v: isinstance(v, dict)),
             "split": ("an object", lambda v: isinstance(v, dict)),
             "inputs": ("a sentence", lambda v: isinstance(v, str))}


def _whole(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_metadata(meta: dict) -> None:
    """Each key ``train`` writes, if present, of the kind it writes: a file from anyone
    is refused in words, not with a TypeError from deep inside."""
    for key, (what, fits) in _METADATA.items():
        value = meta.get(key)
        if value is not None and not fits(value):
            raise ValueError(f"the model's metadata gives {key!r} as {str(value)[:80]}; that "
                             f"is not {what}")


def input_metadata(data: Dataset, X_train: np.ndarray, scaled: bool) -> dict:
    """The metadata ``train`` records about its inputs: their columns, their units and each
    feature's range on the training rows (``predict`` warns outside it)."""
    inputs = INPUTS.get(data.name, f"the columns of {Path(data.name).name} as they are")
    inputs += "; the model standardises them itself" if scaled else \
        "; the model does not scale them (--no-scaling)"
    return {"features": data.feature_names, "target": data.target_name,
            "target_column": data.target_column, "n_features": int(data.X.shape[1]),
            "inputs": inputs,
            "range": {"min": [float(v) for v in X_train.min(axis=0)],
                      "max": [float(v) for v in X_train.max(axis=0)]}}


def load_for_model(name: str, columns: Columns, *, seed: int = 0,
                   need_target: bool = True, warn: bool = True) -> Dataset:
    """A built-in dataset or a CSV file read for a saved model: the one way ``evaluate``,
    ``explain`` and ``predict`` read data.

    The features come in the model's order: by name when the file's header has the
    model's names (in any order), else by position; the target is the model's target
    column (by name, else at its position in the training file). A file with a column
    missing, an unknown column or another width is refused. ``need_target=False``
    (``predict``) reads a file without a target column, or with one that is empty.
    Inputs far outside the training range are warned of on stderr (unless ``warn`` is
    False: the caller checks the data first).
    """
    if name in BUILTIN:
        data = _builtin_for_model(name, columns, seed)
    else:
        data = _table_for_model(_csv_path(name), columns, need_target)
    if warn:
        warn_outside(data.X, columns, name)
    return data


def _builtin_for_model(name: str, columns: Columns, seed: int) -> Dataset:
    if TASKS[name] != columns.task:
        raise ValueError(f"the {name} dataset is {TASKS[name]}; the model is a "
                         f"{columns.task} model")
    data = _builtin(name, seed)
    if columns.n_features is not None and data.X.shape[1] != columns.n_features:
        raise ValueError(f"{name} has {data.X.shape[1]} features; the model takes "
                         f"{columns.n_features}")
    if columns.task == "classification":
        # The dataset's labels through the model's classes: a model trained on other
        # labels refuses them rather than reading them as its own output indices.
        labels = tables.ClassLabels(columns.classes)
        data.y = labels.encode(data.y)
        if data.fresh is not None:
            data.fresh = (data.fresh[0], labels.encode(data.fresh[1]))
        data.classes = labels.classes
    return data


def _table_for_model(path: Path, columns: Columns, need_target: bool) -> Dataset:
    first = tables.first_line(path)
    names, target = columns.features, columns.target
    labels = tables.ClassLabels(columns.classes) if columns.task == "classification" \
        and columns.classes is not None else None
    if names is not None and set(first) & {*names, target}:
        return _by_name(path, first, columns, need_target, labels)
    width, n = len(first), columns.n_features
    if n is None:  # a model built by hand, with no width to go by: the file decides
        n = width - 1 if need_target else width
    if width == n + 1:
        number = columns.target_column or width
        table = tables.read_table(path, target=number, empty_target=not need_target)
    elif width == n and not need_target:
        table = tables.read_table(path, has_target=False)
    else:
        wanted = f"{n} features and the target" if need_target else \
            f"{n} features (and, if you like, the target)"
        raise ValueError(f"{path} has {width} columns; the model takes {wanted}" +
                         _takes(columns))
    if names is not None and table.feature_names is not None:
        raise ValueError(f"{path} has the columns {table.feature_names}; the model was "
                         f"trained on {names}" + _takes(columns))
    if not need_target:
        return _features_only(path, table, columns)
    return _from_table(str(path), table, columns.task, "the model's", labels)


def _class_indices(name: str, numbers: np.ndarray) -> np.ndarray:
    """A model that names no classes (built in Python, no metadata) answers with its
    outputs' indices: the file's labels must be those indices, 0, 1, …"""
    if not np.all((numbers >= 0) & (numbers == np.round(numbers))):
        raise ValueError(f"{name}: the model names no classes, so its targets must be class "
                         "indices 0, 1, …; the file's are not")
    return numbers.astype(np.intp)


def _takes(columns: Columns) -> str:
    """The model's own sentence on its inputs (a playground model's features are computed
    from raw points, and it says how), for a refusal."""
    return f" (it takes {columns.inputs})" if columns.inputs else ""


def _by_name(path: Path, first: list, columns: Columns, need_target: bool,
             labels) -> Dataset:
    names, target = columns.features, columns.target
    missing = [name for name in names if name not in first]
    extra = [name for name in first if name not in names and name != target]
    if missing or extra:
        problem = f"lacks {missing}" if missing else f"has columns the model was not " \
            f"trained on: {extra}"
        raise ValueError(f"{path} {problem}; the model was trained on {names}" +
                         (f" with the target {target!r}" if target else "") + _takes(columns))
    has_target = target is not None and target in first
    if need_target and not has_target:
        raise ValueError(f"{path} has no column {target!r}, the target the model was "
                         "trained on")
    table = tables.read_table(path, has_target=has_target, target=target if has_target
                              else None, empty_target=not need_target)
    if table.feature_names is None:  # the names were on a line of data, not a header
        raise ValueError(f"{path}: the first line is not a header; the model was trained "
                         f"on {names}")
    X = table.X[:, [table.feature_names.index(name) for name in names]]
    if not need_target:
        return _features_only(path, table, columns, X)
    data = _from_table(str(path), table, columns.task, "the model's", labels, X)
    data.feature_names = list(names)
    return data


def _features_only(path: Path, table: tables.Table, columns: Columns, X=None) -> Dataset:
    return Dataset(str(path), table.X if X is None else X, None, columns.task, "the model's",
                   classes=columns.classes, feature_names=columns.features,
                   target_name=columns.target, digest=table.sha256)


def warn_outside(X: np.ndarray, columns: Columns, name: str) -> None:
    """Warn on stderr, naming the columns, when inputs lie far outside the training range:
    a model answers there without a word, and raw pixels given to a model that
    expects scaled ones (or the reverse) look just like that."""
    low, high = columns.low, columns.high
    if low is None or high is None or low.shape != (X.shape[1],) or high.shape != low.shape:
        return
    # Half the width beyond either end. A column that never varied has a width of 1:
    # the model scales it by σ = 1 (or not at all), so any change reaches the network
    # as is, through weights that never learned what a change there means.
    with np.errstate(over="ignore"):  # a width of ±1e308 columns is inf: nothing is outside
        width = np.where(high > low, high - low, 1.0)
        outside = (X < low - OUTSIDE * width) | (X > high + OUTSIDE * width)
    columns_out = np.flatnonzero(outside.any(axis=0))
    if not len(columns_out):
        return
    names = columns.features or [f"column {j + 1}" for j in range(X.shape[1])]
    shown = ", ".join(f"{names[j]} ({low[j]:.4g} to {high[j]:.4g})" for j in columns_out[:5])
    more = f" and {len(columns_out) - 5} more" if len(columns_out) > 5 else ""
    print(f"chainrule: warning: {name}: {int(outside.any(axis=1).sum()):,} of {len(X):,} rows "
          f"lie far outside the range the model was trained on, in {shown}{more}; its "
          "answers there are guesses" + (f" (the model takes {columns.inputs})"
                                          if columns.inputs else ""), file=sys.stderr)


def check_fits(model, X: np.ndarray, names: list | None, source: str) -> None:
    """Refuse, naming the column by its name, inputs the model's dtype cannot carry: raw
    values beyond it, or (a model that scales its inputs) values its Normalization maps
    beyond it (a column constant in training has σ = 1, so 1e39 stays 1e39)."""
    if not model.layers or not len(X):
        return
    limit = np.finfo(model.dtype).max
    first = model.layers[0]
    scaled = isinstance(first, Normalization) and first.mean is not None and \
        first.mean.shape[1] == X.shape[1]
    ends = np.vstack([X.min(axis=0), X.max(axis=0)])
    with np.errstate(over="ignore", invalid="ignore"):
        mapped = first.transform(ends) if scaled else ends
    bad = np.flatnonzero(~(np.abs(mapped) <= limit).all(axis=0))
    if not len(bad):
        return
    j = int(bad[0])
    end = int(not np.abs(mapped[0, j]) > limit)  # the smallest value, else the largest
    name = repr(names[j]) if names else f"{j + 1} (counted from 1)"
    how = f"which the model's scaling maps to {mapped[end, j]:g}, " if scaled else ""
    raise ValueError(f"{source}: column {name} holds {ends[end, j]:g}, {how}beyond what the "
                     f"model's {model.dtype} can hold (±{limit:.3g})" +
                     (f"; {len(bad) - 1} more column(s) too" if len(bad) > 1 else ""))

"""The commands that use a saved model: ``evaluate``, ``predict`` and ``explain``.

A model written by ``chainrule train`` carries its task, class labels and column
names in ``model.metadata`` (a small JSON object in the file's header), and the
held-out split beside it in ``split.json``; a model built by hand falls back on
its loss and output width.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import _cli_data, losses, tables
from ._atomic import atomic_write
from ._cli_report import report_held_out
from .io import ModelFileError
from .model import Model

DATASETS = _cli_data.BUILTIN


def evaluate(args) -> int:
    model = load_model(args.model)
    if model.loss is None:
        raise ValueError(f"{args.model} has no loss to evaluate with")
    task, classes = _model_task(model)
    split_path = args.model.parent / _cli_data.SPLIT_FILE
    same = args.dataset is None or (split_path.exists() and _same_dataset(split_path,
                                                                          args.dataset))
    if args.dataset is None and not split_path.exists():
        raise ValueError(f"no --dataset given and no {split_path} (the split train records "
                         "beside the model): give --dataset")
    if same and not args.all_rows:
        X, y, what = _cli_data.held_out(split_path, classes, task)
    else:
        name = args.dataset
        data = _cli_data.load(name, task=task if name not in DATASETS else None,
                              seed=args.seed, classes=classes)
        X, y = data.X, data.y
        what = f"all {len(X):,} rows of {name} (the dataset you gave)"
    print(f"evaluated on {what}")
    print(report_held_out(model, X, y, task))
    return 0


def predict(args) -> int:
    model = load_model(args.model)
    task, classes = _model_task(model)
    features = model.metadata.get("features")
    target = model.metadata.get("target")
    if target and target in (tables.header_names(args.input) or ()):
        table = tables.read_table(args.input, target=target)  # the targets are ignored
    else:
        table = tables.read_table(args.input, has_target=False)
    X, names = table.X, table.feature_names
    if features and names is not None and names != features:
        raise ValueError(f"{args.input} has the columns {names}; the model was trained on "
                         f"{features}")
    outputs = model.predict(X)
    if task == "classification" and args.proba:
        header, rows = [str(label) for label in classes], outputs
        lines = [",".join(f"{p:.6g}" for p in row) for row in rows]
    elif task == "classification":
        header = [target or "prediction"]
        lines = [str(label) for label in
                 _labels(classes, model.output_layer_activation.predictions(outputs))]
    else:
        if args.proba:
            raise ValueError("--proba is for classifiers; this model is a regression")
        header = [target or "prediction"] if outputs.shape[1] == 1 else None
        lines = [",".join(f"{v:.8g}" for v in row) for row in outputs]
    if args.output is None:
        print("\n".join([",".join(header)] * bool(args.proba) + lines))
        return 0
    text = "\n".join(([",".join(header)] if header else []) + lines) + "\n"
    atomic_write(args.output, lambda f: f.write(text.encode("utf-8")))
    print(f"wrote {len(lines)} predictions to {args.output}")
    return 0


def explain_command(args) -> int:
    from .explain import explain  # the explain engine imports only the core

    model = load_model(args.model)
    if model.loss is None:
        raise ValueError(f"{args.model} has no loss: the chain starts at the loss")
    try:
        index = tuple(int(part) for part in args.index.split(","))
    except ValueError:
        raise ValueError(f"--index must be I,J (or J for biases); got {args.index!r}") from None
    if len(index) not in (1, 2):
        raise ValueError(f"--index must be I,J (or J for biases); got {args.index!r}")
    task, classes = _model_task(model)
    data = _cli_data.load(args.dataset, task=task if args.dataset not in DATASETS else None,
                          seed=args.seed, classes=classes)
    X, y = data.X, data.y
    if args.samples is not None:
        if args.samples < 1:
            raise ValueError(f"--samples must be >= 1; got {args.samples}")
        X, y = X[:args.samples], y[:args.samples]
    print(explain(model, X, y, layer=args.layer, param=args.param,
                  index=index[0] if len(index) == 1 else index))
    return 0


def _model_task(model) -> tuple[str, list | None]:
    """The task and class labels a model was trained for (its metadata, else its loss)."""
    meta = model.metadata if isinstance(getattr(model, "metadata", None), dict) else {}
    model.metadata = meta
    task = meta.get("task")
    if task not in ("classification", "regression"):
        task = "classification" if isinstance(model.loss, losses.CategoricalCrossentropy) \
            else "regression"
    classes = meta.get("classes")
    if task == "classification" and not isinstance(classes, list):
        width = next((layer.n_neurons for layer in reversed(model.layers)
                      if hasattr(layer, "n_neurons")), None)
        classes = list(range(width)) if width else None
    return task, classes


def _same_dataset(split_path: Path, name: str) -> bool:
    try:
        recorded = json.loads(split_path.read_text(encoding="utf-8")).get("dataset")
    except (OSError, ValueError, AttributeError):
        return False
    given = name if name in DATASETS else str(Path(name).resolve())
    return recorded == given


def _labels(classes, indices) -> list:
    return [classes[int(i)] for i in np.asarray(indices).ravel()]


def load_model(path: Path) -> Model:
    try:
        return Model.load(path)
    except ModelFileError as exc:
        raise ValueError(str(exc)) from exc

"""The commands that use a saved model: ``evaluate``, ``predict`` and ``explain``.

A model written by ``chainrule train`` carries its task, class labels, column
names, input ranges and the identity of its split in ``model.metadata`` (a small
JSON object in the file's header), and the held-out split beside it in
``split.json``; a model built by hand falls back on its loss and its widths. All
three commands read their data through ``_cli_data.load_for_model``, so the
target and the feature order are always the model's own.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..files import ModelFileError, atomic_write
from ..training import Model
from . import _data as _cli_data
from ._report import report_held_out

DATASETS = _cli_data.BUILTIN


def _held_out_count(split_path, columns, dataset, rows: int) -> int | None:
    """How many of ``dataset``'s ``rows`` rows train held out, when it split this very file
    (None otherwise)."""
    try:
        record = _cli_data.read_split(split_path, columns) if split_path.exists() else None
    except ValueError:
        return None
    if (record is None or record.get("test_rows") is None or record.get("rows") != rows
            or not _cli_data.same_dataset(record, dataset)):
        return None
    return len(record["test_rows"])


def evaluate(args) -> int:
    model = load_model(args.model)
    if model.loss is None:
        raise ValueError(f"{args.model} has no loss to evaluate with")
    columns = _cli_data.columns_of(model)
    split_path = args.model.parent / _cli_data.SPLIT_FILE
    if args.dataset is None and not split_path.exists():
        raise ValueError(f"no --dataset given and no {split_path} (the split train records "
                         "beside the model): give --dataset")
    record = None
    if split_path.exists() and not args.all_rows:
        try:
            record = _cli_data.read_split(split_path, columns)
        except ValueError:
            if args.dataset is None:
                raise
    if record is not None and (args.dataset is None
                               or _cli_data.same_dataset(record, args.dataset)):
        X, y, what = _cli_data.held_out(record, split_path, columns, args.dataset)
    else:
        if args.dataset is None:
            raise ValueError("--all-rows needs --dataset")
        data = _cli_data.load_for_model(args.dataset, columns, seed=args.seed)
        X, y = data.X, data.y
        what = f"all {len(X):,} rows of {args.dataset} (the dataset you gave)"
        held = _held_out_count(split_path, columns, args.dataset, len(X))
        if held is not None:  # --all-rows on the file train split: not a test, and said so
            what += f": the {len(X) - held:,} rows train used and the {held:,} it held out"
    _cli_data.check_fits(model, X, columns.features, args.dataset or record["dataset"])
    print(f"evaluated on {what}")
    print(report_held_out(model, X, y, columns.task))
    return 0


def predict(args) -> int:
    model = load_model(args.model)
    columns = _cli_data.columns_of(model)
    if args.proba and columns.task != "classification":
        raise ValueError("--proba is for classifiers; this model is a regression")
    data = _cli_data.load_for_model(str(args.input), columns, need_target=False)
    _cli_data.check_fits(model, data.X, columns.features, str(args.input))
    outputs = model.predict(data.X)
    target = columns.target
    if columns.task == "classification" and args.proba:
        header = [str(label) for label in columns.classes]
        rows = [[f"{p:.6g}" for p in row] for row in outputs]
    elif columns.task == "classification":
        header = [target or "prediction"]
        rows = [[str(label)] for label in
                _labels(columns.classes, model.output_layer_activation.predictions(outputs))]
    else:
        header = [target or "prediction"] if outputs.shape[1] == 1 else None
        rows = [[f"{v:.8g}" for v in row] for row in outputs]
    if args.output is None:
        print(_csv_text([header] * bool(args.proba) + rows), end="")
        return 0
    text = _csv_text(([header] if header else []) + rows)
    atomic_write(args.output, lambda f: f.write(text.encode("utf-8")))
    print(f"wrote {len(rows)} predictions to {args.output}")
    return 0


def _csv_text(rows: list) -> str:
    """Rows as CSV, quoted where a field needs it: a label may hold a comma, a quote or a
    line break (the training file quoted it), and each prediction stays one row."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def explain_command(args) -> int:
    from ..inspection import explain  # the explain engine imports only the core

    model = load_model(args.model)
    if model.loss is None:
        raise ValueError(f"{args.model} has no loss: the chain starts at the loss")
    try:
        index = tuple(int(part) for part in args.index.split(","))
    except ValueError:
        raise ValueError(f"--index must be I,J (or J for biases); got {args.index!r}") from None
    if len(index) not in (1, 2):
        raise ValueError(f"--index must be I,J (or J for biases); got {args.index!r}")
    if args.samples is not None and args.samples < 1:
        raise ValueError(f"--samples must be >= 1; got {args.samples}")
    columns = _cli_data.columns_of(model)
    data = _cli_data.load_for_model(args.dataset, columns, seed=args.seed)
    _cli_data.check_fits(model, data.X, columns.features, args.dataset)
    X, y = data.X, data.y
    if args.samples is not None:
        X, y = X[:args.samples], y[:args.samples]
    print(explain(model, X, y, layer=args.layer, param=args.param,
                  index=index[0] if len(index) == 1 else index))
    return 0


def _labels(classes, indices) -> list:
    return [classes[int(i)] for i in np.asarray(indices).ravel()]


def load_model(path: Path) -> Model:
    try:
        return Model.load(path)
    except ModelFileError as exc:
        raise ValueError(str(exc)) from exc

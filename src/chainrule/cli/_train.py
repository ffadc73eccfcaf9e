"""``chainrule train``: check every option, read the data, hold out a test split, build
the network, train it (early stopping on a validation split of the training rows,
the L2 strength chosen on it), score the held-out rows and write everything.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..nn import Dense, Dropout, Normalization
from ..training import CSVLogger, EarlyStopping, Model
from . import _data as _cli_data
from ._report import (
    EpochLines,
    describe_model,
    listed,
    prepare_output,
    report_held_out,
    write_outputs,
)

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
               "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
OPTIMIZERS = {"sgd": optim.SGD, "adagrad": optim.Adagrad,
              "rmsprop": optim.RMSprop, "adam": optim.Adam}
#: the learning rate each optimizer gets unless --learning-rate says otherwise
LEARNING_RATES = {"adam": 0.003, "rmsprop": 0.003, "sgd": 0.1, "adagrad": 0.1}
#: --l2 auto: each is tried, the lower validation loss wins (noisy tables need the larger)
L2_CANDIDATES = (0.01, 0.1)
STEPS = 20_000  # --epochs auto: about this many optimizer steps (at most MAX_EPOCHS epochs)
MAX_EPOCHS = 1_000
PATIENCE_STEPS = 2_000  # --patience auto: about this many steps without improvement …
MAX_PATIENCE = 200  # … but at most this many epochs
OUTPUT = Path("chainrule-output")  # each run writes into a folder of its own below it


def train(args) -> int:
    settings = check_options(args)
    # Each dataset's run in its own folder: a digits run never lands beside the demo's.
    folder = prepare_output(args.output or output_folder(args.dataset))  # a bad one fails now
    data = _cli_data.load(args.dataset, task=args.task, target=args.target, seed=args.seed)
    _check_classes(data)
    train_rows, test_rows = _cli_data.split(data, args.test_size, args.seed)
    X, y = data.X[train_rows], data.y[train_rows]
    X_test, y_test = data.fresh if test_rows is None else (data.X[test_rows],
                                                           data.y[test_rows])
    if len(X) < 2 or len(X_test) < 1:
        raise ValueError(f"{data.name} has {len(data.X)} rows: too few to hold out "
                         f"{args.test_size:g} of them and train on the rest ({len(X_test)} "
                         f"held out, {len(X)} to train on)")
    print(data.describe())
    print(f"task: {data.task} ({data.why})" + (
        f"; {len(data.classes)} classes: {listed(data.classes)}" if data.classes else ""))
    held = "a fresh draw" if test_rows is None else f"{args.test_size:.0%} of each class" \
        if data.task == "classification" else f"{args.test_size:.0%} of the rows"
    print(f"split: {len(X):,} rows to train on, {len(X_test):,} held out for evaluate ({held}, "
          f"seed {args.seed})")
    record = _cli_data.split_record(data, args.seed, args.test_size, args.target, test_rows)
    metadata = {"task": data.task, "classes": data.classes, "dataset": Path(data.name).name,
                "scaled": not args.no_scaling,
                **_cli_data.input_metadata(data, X, not args.no_scaling),
                "split": _cli_data.split_identity(record)}
    model, history, kept = _fit(args, settings, data, (X, y, X_test, y_test), folder,
                                metadata)
    try:
        print("held out: " + report_held_out(model, X_test, y_test, data.task))
        write_outputs(model, folder, X_test, y_test, also=(
            lambda: _cli_data.save_split(folder, record),
            lambda: _move(history, folder / "history.csv")), data=data, kept_epoch=kept)
    finally:
        history.unlink(missing_ok=True)
    return 0


def _move(source: Path, path: Path) -> Path:
    os.replace(source, path)
    return path


def output_folder(dataset: str) -> Path:
    """``chainrule-output/NAME``: the built-in dataset's name or the CSV file's stem."""
    name = dataset if dataset in _cli_data.BUILTIN else Path(dataset).stem
    return OUTPUT / (name if name.strip(". ") else "table")


# -- checks ---------------------------------------------------------------------------------


def check_options(args) -> dict:
    """Every option of ``train`` checked before anything is read or written."""
    sizes = _layer_sizes(args.layers)
    for name, value, low_open in (("--test-size", args.test_size, True),
                                  ("--validation-split", args.validation_split, False),
                                  ("--dropout", args.dropout, False)):
        if not (0 < value < 1 if low_open else 0 <= value < 1):
            bound = "(0, 1)" if low_open else "[0, 1)"
            why = ": evaluate reports on held-out rows" if name == "--test-size" else ""
            raise ValueError(f"{name} must be in {bound}{why}; got {value}")
    if args.decay < 0 or not np.isfinite(args.decay):
        raise ValueError(f"--decay must be >= 0; got {args.decay}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise ValueError(f"--learning-rate must be > 0; got {args.learning_rate}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1; got {args.batch_size}")
    if args.print_every is not None and args.print_every < 1:
        raise ValueError(f"--print-every must be >= 1; got {args.print_every}")
    l2 = L2_CANDIDATES if args.l2 == "auto" else (_number(args.l2, "--l2"),)
    epochs = None if args.epochs == "auto" else whole(args.epochs, "--epochs", 1)
    patience = None if args.patience == "auto" else whole(args.patience, "--patience", 0)
    return {"sizes": sizes, "epochs": epochs, "patience": patience, "l2": l2}


def whole(value, name: str, low: int) -> int:
    """``value`` (text or int) as a whole number >= ``low``, or a ValueError naming it."""
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or number < low:
        raise ValueError(f"{name} must be a whole number >= {low} (or auto); got {value!r}")
    return number


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a number >= 0 or auto; got {text!r}")
    return value


def _layer_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--layers must be sizes like 64,64; got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise ValueError(f"--layers sizes must be >= 1; got {text!r}")
    return sizes


def _check_classes(data) -> None:
    if data.task != "classification":
        return
    if len(data.classes) < 2:
        raise ValueError(f"{data.name}: the target has a single class {data.classes}: nothing "
                         "to tell apart")
    if len(data.classes) > max(len(data.X) // 2, 2):
        raise ValueError(f"{data.name}: {len(data.classes):,} classes for {len(data.X):,} rows; "
                         "is the target a quantity? try --task regression")


# -- the network and its training -----------------------------------------------------------


def _build(args, settings: dict, data, X, y, l2: float) -> tuple[Model, Normalization | None]:
    """The network (and, for regression, the targets' Normalization)."""
    rng = np.random.default_rng(args.seed)
    init = "he" if args.activation in ("relu", "leaky_relu") else "glorot"
    model = Model()
    if not args.no_scaling:
        model.add(Normalization().adapt(X))
    widths = [X.shape[1], *settings["sizes"]]
    for n_in, n_out in itertools.pairwise(widths):
        # The book regularises the hidden layers and leaves the output layer free.
        model.add(Dense(n_in, n_out, init=init, weight_regularizer_l2=l2, rng=rng))
        model.add(ACTIVATIONS[args.activation]())
        if args.dropout:
            model.add(Dropout(args.dropout, rng=rng))
    targets = None
    if data.task == "classification":
        model.add(Dense(widths[-1], len(data.classes), init="glorot", rng=rng))
        model.add(nn.Softmax())
        loss = nn.CategoricalCrossentropy()
    else:
        model.add(Dense(widths[-1], y.shape[1], init="glorot", rng=rng))
        model.add(nn.Linear())
        loss = nn.MeanSquaredError()
        if not args.no_scaling:
            targets = Normalization().adapt(y)
    rate = args.learning_rate or LEARNING_RATES[args.optimizer]
    model.set(loss=loss, optimizer=OPTIMIZERS[args.optimizer](learning_rate=rate,
                                                              decay=args.decay))
    return model, targets


def _fit(args, settings: dict, data, arrays: tuple, folder: Path,
         metadata: dict) -> tuple[Model, Path]:
    """Train one network per L2 candidate; keep the one with the lowest validation loss.

    ``arrays`` is ``(X, y, X_test, y_test)``: the rows to train on and the held-out ones.

    Returns the model (carrying ``metadata``) and the temporary file of its history,
    for the caller to move into place; the other candidates' histories are removed.
    """
    X, y = arrays[:2]
    n_validation = _validation_rows(data, y, args.validation_split)
    validation = args.validation_split if n_validation else None
    batch_size = min(args.batch_size, len(X) - n_validation)
    steps_per_epoch = -(-(len(X) - n_validation) // batch_size)
    epochs = settings["epochs"] or int(min(MAX_EPOCHS, max(10, round(STEPS / steps_per_epoch))))
    patience = settings["patience"]
    if patience is None:
        patience = min(MAX_PATIENCE, max(20, -(-PATIENCE_STEPS // steps_per_epoch)))
    if not validation:
        patience = 0
    candidates = settings["l2"] if validation else settings["l2"][:1]
    best, logs = None, []
    try:
        for l2 in candidates:
            model, targets = _build(args, settings, data, X, y, l2)
            model.metadata = metadata
            if l2 == candidates[0]:
                _check_data(model, data, arrays)
                _check_recordable(model, folder, data.name)
                print(describe_model(model, batch_size, epochs, validation, patience))
            if len(candidates) > 1:
                print(f"L2 {l2:g} (--l2 auto tries {', '.join(f'{c:g}' for c in candidates)}; "
                      "the lower validation loss wins):")
            # A name of its own (two runs may write into one folder at the same time).
            log = _temporary(folder, f".history-{l2:g}-", ".csv")
            logs.append(log)
            stopper = EarlyStopping(patience=patience, restore_best_weights=True) if patience \
                else None
            callbacks = [CSVLogger(log), *([stopper] if stopper else []),
                         EpochLines(args.print_every or max(epochs // 10, 1), epochs, data.task,
                                    False if args.no_progress else None)]
            model.train(X, y if targets is None else targets.transform(y), epochs=epochs,
                        batch_size=batch_size, print_every=None, rng=args.seed,
                        progress=False if args.no_progress else None, callbacks=callbacks,
                        validation_split=validation)
            score = _report_stop(model, stopper)
            if best is None or score < best[0]:
                # The epoch whose weights the model holds: early stopping's best, or the last.
                kept = stopper.best_epoch if stopper and stopper.best_epoch else model.epoch
                best = (score, l2, model, targets, log, kept)
    finally:
        for log in logs:
            if best is None or log != best[4]:
                log.unlink(missing_ok=True)
    score, l2, model, targets, log, kept = best
    if len(candidates) > 1:
        print(f"kept L2 {l2:g}: validation loss {score:.4g}")
    if targets is not None:
        model.add(targets.inverted())  # predictions in the target's own units from now on
    return model, log, kept


def _temporary(folder: Path, prefix: str, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(suffix, prefix, dir=folder)
    os.close(fd)
    return Path(name)


def _check_data(model: Model, data, arrays: tuple) -> None:
    """Before any training: every input (the held-out rows too) and every regression
    target must be a number the model's dtype holds, or the scores would be inf."""
    X, y, X_test, y_test = arrays
    for rows in (X, X_test):
        _cli_data.check_fits(model, rows, data.feature_names, data.name)
    if data.task == "regression":
        limit = np.finfo(model.dtype).max
        largest = max(np.abs(y).max(), np.abs(y_test).max())
        if not largest <= limit:
            name = repr(data.target_name) if data.target_name else "the target"
            raise ValueError(f"{data.name}: the target {name} holds values as large as "
                             f"{largest:g}, beyond what the model's {model.dtype} can hold "
                             f"(±{limit:.3g}); rescale it (e.g. in thousands)")


def _check_recordable(model: Model, folder: Path, name: str) -> None:
    """Write and read back the untrained model with its metadata before any training:
    a table whose columns a model file cannot record (too many, a name too long) is
    refused now, not after the training it would have wasted."""
    path = _temporary(folder, ".check-", ".chainrule")
    try:
        model.save(path)
        Model.load(path)
    except (ValueError, TypeError) as exc:  # ModelFileError is a ValueError
        why = str(exc).replace(f"{path}: ", "")  # the check's own file means nothing to them
        raise ValueError(f"{name}: a model file cannot record its columns ({why}); drop or "
                         "rename columns") from None
    finally:
        path.unlink(missing_ok=True)


def _report_stop(model, stopper) -> float:
    """Print how early stopping ended; return the validation loss of the weights kept."""
    if stopper is None:
        return model.history.get("val_loss", [np.inf])[-1]
    ended = f"stopped at epoch {stopper.stopped_epoch}" if stopper.stopped_epoch else \
        f"ran all {model.epoch} epochs"
    print(f"early stopping: {ended}; kept the weights of epoch {stopper.best_epoch}, the best "
          f"validation loss ({stopper.best:.4g})")
    return stopper.best


def _validation_rows(data, y, fraction: float) -> int:
    """How many rows validation_split holds out (per class, as the training loop does)."""
    if data.task != "classification":
        return round(len(y) * fraction)
    counts = np.unique(y, return_counts=True)[1]
    return sum(round(count * fraction) for count in counts)

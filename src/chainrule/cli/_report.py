"""What the command line prints while it trains and when it scores a model."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from ..files import atomic_write
from ..training import Callback


class EpochLines(Callback):
    """One short line every ``every`` epochs (and at the last): the training figures and,
    when there are any, the validation figures of the same epoch."""

    def __init__(self, every: int, total: int, task: str, progress: bool | None):
        self.every, self.total, self.task = every, total, task
        self.bar = sys.stderr.isatty() if progress is None else progress

    def on_epoch_end(self, epoch, logs=None) -> None:
        if epoch % self.every and epoch != self.total and not self.model.stop_training:
            return
        line = f"epoch {epoch:>{len(str(self.total))}}/{self.total}: " + _figures(logs, "",
                                                                              self.task)
        if "val_loss" in logs:
            line += "; validation " + _figures(logs, "val_", self.task)
        self._write(line)

    def _write(self, line: str) -> None:
        if self.bar:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                tqdm.write(line)  # above the progress bar, not through it
                return
        print(line, flush=True)


def _figures(logs: dict, prefix: str, task: str) -> str:
    # The data loss on both sides, so that they compare (the L2 penalty is not a fit).
    text = f"loss {logs['data_loss' if not prefix else 'val_loss']:.4g}"
    if task == "classification":
        text += f", acc {logs[prefix + 'accuracy']:.3f}"
    return text


def describe_model(model, batch_size: int, epochs: int, validation, patience: int) -> str:
    """The network and how it trains, in two lines."""
    layers = " → ".join(_short(layer) for layer in model.layers)
    count = sum(getattr(layer, name).size for layer in model.layers for name in layer.params)
    optimizer = model.optimizer
    how = f"{type(optimizer).__name__}, learning rate {optimizer.learning_rate:g}"
    if optimizer.decay:
        how += f", decay {optimizer.decay:g}"
    l2 = max((getattr(layer, "weight_regularizer_l2", 0) for layer in model.layers), default=0)
    if l2:
        how += f", L2 {l2:g}"
    lines = [f"model: {layers}; {count:,} parameters",
             f"training: {how}, batches of {batch_size}, at most {epochs:,} epochs"]
    if patience:
        lines[-1] += (f"; early stopping after {patience:,} epochs without a better loss on "
                      f"{validation:.0%} of the training rows, held for validation")
    elif validation is None:
        lines[-1] += "; no early stopping (too few rows for a validation split)"
    if model.layers and type(model.layers[-1]).__name__ == "Linear" and hasattr(
            model.layers[0], "state_arrays"):
        lines.append("(the regression losses printed are those of standardised targets)")
    return "\n".join(lines)


def _short(layer) -> str:
    if hasattr(layer, "n_neurons"):
        return f"{type(layer).__name__}({layer.n_inputs}, {layer.n_neurons})"
    if hasattr(layer, "state_arrays") or hasattr(layer, "rate"):
        return repr(layer)
    return type(layer).__name__


def report_held_out(model, X, y, task: str) -> str:
    """``model``'s scores on ``X``, ``y``: accuracy and loss for classes; R², RMSE and MAE,
    in the target's units, for regression."""
    outputs = model.predict(X)
    if task == "classification":
        predicted = np.asarray(model.output_layer_activation.predictions(outputs)).ravel()
        right = int(np.count_nonzero(predicted == y))
        # The cross-entropy as the loss computes it: −log p of the true class, clipped.
        probabilities = np.clip(outputs[np.arange(len(y)), y].astype(np.float64), 1e-7, 1)
        loss = 0.0 - float(np.mean(np.log(probabilities)))  # never "-0"
        return f"accuracy {right / len(y):.3f} ({right:,} of {len(y):,} rows), loss {loss:.4g}"
    error = outputs.astype(np.float64) - y
    total = float(np.sum((y - y.mean(axis=0)) ** 2))
    r2 = 1 - float(np.sum(error**2)) / total if total > 0 else float("nan")
    return (f"R² {r2:.3f}, RMSE {np.sqrt(np.mean(error**2)):.4g}, MAE "
            f"{np.mean(np.abs(error)):.4g} (in the target's units; {len(y):,} rows)")


def listed(items, most: int = 10) -> str:
    """``"a, b, c"``, or the first ``most`` and the count."""
    shown = ", ".join(str(item) for item in items[:most])
    return shown + (f", … ({len(items)} in all)" if len(items) > most else "")


def prepare_output(folder: Path) -> Path:
    """The output folder, created; refused (before any training) if it cannot be written."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--output {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--output {folder}: cannot create the folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"--output {folder} is not writable")
    return folder


#: every file a run may write; chainrule removes one of these from a folder only when an
#: earlier run wrote it there (see MANIFEST), so a folder never holds one run's model
#: beside another run's split or plots, and a user's own file of the same name is kept
OUTPUT_FILES = ("model.chainrule", "split.json", "history.csv", "learning_curves.png",
                "decision_boundary.png", "regression.png")
#: what each run wrote into its folder: {"files": {name: SHA-256 of what it wrote}}
MANIFEST = ".chainrule-run.json"


def write_outputs(model, folder: Path, X_val, y_val, also=(), data=None,
                  kept_epoch: int | None = None) -> None:
    """The model file, then each of ``also`` (callables that write a file and return its
    path), then the plots: learning curves (``kept_epoch``, the epoch whose weights the
    model holds, marked), and the decision boundary (two features) or the fit (one
    feature) on the held-out data.

    The model comes first, so a run that fails before it leaves the folder as the
    last run left it. A file of ``OUTPUT_FILES`` that an earlier run wrote (the
    folder's manifest names it, and it still holds what that run wrote) and this
    one did not is removed; any other file is the user's own and is left alone.
    """
    model_path = folder / "model.chainrule"
    model.save(model_path)
    written = [model_path, *(write() for write in also)]
    task = data.task if data is not None else "classification"
    try:
        from .. import plotting

        # Regression targets standardised for training: the losses are of those (as printed).
        scaled = task == "regression" and bool(model.layers) and \
            getattr(model.layers[-1], "invert", False) is True
        figure = plotting.plot_history(
            model.history, kept_epoch=kept_epoch, accuracy=task == "classification",
            title="learning curves" + (" (standardised targets)" if scaled else ""))
        written.append(_save_figure(figure, folder / "learning_curves.png"))
        if task == "classification" and X_val.shape[1] == 2:
            figure = plotting.plot_decision_boundary(
                model, X_val, y_val, title="decision boundary (held-out data)",
                class_names=None if data is None else _shown(data.classes),
                feature_names=None if data is None else _shown(data.feature_names))
            written.append(_save_figure(figure, folder / "decision_boundary.png"))
        elif task == "regression" and X_val.shape[1] == 1:
            figure = plotting.plot_regression(model, X_val, y_val)
            written.append(_save_figure(figure, folder / "regression.png"))
    except ImportError as exc:
        print(f"(no plots: {exc})", file=sys.stderr)
    _replace_manifest(folder, [path.name for path in written])
    print("wrote " + ", ".join(str(path) for path in written))


def _replace_manifest(folder: Path, names: list[str]) -> None:
    """Remove what the last run wrote and this one did not; record what this one wrote."""
    ours = {name: _sha256(folder / name) for name in names}
    for name, digest in _manifest(folder).items():
        path = folder / name
        # Only a name chainrule writes, only a plain file, only with the very bytes the
        # earlier run wrote: a file the user put there or changed since stays.
        if name in OUTPUT_FILES and name not in ours and not path.is_symlink() \
                and _sha256(path) == digest:
            path.unlink(missing_ok=True)
    record = {"format": "chainrule-run", "files": ours}
    atomic_write(folder / MANIFEST, lambda f: f.write(json.dumps(record, indent=1).encode()))


def _manifest(folder: Path) -> dict:
    """The files the last run recorded in ``folder`` ({} if none, or unreadable)."""
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = record["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {name: digest for name, digest in files.items()
            if isinstance(name, str) and isinstance(digest, str)} \
        if isinstance(files, dict) else {}


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _shown(names):
    """Names as a plot shows them literally: a ``$`` would start matplotlib's math
    (``cost ($) per $`` fails to draw), a control character has no glyph."""
    if names is None:
        return None
    table = {**{code: " " for code in range(32) if code != 10}, ord("$"): "\\$"}
    return [str(name).translate(table) for name in names]


def _save_figure(figure, path: Path) -> Path:
    # Atomically, like every other file: a run beside it never sees half a picture.
    atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=100))
    return path

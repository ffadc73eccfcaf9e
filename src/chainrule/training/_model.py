"""The Model: orchestration only — building the stack, the order of forward and
backward calls, evaluation, parameters and files. It contains no calculus:
every derivative lives in a layer or a loss. The training loop is in
``training.py``, the checks of the data the Model is given in ``_model_checks.py``.
"""

from __future__ import annotations

import numpy as np

from .. import _checks, files
from ..nn import (
    Accuracy,
    BinaryCrossentropy,
    Buffered,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    Input,
    Layer,
    Loss,
    RegressionAccuracy,
    Sigmoid,
    SoftmaxCategoricalCrossentropy,
    fused_loss_for,
)
from ..optim import Optimizer
from . import _loop as training
from ._data_checks import check_batch_size, check_data, check_X
from ._loop import TrainingDiverged
from ._summary import summary

__all__ = ["Model", "TrainingDiverged"]


class Model(Buffered):
    """A stack of layers trained with a loss and an optimizer.

    Parameters
    ----------
    layers : list of Layer, optional
        The layers in order; more can be added with ``add``.

    Examples
    --------
    >>> model = Model([Dense(2, 64), ReLU(), Dense(64, 3), Softmax()])
    >>> model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.05, decay=5e-7))
    >>> history = model.train(X, y, epochs=100, print_every=None)
    """

    def __init__(self, layers=None):
        self.layers: list[Layer] = []
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.accuracy: Accuracy | None = None
        self.history: dict[str, list[float]] = {}
        self.epoch = 0
        self.rng = None
        self.stop_training = False
        # Filled from a checkpoint file, and used by the next train() to resume exactly.
        self.resume_from_checkpoint = False
        self.global_random_state = None
        self.training_state: dict | None = None
        self.training_arrays: dict = {}
        self._finalized = False
        for layer in layers or []:
            self.add(layer)

    # -- building ---------------------------------------------------------------------------

    def add(self, layer: Layer) -> None:
        """Append a layer."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Model.add expects a Layer (Dense, ReLU, ...); got {layer!r}")
        self.layers.append(layer)
        self._finalized = False

    def set(self, *, loss=None, optimizer=None, accuracy=None) -> None:
        """Choose the loss, optimizer and accuracy metric (the book's names)."""
        for name, value, kind in (("loss", loss, Loss), ("optimizer", optimizer, Optimizer),
                                  ("accuracy", accuracy, Accuracy)):
            if value is not None and not isinstance(value, kind):
                raise TypeError(f"Model.set {name} must be a {kind.__name__}; got {value!r}")
        self.loss = loss if loss is not None else self.loss
        self.optimizer = optimizer if optimizer is not None else self.optimizer
        self.accuracy = accuracy if accuracy is not None else self.accuracy
        self._finalized = False

    def finalize(self) -> None:
        """Wire the model together: trainable layers, the fused loss, a default metric.

        As in the book, each layer also learns its neighbours: ``layer.prev`` (the
        first layer's is ``model.input_layer``) and ``layer.next`` (the last
        layer's is the loss).
        """
        if not self.layers:
            raise ValueError("Model has no layers: add some with Model.add(layer)")
        if self.loss is None:
            raise ValueError("Model has no loss: call model.set(loss=...) first")
        self.input_layer = Input()
        for before, layer, after in zip([self.input_layer, *self.layers[:-1]], self.layers,
                                        [*self.layers[1:], self.loss], strict=True):
            layer.prev, layer.next = before, after
        self.trainable_layers = [layer for layer in self.layers if layer.params]
        self.loss.remember_trainable_layers(self.trainable_layers)
        # Chaining −y/p through the softmax Jacobian collapses to p − y (and the binary
        # cross-entropy through σ' to σ − y): use it.
        self.fused_loss = fused_loss_for(self.layers[-1], self.loss)
        if self.accuracy is None:
            self.accuracy = _default_accuracy(self.loss, self.layers[-1])
        # The fused loss stands in for the softmax layer's backward pass.
        backward = self.layers[:-1] if self.fused_loss is not None else self.layers
        self._backward_layers = list(reversed(backward))
        self._regularized = any(layer.regularized for layer in self.trainable_layers)
        self._finalized = True

    @property
    def softmax_classifier_output(self) -> SoftmaxCategoricalCrossentropy | None:
        """The fused softmax + cross-entropy the model uses, if any (the book's name)."""
        if self._finalized and isinstance(self.fused_loss, SoftmaxCategoricalCrossentropy):
            return self.fused_loss
        return None

    @property
    def output_layer_activation(self) -> Layer:
        """The last layer, whose ``predictions`` turn outputs into answers (the book's name)."""
        return self.layers[-1]

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters (float32 unless the layers were built otherwise)."""
        for layer in self.layers:
            for name in layer.params:
                return getattr(layer, name).dtype
        return np.dtype(np.float32)

    # -- the passes -------------------------------------------------------------------------

    def forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        """Run ``X`` through every layer; return the last layer's output."""
        output = X
        if self._finalized:
            self.input_layer.output = X
        for layer in self.layers:
            output = layer.forward(output, training=training)
        return output

    def backward(self, output: np.ndarray, targets: np.ndarray) -> None:
        """Backpropagate from the loss through every layer, last to first.

        ``targets`` are checked already (one-hot rows for cross-entropy).
        """
        if self.fused_loss is not None:
            dvalues = self.fused_loss.gradient(output, targets)
        else:
            dvalues = self.loss.gradient(output, targets)
        for layer in self._backward_layers:
            dvalues = layer.backward(dvalues)

    # -- training ---------------------------------------------------------------------------

    def train(
        self,
        X,
        y,
        epochs: int = 1,
        batch_size: int | None = None,
        validation_data=None,
        print_every: int | None = 1,
        shuffle: bool = True,
        rng=None,
        progress: bool | None = None,
        checkpoint=None,
        callbacks=None,
        validation_split: float | None = None,
    ) -> dict:
        """Train on ``X``, ``y``; return the history (per-epoch ``loss``, ``accuracy``, ...).

        Every argument is checked before anything changes.

        Parameters
        ----------
        X : array (n_samples, n_features)
            The inputs, one sample a row.
        y : array
            Class indices (n_samples,) or target rows (n_samples, n_classes) — one-hot
            or probabilities — for cross-entropy; targets (n_samples, n_outputs) for
            the others.
        epochs : int
            Epochs to run. A model resuming a checkpoint continues from its saved
            epoch up to ``epochs``.
        batch_size : int, optional
            Samples per step; ``None`` trains on the whole set at once.
        validation_data : (X_val, y_val), optional
            Evaluated after every epoch into ``val_loss``/``val_accuracy``.
        print_every : int or None
            The book's summary lines: without ``batch_size``, one every that many
            epochs; with it, as the book's chapter 19 — ``epoch: k``, a ``step:`` line
            every that many steps and on the last, then ``training, …`` and
            ``validation, …`` for every epoch. None for silence.
        shuffle : bool
            Reshuffle the samples every epoch (only matters with minibatches).
        rng : numpy.random.Generator, int or None
            Source of the shuffling (and of ``validation_split``); None uses NumPy's
            global state.
        progress : bool, optional
            Show a tqdm progress bar; by default only when stderr is a terminal.
        checkpoint : path, optional
            Write a resumable checkpoint there (atomically) after every epoch. If the
            file already holds a checkpoint of this model, training resumes from it
            (its random streams take precedence over ``rng``); one of another model,
            or of other data or batch size, is refused and left as it is.
        callbacks : list of chainrule.callbacks.Callback, optional
            Hooks called at the start and end of training, each epoch and each batch.
        validation_split : float in (0, 1), optional
            Hold out this fraction of ``X``, ``y`` (stratified by class for
            classification, drawn from ``rng``) as validation data.
        """
        return training.train(self, X, y, epochs=epochs, batch_size=batch_size,
                              validation_data=validation_data, print_every=print_every,
                              shuffle=shuffle, rng=rng, progress=progress, checkpoint=checkpoint,
                              callbacks=callbacks, validation_split=validation_split)

    def _training_targets(self, y):
        """What the loss compares with (target rows for cross-entropy) and what accuracy does."""
        if not isinstance(self.loss, CategoricalCrossentropy):
            return y, y
        if y.ndim == 2:
            return y.astype(self.dtype, copy=False), np.argmax(y, axis=1)
        # One-hot rows once per call to train: then each step's loss and gradient are
        # plain array arithmetic, with no fancy indexing (which would allocate).
        one_hot = np.zeros((len(y), self._output_width), dtype=self.dtype)
        one_hot[np.arange(len(y)), y] = 1
        return one_hot, y.astype(np.intp, copy=False)

    # -- inference --------------------------------------------------------------------------

    def evaluate(self, X, y, batch_size: int | None = None, verbose: bool = True, *,
                 name: str = "validation") -> dict:
        """Mean data loss and accuracy on ``X``, ``y`` (no dropout); prints the book's line.

        The figures are means over samples, batch by batch as the book's
        ``calculate_accumulated``: the same whatever ``batch_size``.

        Parameters
        ----------
        X, y : arrays
            The samples and their targets, as for ``train``.
        batch_size : int, optional
            Samples per forward pass; ``None`` passes them all at once.
        verbose : bool
            Print one line in the book's format: ``validation, acc: 0.810, loss: 0.919``.
        name : str
            What the line calls the data: ``"validation"`` as the book prints it (its
            chapter 20 evaluates its test data under that name too); ``name="test"`` for a
            test set, ``"training"`` for the training data; any non-empty text without a
            line break or tab.

        Returns
        -------
        dict
            ``{"loss": mean data loss, "accuracy": accuracy}``.
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a str such as 'test'; got {type(name).__name__}")
        if not name.strip() or not name.isprintable():
            raise ValueError(f"name must be a non-empty name on one line, such as 'test' (it "
                             f"starts the printed line); got {name!r}")
        if not self._finalized:
            self.finalize()
        X, y = check_data(self, X, y, "X", "y")
        batch_size = check_batch_size(batch_size)
        self.accuracy.init(y)
        self.loss.new_pass()
        self.accuracy.new_pass()
        for rows in _batches(len(X), batch_size):
            output = self.forward(X[rows], training=False)
            self.loss.calculate(output, y[rows])
            predictions = self.output_layer_activation.predictions(output)
            self.accuracy.calculate(predictions, y[rows])
        result = {"loss": self.loss.calculate_accumulated(),
                  "accuracy": self.accuracy.calculate_accumulated()}
        if verbose:
            print(f"{name}, acc: {result['accuracy']:.3f}, loss: {result['loss']:.3f}")
        return result

    def predict(self, X, batch_size: int | None = None) -> np.ndarray:
        """Outputs of the last layer for ``X`` (n_samples, n_features), without dropout."""
        if not self.layers:
            raise ValueError("Model has no layers: add some with Model.add(layer)")
        X = check_X(self, X, "X")
        batch_size = check_batch_size(batch_size)
        outputs = [self.forward(X[rows], training=False) for rows in _batches(len(X), batch_size)]
        return outputs[0].copy() if len(outputs) == 1 else np.concatenate(outputs)

    # -- parameters and files ---------------------------------------------------------------

    def get_parameters(self) -> list[tuple[np.ndarray, ...]]:
        """A copy of each trainable layer's parameters, e.g. ``[(weights, biases), ...]``."""
        return [tuple(getattr(layer, name).copy() for name in layer.params)
                for layer in self.layers if layer.params]

    def set_parameters(self, parameters) -> None:
        """Copy ``parameters`` (as ``get_parameters`` returns them) into the layers.

        Every array is checked (count, shape, finite, representable) before any is written.
        """
        trainable = [layer for layer in self.layers if layer.params]
        parameters = list(parameters)
        if len(parameters) != len(trainable):
            raise ValueError(f"parameters must hold {len(trainable)} entries, one per trainable "
                             f"layer; got {len(parameters)}")
        checked = []
        for index, (layer, values) in enumerate(zip(trainable, parameters, strict=True)):
            values = tuple(values)
            if len(values) != len(layer.params):
                raise ValueError(f"parameters[{index}] for {layer!r} must hold "
                                 f"{len(layer.params)} arrays {layer.params}; got {len(values)}")
            for name, value in zip(layer.params, values, strict=True):
                current = getattr(layer, name)
                where = f"parameters[{index}] {name} for {layer!r}"
                value = _checks.as_float_array(where, value, ndim=None)
                if value.shape != current.shape:
                    raise ValueError(f"{where} must have shape {current.shape}; "
                                     f"got {value.shape}")
                checked.append((current, _checks.check_dtype_range(where, value, current.dtype)))
        for current, value in checked:
            current[...] = value

    def save_parameters(self, path) -> None:
        """Write the parameters alone (no architecture) to ``path``, atomically."""
        files.save_parameters(self, path)

    def load_parameters(self, path) -> None:
        """Read parameters written by ``save_parameters`` into this model's layers."""
        files.load_parameters(self, path)

    def save(self, path) -> None:
        """Write the whole model (architecture, loss, optimizer, parameters), atomically."""
        files.save_model(self, path)

    def save_checkpoint(self, path) -> None:
        """Write everything needed to resume training, atomically."""
        files.save_model(self, path, checkpoint=True)

    @classmethod
    def load(cls, path) -> Model:
        """Read a model or checkpoint written by ``save`` (never unpickles anything)."""
        return files.load_model(path, cls)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Model([{inner}])"

    def summary(self, print_fn=print) -> str:
        """Print (with ``print_fn``; None for silence) and return the layer table, as Keras."""
        return summary(self, print_fn)


def _batches(n: int, batch_size: int | None):
    """Slices covering ``range(n)`` in order, ``batch_size`` at a time."""
    if batch_size is None:
        yield slice(0, n)
        return
    for start in range(0, n, batch_size):
        yield slice(start, start + batch_size)


def _default_accuracy(loss, last_layer) -> Accuracy:
    if isinstance(loss, CategoricalCrossentropy):
        return CategoricalAccuracy()
    if isinstance(loss, BinaryCrossentropy) or isinstance(last_layer, Sigmoid):
        return CategoricalAccuracy(binary=True)
    return RegressionAccuracy()

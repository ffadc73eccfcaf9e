"""One browser tab's playground: its settings, data, network and training, and the frames it sees.

Pure Python and NumPy — no server, no browser — so everything a page can ask
for is testable here. The server only moves JSON between a ``Session`` and its
tab; the math is all chainrule's.
"""

from __future__ import annotations

import copy
import math
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..nn import Dense
from ..training import Callback
from . import frames, recipe
from .settings import (
    DATA_KEYS,
    DEFAULTS,
    FEATURES,
    MAX_SEED,
    MODEL_KEYS,
    REGRESSION,
    check_settings,
    effective_features,
    n_classes,
)

PARAMS = ("weights", "biases")


class Interrupted(Exception):
    """``Session.cancel`` was set during training, which stopped after the batch under way.

    The epoch that batch belonged to is undone, so the session holds whole epochs
    only (the ones "show code" reproduces); the epochs before it are kept.
    """


class Session:
    """The state behind one tab: settings → data → network → frames.

    Parameters
    ----------
    settings : dict, optional
        Changes to ``DEFAULTS``, checked as a tab's would be.

    Attributes
    ----------
    cancel : threading.Event
        Set it (from any thread) to stop ``train`` and ``step`` after the batch under
        way, whatever the settings; they raise ``Interrupted``. It stays set until its
        owner clears it.
    """

    def __init__(self, settings: dict | None = None):
        self.cancel = threading.Event()
        # Counts the networks this session has built. Frames, explanations and neuron
        # answers carry it, so a page drops what belongs to a network it no longer shows.
        self.network_id = 0
        self.settings = check_settings(settings or {}, DEFAULTS)
        self._make_data()
        self.reset()

    # -- changing things ------------------------------------------------------------------

    def update(self, changes: dict) -> str:
        """Apply checked ``changes``; return what they renewed: "data", "model" or "live".

        Nothing changes when a field is refused (``ValueError``/``TypeError``).
        """
        settings = check_settings(changes, self.settings)
        changed = {key for key in settings if settings[key] != self.settings[key]}
        effective_features(settings)  # refuses x₂ features alone on one-dimensional data
        old, self.settings = self.settings, settings
        try:
            if changed & set(DATA_KEYS):
                self._make_data()
                self.reset()
                return "data"
            if changed & set(MODEL_KEYS):
                self.reset()
                return "model"
        except Exception:
            self.settings = old
            self._make_data()
            self.reset()
            raise
        # Live changes: the next step uses them; the weights stay.
        self.model.optimizer.learning_rate = settings["learning_rate"]
        self.model.optimizer.current_learning_rate = settings["learning_rate"]
        if "grid" in changed:
            self._make_grid()
        return "live"

    def regenerate(self) -> None:
        """New points from the next seed (and so a new network)."""
        self.update({"seed": (self.settings["seed"] + 1) % (MAX_SEED + 1)})

    def reset(self) -> None:
        """A fresh network: the same initial weights for the same settings, epoch 0."""
        self.network_id += 1
        self.feature_keys = effective_features(self.settings)
        self.X_train = recipe.features(self.points_train, self.feature_keys)
        self.X_test = recipe.features(self.points_test, self.feature_keys)
        self.rng = recipe.model_rng(self.settings)
        self.model = recipe.build_model(self.settings, len(self.feature_keys), self.rng)
        self.dense = [i for i, layer in enumerate(self.model.layers) if isinstance(layer, Dense)]
        self._make_grid()

    def _make_data(self) -> None:
        self.points_train, self.y_train, self.points_test, self.y_test = (
            recipe.make_data(self.settings))
        self.regression = self.settings["dataset"] in REGRESSION
        points = np.concatenate([self.points_train, self.points_test])
        targets = np.concatenate([self.y_train, self.y_test])
        self.domain = frames.domain(points, targets if self.regression else None)

    def _make_grid(self) -> None:
        self.grid_points = frames.grid_points(self.domain, self.settings["grid"],
                                              one_dimensional=self.regression)
        self.grid_inputs = recipe.features(self.grid_points, self.feature_keys)

    # -- training and frames --------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """The epochs the session's network has trained."""
        return self.model.epoch

    def train(self, epochs: int | None = None) -> None:
        """Train ``epochs`` (default: the setting ``epochs_per_frame``) more epochs.

        Raises ``chainrule.TrainingDiverged`` when the loss or a gradient stops
        being finite; the network keeps its last finite weights. Raises
        ``Interrupted`` when ``cancel`` is set: after the batch under way, with the
        network as the epoch of that batch found it.
        """
        try:
            # Quiet as well: the checks before the first step run the network once, and
            # diverged weights overflow there (the loop itself reports TrainingDiverged).
            with _quiet():
                self.model.train(self.X_train, self.y_train,
                                 epochs=(self.settings["epochs_per_frame"] if epochs is None
                                         else epochs),
                                 batch_size=self.settings["batch_size"], rng=self.rng,
                                 print_every=None, progress=False,
                                 callbacks=[_StopWhenAsked(self.cancel, self.rng)])
        finally:
            # The model keeps its last run's callbacks; ours holds a lock, which the copy
            # that explain works on could not copy, and is of no use after this run.
            self.model.callbacks = []

    def step(self) -> dict:
        """Train one frame's epochs and return the frame."""
        self.train()
        return self.frame()

    def scores(self) -> dict:
        """Loss (and accuracy, for classes) on the training and the test points."""
        with _quiet():
            return self._scores()

    def _scores(self) -> dict:
        result = {}
        for name, X, y in (("train", self.X_train, self.y_train),
                           ("test", self.X_test, self.y_test)):
            try:
                measured = self.model.evaluate(X, y, verbose=False)
            except ValueError:  # outputs overflowed: weights on the edge of divergence
                measured = {"loss": math.nan, "accuracy": math.nan}
            result[f"{name}_loss"] = frames.finite(measured["loss"])
            if self.regression:
                result[f"{name}_r2"] = self._r2(X, y)
            else:
                result[f"{name}_accuracy"] = frames.finite(measured["accuracy"])
        return result

    def _r2(self, X: np.ndarray, y: np.ndarray) -> float | None:
        """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², scikit-learn's ``r2_score`` (None when undefined)."""
        predictions = self.model.predict(X)
        total = float(np.sum((y - y.mean()) ** 2))
        if total == 0 or len(y) < 2:
            return None
        return frames.finite(1 - float(np.sum((y - predictions) ** 2)) / total)

    def frame(self) -> dict:
        """What the page draws now: scores, the boundary, every neuron's map, the weights."""
        frame = {"type": "frame", "network": self.network_id, "epoch": self.epoch,
                 "lr": frames.finite(self.model.optimizer.current_learning_rate),
                 **self.scores()}
        # Last, so that each layer's output holds its values on the grid (the book's .output).
        with _quiet():
            outputs = self.model.predict(self.grid_inputs)
        if self.regression:
            frame["curve"] = frames.numbers(outputs[:, 0])
        else:
            frame["boundary"] = frames.probabilities(outputs)
        maps = [self.model.layers[i + 1].output for i in self.dense]
        frame["maps"] = [frames.node_maps(values, self.settings["grid"], self.regression)
                         for values in maps]
        frame["weights"] = [frames.numbers(self.model.layers[i].weights) for i in self.dense]
        frame["biases"] = [frames.numbers(self.model.layers[i].biases[0]) for i in self.dense]
        return frame

    def network(self) -> dict:
        """The picture's skeleton and the data: sent when either changes."""
        keys = self.feature_keys
        sizes = [len(keys), *self.settings["layers"], n_classes(self.settings)]
        return {
            "type": "network",
            "id": self.network_id,
            "settings": self.settings,
            "task": "regression" if self.regression else "classification",
            "features": [{"key": key, "label": FEATURES[key][0]} for key in keys],
            "sizes": sizes,
            # Where each Dense layer sits in model.layers: W2 is layers[2].weights, as explain says.
            "dense_layers": self.dense,
            # Each Dense layer's activation (its output a = f(z)) by class name, and the
            # model's layer count: the picture names z, a and ŷ as explain does.
            "activations": [type(self.model.layers[i + 1]).__name__ for i in self.dense],
            "n_layers": len(self.model.layers),
            "classes": n_classes(self.settings),
            "domain": self.domain,
            "train": frames.points(self.points_train, self.y_train),
            "test": frames.points(self.points_test, self.y_test),
            "feature_maps": frames.node_maps(self.grid_inputs, self.settings["grid"],
                                             self.regression),
        }

    # -- looking inside -------------------------------------------------------------------

    def _dense_layer(self, dense) -> int:
        """The model's layer index of the ``dense``-th Dense layer, checked."""
        if isinstance(dense, bool) or not isinstance(dense, int) \
                or not 0 <= dense < len(self.dense):
            raise ValueError(f"layer must be a Dense layer's number in [0, {len(self.dense) - 1}]"
                             f"; got {dense!r}"[:120])
        return self.dense[dense]

    def explain(self, dense: int, param: str, index) -> dict:
        """``chainrule.explain`` for one weight or bias, on all training points, now.

        Parameters
        ----------
        dense : int
            Which Dense layer (0 = the first).
        param : {"weights", "biases"}
            Which parameter of that layer.
        index : [i, j]
            The weight from input ``i`` to neuron ``j``; ``[0, j]`` for a bias.
        """
        from ..inspection import explain

        layer = self._dense_layer(dense)
        if param not in PARAMS:
            raise ValueError(f"param must be one of {', '.join(PARAMS)}; got {param!r}"[:120])
        shape = getattr(self.model.layers[layer], param).shape
        if (not isinstance(index, list) or len(index) != 2
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in index)
                or not all(0 <= i < n for i, n in zip(index, shape, strict=True))):
            raise ValueError(f"index must be [i, j] inside {param}'s shape {shape}; "
                             f"got {index!r}"[:120])
        # On a copy: explain's pass draws dropout masks, and those draws must not shift the
        # session's generator, or "show code" would no longer reproduce the network.
        with _quiet():
            if not np.isfinite(self.model.predict(self.X_train)).all():
                raise ValueError("the network's outputs overflow at these weights (training "
                                 "diverged): there is no gradient to explain. Reset, or lower "
                                 "the learning rate")
            explanation = explain(copy.deepcopy(self.model), self.X_train, self.y_train,
                                  layer=layer, param=param, index=tuple(index))
        return {"type": "explanation", "network": self.network_id, "dense": dense,
                "param": param, "index": index, "epoch": self.epoch, "text": str(explanation),
                **explanation.to_dict()}

    def neuron(self, dense: int, neuron: int) -> dict:
        """A neuron's incoming weights and ∂L/∂z, its gradient before the activation.

        ∂L/∂z is one number per training point; its sum over the points is the
        data part of ∂L/∂b, since z = x·w + b.
        """
        layer_index = self._dense_layer(dense)
        layer = self.model.layers[layer_index]
        if isinstance(neuron, bool) or not isinstance(neuron, int) \
                or not 0 <= neuron < layer.n_neurons:
            raise ValueError(f"neuron must be in [0, {layer.n_neurons - 1}]; "
                             f"got {neuron!r}"[:120])
        with _quiet():
            dvalues = self._dvalues_into(layer_index)
            answer = {"type": "neuron", "network": self.network_id, "layer": dense,
                      "neuron": neuron, "epoch": self.epoch,
                      "model_layer": layer_index, "n_samples": len(self.X_train),
                      "weights": frames.numbers(layer.weights[:, neuron]),
                      "bias": frames.finite(layer.biases[0, neuron])}
            if dvalues is None:  # no gradient to show: every one of them is None
                return {**answer, "dweights": [None] * layer.n_inputs, "dbias": None,
                        "dz_sum": None, "dz_mean_abs": None, "dz_first": [None] * min(
                            5, len(self.X_train))}
            dz = dvalues[:, neuron]
            return {**answer,
                    "dweights": frames.numbers(layer.dweights[:, neuron]),
                    "dbias": frames.finite(layer.dbiases[0, neuron]),
                    "dz_sum": frames.finite(dz.sum()),
                    "dz_mean_abs": frames.finite(np.abs(dz).mean()),
                    "dz_first": frames.numbers(dz[:5])}

    def _dvalues_into(self, layer_index: int) -> np.ndarray | None:
        """∂L/∂(output of layer ``layer_index``) (n_samples, n_neurons) on the training points.

        The chain rule by hand with each layer's public ``backward``, last to first,
        at the current weights and without dropout. None when the network's outputs
        overflow (weights on the edge of divergence): the loss has no gradient there.
        """
        model = self.model
        output = model.forward(self.X_train, training=False)
        if not np.isfinite(output).all():
            return None
        dvalues = model.loss.backward(output, self.y_train)
        for layer in reversed(model.layers[layer_index:]):
            incoming = dvalues
            dvalues = layer.backward(dvalues)
        return incoming

    def code(self) -> str:
        """The chainrule script that builds and trains this network on the same data."""
        return recipe.script(self.settings, self.epoch)

    def model_file(self) -> bytes:
        """The trained model as a ``.chainrule`` file (``Model.save``), in bytes."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "playground.chainrule"
            # The features, data and split it came from: predict and explain need them.
            self.model.metadata = recipe.metadata(self.settings, self.X_train, len(self.X_test))
            self.model.save(path)
            return path.read_bytes()


class _StopWhenAsked(Callback):
    """Look at ``cancel`` after every batch; when it is set, undo the epoch under way and
    raise ``Interrupted``.

    A batch is the smallest piece of work (a step of a few milliseconds at most within
    the settings' limits), so a frame of any size stops at once. Within an epoch, a step
    changes the parameters, the optimizer's state and count, and the position of the
    generator that shuffles and draws dropout masks; the epoch count and the history
    only change after its last batch. Those are kept at each epoch's start, to put back.
    """

    def __init__(self, cancel: threading.Event, rng: np.random.Generator):
        self.cancel = cancel
        self.rng = rng
        self.kept = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        params = [(layer, name, getattr(layer, name).copy(),
                   {slot: array.copy() for slot, array in optimizer.get_state(layer, name).items()})
                  for layer in self.model.trainable_layers for name in layer.params]
        self.kept = (params, optimizer.iterations, optimizer.current_learning_rate,
                     self.rng.bit_generator.state)

    def on_batch_end(self, step: int, logs: dict | None = None) -> None:
        if self.cancel.is_set():
            self._undo_epoch()
            raise Interrupted(f"training was interrupted at epoch {self.model.epoch}")

    def _undo_epoch(self) -> None:
        params, iterations, learning_rate, rng_state = self.kept
        optimizer = self.model.optimizer
        for layer, name, value, state in params:
            # In place: the optimizer's flat groups (chainrule._groups) hold views of them.
            np.copyto(getattr(layer, name), value)
            for slot, array in optimizer.get_state(layer, name).items():
                # A state first used in this epoch started as zeros (Optimizer._state_of).
                np.copyto(array, state.get(slot, 0))
        optimizer.iterations = iterations
        optimizer.current_learning_rate = learning_rate
        self.rng.bit_generator.state = rng_state


def _quiet():
    """Weights near divergence may overflow on the way to a frame, an explanation or a
    neuron's gradient: the answer then shows what is finite (``frames`` and ``explain``'s
    ``to_dict`` turn the rest into None) instead of printing warnings on the server.
    NumPy's error state is per thread, so this covers the worker thread it runs in."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")

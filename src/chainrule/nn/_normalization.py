"""Scaling that travels with the model: ``Normalization`` standardises each feature.

``adapt(X)`` learns each column's mean μ and standard deviation σ from data;
``forward`` computes ``(x − μ) / σ``. μ and σ are *state*, not parameters: no
gradient moves them, they are not in ``params`` (so optimizers and
``get_parameters`` never see them), and they are listed in ``state_arrays``,
which model files save and load beside the parameters. Put one first in a
model and ``predict`` takes raw inputs, before and after ``Model.load``: the
model hands them to the layer as they are, and it standardises them in float64
before anything is rounded to the model's float32 (a column of timestamps keeps
its seconds).

The same layer undoes the scaling with ``invert=True`` (``x · σ + μ``): adapt
one on the regression targets, train on ``targets.transform(y)`` (the network
and the loss see standardised targets, numbers near 1), then append
``targets.inverted()`` to the model, and its predictions come back in the
targets' own units, as float64 (a target of 1e8 + N(0, 3) keeps its digits)::

    inputs, targets = Normalization().adapt(X), Normalization().adapt(y)
    model = Model([inputs, Dense(n, 64), ReLU(), Dense(64, 1), Linear()])
    model.set(loss=MeanSquaredError(), optimizer=Adam(0.005))
    model.train(X, targets.transform(y), epochs=500)
    model.add(targets.inverted())       # model.predict(X) is in y's units now
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_positive_int, describe
from ._layers import Layer, _check_inputs, diagonal_jacobian


class Normalization(Layer):
    """Standardise each feature: ``output = (inputs − mean) / std``, or undo it.

    Parameters
    ----------
    n_features : int, optional
        The number of features, if you want ``adapt`` to check it.
    mean, std : array-like of shape (n_features,) or (1, n_features), optional
        The statistics, if known; otherwise call ``adapt(X)``. ``std`` must be > 0.
    invert : bool
        Compute ``inputs · std + mean`` instead: back from standardised values to
        the original units (for a regression model's outputs).

    Attributes
    ----------
    mean, std : float64 arrays of shape (1, n_features), or None before ``adapt``
        The statistics ``forward`` uses.
    n_inputs : int or None
        The number of features (None while neither ``n_features`` nor ``adapt`` says).
    """

    #: arrays that are part of the layer but not trained: model files save them
    state_arrays = ("mean", "std")
    #: the dtype ``forward`` hands on; None: the inputs' (float64 for ``invert``). A Model
    #: whose first layer this is sets its own (see ``take_model_inputs``), so its float32
    #: network stays float32.
    output_dtype = None

    def __init__(self, n_features: int | None = None, *, mean=None, std=None,
                 invert: bool = False):
        if not isinstance(invert, (bool, np.bool_)):
            raise TypeError(f"Normalization invert must be True or False; got {describe(invert)}")
        self.n_features = None if n_features is None else check_positive_int(
            "Normalization n_features", n_features)
        self.invert = bool(invert)
        self.mean = self.std = None
        if (mean is None) != (std is None):
            raise ValueError("Normalization needs both mean and std, or neither (then adapt(X))")
        if mean is not None:
            self.set_statistics(mean, std)

    @property
    def n_inputs(self) -> int | None:
        """The number of features: ``mean``'s columns, else ``n_features`` (None if neither)."""
        return self.n_features if self.mean is None else self.mean.shape[1]

    def adapt(self, X) -> Normalization:
        """Learn each column's mean and (population) standard deviation from ``X``.

        ``X`` is (n_samples, n_features), or (n_samples,) for a single target. A
        constant column gets σ = 1, as scikit-learn's ``StandardScaler`` does: it
        is centred, not blown up. Any finite values are fine, up to float64's
        largest (the statistics are computed without squaring them). Returns the
        layer, so ``Normalization().adapt(X)`` reads as one step.
        """
        X = as_float_array("Normalization.adapt X", X, ndim=None, finite=False)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"Normalization.adapt X must be (n_samples, n_features) with at "
                             f"least one sample; got shape {X.shape}")
        _refuse_non_finite(X)
        mean, std = _column_statistics(X.astype(np.float64, copy=False))
        self.set_statistics(mean, std)
        return self

    def set_statistics(self, mean, std) -> None:
        """Set ``mean`` and ``std`` (each (n_features,) or (1, n_features)); both are
        checked before either is written."""
        mean = as_float_array("Normalization mean", mean, ndim=None).astype(np.float64)
        std = as_float_array("Normalization std", std, ndim=None).astype(np.float64)
        mean, std = mean.reshape(1, -1) if mean.ndim == 1 else mean, \
            std.reshape(1, -1) if std.ndim == 1 else std
        if mean.ndim != 2 or len(mean) != 1 or mean.shape != std.shape or mean.size == 0:
            raise ValueError(f"Normalization mean and std must both have shape (1, n_features); "
                             f"got {mean.shape} and {std.shape}")
        if self.n_features is not None and mean.shape[1] != self.n_features:
            raise ValueError(f"{self!r} expects {self.n_features} features; the statistics "
                             f"have {mean.shape[1]}")
        if not np.all(std > 0):
            raise ValueError(f"Normalization std must be > 0 for every feature; got "
                             f"{std.min():g} at column {int(np.argmin(std))}")
        self.mean, self.std = mean, std
        self.n_features = mean.shape[1]
        self._cast = {}  # σ in each dtype backward has run in: stale once μ, σ change

    def take_model_inputs(self, name: str, X: np.ndarray, dtype) -> np.ndarray:
        """The Model's check of the raw data it gives this layer, its first: ``X`` as is.

        Any other first layer gets ``X`` cast to the model's dtype; this one gets
        the values as given and standardises them in float64, so a column of
        ``1e8 + N(0, 3)`` (timestamps, IDs, prices in cents) keeps every digit it has
        until its mean is gone — float32 would have kept 3 distinct values of 399.
        From now on ``forward`` hands ``dtype`` on. What must fit ``dtype`` is then
        the layer's output, not ``X``: each column's smallest and largest value, mapped
        (the map is monotone in each column), are checked against it.
        """
        self._check_adapted()
        dtype = np.dtype(dtype)
        limit = np.finfo(dtype).max
        with np.errstate(over="ignore", invalid="ignore"):
            ends = self._apply(np.vstack([X.min(axis=0), X.max(axis=0)]), self.invert)
        fits = (np.abs(ends) <= limit).all(axis=0)
        if not fits.all():
            column = int(np.argmin(fits))
            row = int(np.abs(ends[1, column]) > limit)
            raise ValueError(
                f"{name} column {column} holds {(X.min, X.max)[row](axis=0)[column]:g}, which "
                f"{self!r} maps to {ends[row, column]:g}, beyond what the model's {dtype} "
                f"can hold (±{limit:.3g}); the layer's statistics do not fit these data "
                "(adapt it on data like them)")
        self.output_dtype = dtype
        return X

    def set_state_arrays(self, mean, std) -> None:
        """Restore the ``state_arrays`` a model file holds (the same as ``set_statistics``)."""
        self.set_statistics(mean, std)

    def transform(self, X) -> np.ndarray:
        """``(X − mean) / std`` for any array of ``n_features`` columns (or a 1-D one for
        a single feature), whichever way the layer itself points."""
        return self._apply(X, inverse=False)

    def inverse_transform(self, X) -> np.ndarray:
        """``X · std + mean``: back to the original units."""
        return self._apply(X, inverse=True)

    def inverted(self) -> Normalization:
        """A new layer with the same statistics, pointing the other way."""
        self._check_adapted()
        return Normalization(mean=self.mean.copy(), std=self.std.copy(), invert=not self.invert)

    def _apply(self, X, inverse: bool) -> np.ndarray:
        """``X · σ + μ`` or ``(X − μ)/σ`` in float64, for any array of the layer's width."""
        self._check_adapted()
        X = as_float_array("X", X, ndim=None)
        flat = X.ndim == 1
        X2 = X.reshape(-1, 1) if flat else X
        if X2.ndim != 2 or X2.shape[1] != self.mean.shape[1]:
            raise ValueError(f"{self!r}: X must have {self.mean.shape[1]} columns; got shape "
                             f"{X.shape}")
        out = X2 * self.std + self.mean if inverse else (X2 - self.mean) / self.std
        return out.ravel() if flat else out

    def _scale(self, dtype) -> np.ndarray:
        """σ in ``dtype``, cast once (backward's factor: a float32 model stays float32)."""
        std = self._cast.get(dtype)
        if std is None:
            std = self._cast[dtype] = self.std.astype(dtype)
        return std

    def _check_adapted(self) -> None:
        if self.mean is None:
            raise RuntimeError(f"{self!r} has no mean and std yet: call adapt(X) first "
                               "(or give mean= and std=)")

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, n_features) → ``output`` of the same shape.

        Computed in float64 whatever the inputs, and rounded once to ``output_dtype``
        (the inputs' dtype unless a Model set its own): the subtraction of μ is where
        a large common offset cancels, so it must see every digit the data has. Inverted,
        the output is float64: back in the data's own units, a large μ needs float64's
        digits (targets of 1e8 + N(0, 3) in float32 would keep 3 distinct values of 400).
        """
        self._check_adapted()
        self.inputs = _check_inputs(self, inputs, self.n_inputs)
        dtype = self.output_dtype or (np.dtype(np.float64) if self.invert
                                      else self.inputs.dtype)
        self.output = self._buffer("output", self.inputs.shape, dtype)
        # The first operation in float64; the second computes in float64 too and rounds
        # each result once as it writes it into the output.
        exact = self.output if dtype == np.float64 else self._buffer(
            "exact", self.inputs.shape, np.float64)
        if self.invert:
            np.multiply(self.inputs, self.std, out=exact)  # x·σ + μ
            np.add(exact, self.mean, out=self.output)
        else:
            np.subtract(self.inputs, self.mean, out=exact)  # (x − μ)/σ
            np.divide(exact, self.std, out=self.output)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """∂((x − μ)/σ)/∂x = 1/σ per feature (σ for ``invert``): a fixed scale per column.

        ``dinputs`` has the inputs' dtype (an inverted last layer gets float64 ``dvalues``;
        the float32 network below it keeps float32 gradients).
        """
        dvalues = self._check_dvalues(dvalues)
        if not self.compute_dinputs:  # the Model's first layer: nothing upstream needs it
            return None
        dtype = self.inputs.dtype
        std = self._scale(dtype)
        self.dinputs = self._buffer("dinputs", dvalues.shape, dtype)
        if self.invert:
            np.multiply(dvalues, std, out=self.dinputs)
        else:
            np.divide(dvalues, std, out=self.dinputs)
        return self.dinputs

    def derivative(self, inputs: np.ndarray) -> np.ndarray:
        """∂output/∂inputs element-wise, (n_samples, n_features): 1/σ of each column
        (σ for ``invert``), the same for every sample."""
        self._check_adapted()
        inputs = _check_inputs(self, inputs, self.n_inputs)
        scale = self.std if self.invert else 1.0 / self.std
        return np.broadcast_to(scale, inputs.shape).astype(inputs.dtype)

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """The scale of each feature on the diagonal: (n_samples, k, k)."""
        return diagonal_jacobian(self.derivative(inputs))

    def local_rule(self) -> str:
        if self.invert:
            return "Normalization (inverted): ∂(x·σ + μ)/∂x = σ, the feature's std"
        return "Normalization: ∂((x − μ)/σ)/∂x = 1/σ, one over the feature's std"

    def summary_note(self) -> str:
        """What ``Model.summary`` says of the layer: its statistics are fixed, not trained."""
        if self.mean is None:
            return "not adapted yet: call adapt(X)"
        if self.invert:
            return "x·σ + μ: back to the original units (μ, σ fixed)"
        return "(x − μ)/σ, μ and σ fixed by adapt"

    def config(self) -> dict:
        return {"n_features": self.n_inputs, "invert": self.invert}

    @classmethod
    def state_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shape of each state array of a layer built from ``config`` (files check it);
        none before ``adapt``."""
        n = config.get("n_features")
        return {} if n is None else {"mean": (1, n), "std": (1, n)}

    def __repr__(self) -> str:
        parts = [] if self.n_inputs is None else [str(self.n_inputs)]
        if self.invert:
            parts.append("invert=True")
        return f"Normalization({', '.join(parts)})"


def _refuse_non_finite(X: np.ndarray) -> None:
    """Name the first column (and row) holding NaN or ±inf: its statistics would be NaN."""
    finite = np.isfinite(X)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise ValueError(f"Normalization.adapt X must be finite: column {column} holds "
                         f"{X[row, column]} at row {row} ({X.size - np.count_nonzero(finite)} "
                         "NaN or infinite value(s) in all)")


def _column_statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and population std (1 for a constant column), float64 (1, k).

    The textbook ``sqrt(mean(x²) − mean(x)²)`` fails twice on real columns: x² overflows
    above ~1e154, and for ``1e15 + small`` the two terms cancel to noise. So each column
    is first divided by a power of two near its largest magnitude (exact: only the
    exponent changes), which keeps every square below 16, and then shifted by one of its
    own values (exact when the values are close: Sterbenz's lemma), so what is summed is
    the spread, not the offset.
    """
    _, exponent = np.frexp(np.abs(X).max(axis=0, keepdims=True))
    scale = np.ldexp(1.0, exponent - 1)  # |X / scale| < 2; never 2**1024, which is inf
    scaled = X / scale
    reference = scaled[:1]
    shifted = scaled - reference  # |shifted| < 4
    mean = (reference + shifted.mean(axis=0, keepdims=True)) * scale
    std = shifted.std(axis=0, keepdims=True) * scale
    # A constant column keeps its scale: it is centred, not divided by zero.
    std[X.min(axis=0, keepdims=True) == X.max(axis=0, keepdims=True)] = 1.0
    return mean, std

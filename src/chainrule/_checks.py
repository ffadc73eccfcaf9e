"""Input checks shared by the public entry points.

Each check raises ``ValueError`` or ``TypeError`` naming the argument, what was
expected and what was given, so that bad input is refused before any state
changes. Inner loops trust their inputs; only the boundary calls these.
"""

from __future__ import annotations

import numbers

import numpy as np


def describe(x) -> str:
    """A short description of ``x`` for error messages: shape and dtype."""
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:80]


def as_float_array(name: str, x, *, ndim: int | None = 2, finite: bool = True) -> np.ndarray:
    """Return ``x`` as a floating-point array, refusing what cannot be one.

    Integer input is converted to float64 (as ``np.dot`` would); bool, object
    and string input are refused. ``ndim`` is the required number of dims.
    """
    arr = np.asarray(x)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a numeric array; got {describe(arr)}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        hint = " (rows are samples: use x.reshape(-1, 1) for one feature)" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be {ndim}-D; got shape {arr.shape}{hint}")
    if finite and not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite; got {bad} NaN or infinite value(s)")
    return arr


def check_labels(name: str, y, n_samples: int, n_classes: int) -> np.ndarray:
    """Validate class labels for ``n_samples`` predictions over ``n_classes``.

    Accepts integer indices of shape ``(n,)`` (or a column ``(n, 1)``, which is
    flattened) or one-hot / probability targets of shape ``(n, n_classes)``.
    Returns the labels as given, or flattened for a column.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1 and n_classes != 1:
        y = y.reshape(-1)
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer) or y.dtype == bool:
            raise TypeError(
                f"{name} as class indices must have an integer dtype; got {describe(y)}"
                " (use y.astype(int) if the values are whole numbers)"
            )
        if y.shape[0] != n_samples:
            raise ValueError(
                f"{name} must have {n_samples} labels, one per sample; got {y.shape[0]}"
            )
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(
                f"{name} must hold class indices in [0, {n_classes - 1}]; "
                f"got values from {y.min()} to {y.max()}"
            )
        return y
    if y.ndim == 2:
        if y.shape != (n_samples, n_classes):
            raise ValueError(
                f"{name} as one-hot targets must have shape {(n_samples, n_classes)}; got {y.shape}"
            )
        return check_distributions(name, as_float_array(name, y))
    raise ValueError(
        f"{name} must be class indices of shape ({n_samples},) or one-hot targets of shape "
        f"{(n_samples, n_classes)}; got shape {y.shape}"
    )


def check_distributions(name: str, y: np.ndarray) -> np.ndarray:
    """Refuse target rows that are not probability distributions (one-hot or soft).

    Cross-entropy's gradient p − y assumes each row sums to 1: a multi-hot row
    (two classes at once) would train towards a wrong target silently.
    """
    if y.size == 0:
        return y
    if y.min() < 0 or y.max() > 1:
        raise ValueError(f"{name} as target rows must hold probabilities in [0, 1]; got values "
                         f"from {y.min()} to {y.max()}")
    sums = y.sum(axis=1, dtype=np.float64)
    bad = np.flatnonzero(np.abs(sums - 1) > 1e-3)
    if bad.size:
        raise ValueError(f"{name} as target rows must each sum to 1 (one-hot or a probability "
                         f"distribution); row {bad[0]} sums to {sums[bad[0]]:.6g} "
                         f"({bad.size} such rows) — multi-hot targets need a sigmoid output and "
                         "BinaryCrossentropy")
    return y


def check_dtype_range(name: str, x: np.ndarray, dtype) -> np.ndarray:
    """Refuse finite values that ``dtype`` cannot hold (they would become ±inf there)."""
    dtype = np.dtype(dtype)
    if x.size == 0 or np.finfo(x.dtype).max <= np.finfo(dtype).max:
        return x
    limit = np.finfo(dtype).max
    high, low = x.max(), x.min()
    if high > limit or low < -limit:
        where = np.unravel_index(np.argmax(np.abs(x)), x.shape)
        raise ValueError(f"{name} holds {x[where]:g} at index {tuple(int(i) for i in where)}, "
                         f"beyond what the model's {dtype} parameters can hold (±{limit:.3g}); "
                         "rescale the data (e.g. standardise it)")
    return x


def check_targets(name: str, y, shape: tuple) -> np.ndarray:
    """Validate regression / binary targets against predictions of ``shape``.

    A 1-D ``y`` of length n against predictions ``(n, 1)`` is reshaped to a
    column; any other mismatch is refused instead of broadcasting.
    """
    y = as_float_array(name, y, ndim=None)
    if y.ndim == 1 and len(shape) == 2 and shape[1] == 1 and y.shape[0] == shape[0]:
        y = y.reshape(-1, 1)
    if y.shape != tuple(shape):
        raise ValueError(f"{name} must have the predictions' shape {tuple(shape)}; got {y.shape}")
    return y


def check_positive_int(name: str, value, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int, refusing bools, floats and values below 1 (or 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {describe(value)}")
    low = 0 if allow_zero else 1
    if value < low:
        raise ValueError(f"{name} must be >= {low}; got {value}")
    return int(value)


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as a float, refusing NaN, infinities and negatives."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {describe(value)}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value}")
    return float(value)


def check_positive(name: str, value) -> float:
    """Return ``value`` as a float, refusing NaN, infinities, zero and negatives."""
    value = check_nonnegative(name, value)
    if value == 0:
        raise ValueError(f"{name} must be > 0; got {value}")
    return value


def check_fraction(name: str, value, *, low_open: bool = False, high_open: bool = True) -> float:
    """Return ``value`` as a float in [0, 1) (or with the given open ends)."""
    value = check_nonnegative(name, value)
    if (low_open and value == 0) or value > 1 or (high_open and value == 1):
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lo}0, 1{hi}; got {value}")
    return value

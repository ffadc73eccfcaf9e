"""Optional compiled kernels: the element-wise work of a training step in one pass each.

With ``chainrule[fast]`` (numba) installed, the optimizers' updates and the
element-wise parts of the layers and losses run as the compiled loops below;
without it, or with ``CHAINRULE_KERNELS=numpy`` in the environment, or after
``chainrule.use_kernels("numpy")``, the NumPy code runs exactly as before.

The NumPy expression in the layer or optimizer stays the definition: each
kernel is called beside it (``if kernels is not None``), computes the same
numbers — bit for bit where the NumPy code is element-wise, to float32 rounding
where it sums or takes ``exp``/``log`` — and ``tests/test_kernels.py`` holds
each pair together. The loops are plain Python until numba compiles them on
first use (``import chainrule`` never imports numba); ``cache=True`` keeps the
machine code on disk, so a later process loads it instead of compiling.

Kernels take float32, C-contiguous arrays (``fast(*arrays)`` checks) and
Python floats, which they round to float32 the way NumPy rounds a Python
scalar: the arithmetic is NumPy's float32 arithmetic, in NumPy's order.

Each kernel runs on the calling thread and releases the GIL (``nogil``), so
threads that train their own models run at once. Splitting one update over the
cores (``parallel=True``) was measured and does not pay on the 2-core machine the
benchmark runs on: see the README's Performance section.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

PATHS = ("numba", "numpy")
ENVIRONMENT = "CHAINRULE_KERNELS"

_F32 = np.dtype(np.float32)
_requested: str | None = None  # "numba", "numpy" or "auto"; None: read the environment
_compiled = None  # this module once its loops are compiled, on the numba path
_decided = False
_loaded = False
_load_lock = threading.Lock()


def kernels() -> str:
    """The path a training step takes now: ``"numba"`` (compiled kernels) or ``"numpy"``."""
    return "numpy" if fast() is None else "numba"


def use_kernels(path: str) -> str:
    """Choose the path: ``"numba"``, ``"numpy"`` or ``"auto"`` (numba when installed).

    Overrides the ``CHAINRULE_KERNELS`` environment variable. Returns the path that
    was active before, so ``use_kernels(previous)`` restores it.
    """
    global _requested, _decided
    if path not in (*PATHS, "auto"):
        raise ValueError(f"use_kernels path must be 'numba', 'numpy' or 'auto'; got {path!r}")
    previous = kernels()
    if path == "numba":
        _load()  # fails here, naming the extra, if numba is missing
    _requested, _decided = path, False
    return previous


def fast(*arrays):
    """This module, compiled, if the numba path is active and every array is float32 and
    C-contiguous; otherwise None (then the caller runs its NumPy expression)."""
    compiled = _compiled if _decided else _decide()
    if compiled is None:
        return None
    for array in arrays:
        if array.dtype != _F32 or not array.flags.c_contiguous:
            return None
    return compiled


def _decide():
    global _compiled, _decided
    path = _requested or os.environ.get(ENVIRONMENT, "auto").strip().lower() or "auto"
    if path not in (*PATHS, "auto"):
        raise ValueError(f"environment variable {ENVIRONMENT} must be 'numba', 'numpy' or "
                         f"'auto'; got {path!r}")
    _compiled = None
    if path != "numpy":
        try:
            _compiled = _load()
        except ImportError:
            if path == "numba":
                raise
    _decided = True
    return _compiled


def _load():
    """Hand every loop below to numba; return this module. Each compiles (or loads its
    cached machine code) on its first call."""
    global _loaded
    module = sys.modules[__name__]
    with _load_lock:
        if _loaded:
            return module
        try:
            import numba
        except ImportError as error:
            raise ImportError("the numba kernels need numba: pip install 'chainrule[fast]' "
                              "(or use_kernels('numpy'))") from error
        # error_model="numpy": x/0 gives inf as in NumPy, rather than raising (a check per
        # division that would also keep the loops from using vector instructions).
        compile_ = numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
        for name in _COMPILED:
            setattr(module, name, compile_(getattr(module, name)))
        _loaded = True
    return module


# -- optimizers: one pass does the backup copy, the update and the finiteness check --------------
#
# Each ``_<name>`` loop updates its 1-D arrays and returns how many new parameters are NaN
# or infinite. The statements follow the NumPy code in optimizers.py operation by operation.
# (Loops run over ``range(array.size)``, which lets the compiler use vector instructions.)


def sgd(param, grad, backup, learning_rate) -> bool:
    """p ← p + (−lr)·g. True if every new parameter is finite."""
    return _sgd(param, grad, backup, -learning_rate) == 0


def _sgd(param, grad, backup, neg_lr):
    neg_lr = np.float32(neg_lr)
    bad = 0
    for i in range(param.size):
        backup[i] = param[i]
        p = param[i] + grad[i] * neg_lr
        param[i] = p
        bad += not np.isfinite(p)
    return bad


def sgd_momentum(param, grad, momentums, backup, momentum, learning_rate) -> bool:
    """u ← momentum·u + (−lr)·g; p ← p + u."""
    return _sgd_momentum(param, grad, momentums, backup, momentum, -learning_rate) == 0


def _sgd_momentum(param, grad, momentums, backup, momentum, neg_lr):
    momentum, neg_lr = np.float32(momentum), np.float32(neg_lr)
    bad = 0
    for i in range(param.size):
        backup[i] = param[i]
        u = momentums[i] * momentum + grad[i] * neg_lr
        momentums[i] = u
        p = param[i] + u
        param[i] = p
        bad += not np.isfinite(p)
    return bad


def adagrad(param, grad, cache, backup, epsilon, learning_rate) -> bool:
    """cache ← cache + g²; p ← p − lr·(g / (√cache + ε))."""
    return _adagrad(param, grad, cache, backup, epsilon, learning_rate) == 0


def _adagrad(param, grad, cache, backup, epsilon, lr):
    epsilon, lr = np.float32(epsilon), np.float32(lr)
    bad = 0
    for i in range(param.size):
        backup[i] = param[i]
        g = grad[i]
        c = cache[i] + g * g
        cache[i] = c
        p = param[i] - g / (np.sqrt(c) + epsilon) * lr
        param[i] = p
        bad += not np.isfinite(p)
    return bad


def rmsprop(param, grad, cache, backup, rho, epsilon, learning_rate) -> bool:
    """cache ← ρ·(cache − g²) + g²; p ← p − lr·(g / (√cache + ε))."""
    return _rmsprop(param, grad, cache, backup, rho, epsilon, learning_rate) == 0


def _rmsprop(param, grad, cache, backup, rho, epsilon, lr):
    rho, epsilon, lr = np.float32(rho), np.float32(epsilon), np.float32(lr)
    bad = 0
    for i in range(param.size):
        backup[i] = param[i]
        g = grad[i]
        g2 = g * g
        c = (cache[i] - g2) * rho + g2
        cache[i] = c
        p = param[i] - g / (np.sqrt(c) + epsilon) * lr
        param[i] = p
        bad += not np.isfinite(p)
    return bad


def adam(param, grad, momentums, cache, backup, beta_1, beta_2, epsilon_c2, k) -> bool:
    """m ← β₁·m + (1 − β₁)·g; v ← β₂·v + (1 − β₂)·g²; p ← p − k·(m / (√v + ε·c₂)).

    1 − β is computed here in float64, as NumPy computes it before rounding it to float32.
    """
    return _adam(param, grad, momentums, cache, backup, beta_1, 1 - beta_1, beta_2,
                 1 - beta_2, epsilon_c2, k) == 0


def _adam(param, grad, m, v, backup, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
          epsilon_c2, k):
    beta_1, one_minus_beta_1 = np.float32(beta_1), np.float32(one_minus_beta_1)
    beta_2, one_minus_beta_2 = np.float32(beta_2), np.float32(one_minus_beta_2)
    epsilon_c2, k = np.float32(epsilon_c2), np.float32(k)
    bad = 0
    for i in range(param.size):
        backup[i] = param[i]
        g = grad[i]
        mi = m[i] * beta_1 + g * one_minus_beta_1
        vi = v[i] * beta_2 + g * g * one_minus_beta_2
        m[i] = mi
        v[i] = vi
        p = param[i] - mi / (np.sqrt(vi) + epsilon_c2) * k
        param[i] = p
        bad += not np.isfinite(p)
    return bad


# -- layers and losses: (n_samples, k) arrays, one pass each ---------------------------------------


def add_bias(output, biases):
    """output (n, k) += biases (1, k), every row."""
    bias = biases.ravel()
    for i in range(output.shape[0]):
        row = output[i]
        for j in range(row.size):
            row[j] += bias[j]


def relu_forward(inputs, output):
    """output = max(inputs, 0), NaN kept (as np.maximum)."""
    x, out = inputs.ravel(), output.ravel()
    zero = np.float32(0)
    for i in range(x.size):
        out[i] = x[i] if (x[i] > zero or x[i] != x[i]) else zero


def relu_backward(dvalues, output, dinputs):
    """dinputs = dvalues·(output > 0), the step function as 1.0 or 0.0."""
    d, out, din = dvalues.ravel(), output.ravel(), dinputs.ravel()
    one, zero = np.float32(1), np.float32(0)
    for i in range(d.size):
        din[i] = d[i] * (one if out[i] > zero else zero)


def tanh_backward(dvalues, output, dinputs):
    """dinputs = (1 − output²)·dvalues."""
    d, out, din = dvalues.ravel(), output.ravel(), dinputs.ravel()
    one = np.float32(1)
    for i in range(d.size):
        din[i] = (one - out[i] * out[i]) * d[i]


def sigmoid_backward(dvalues, output, dinputs):
    """dinputs = dvalues·(1 − σ)·σ."""
    d, out, din = dvalues.ravel(), output.ravel(), dinputs.ravel()
    one = np.float32(1)
    for i in range(d.size):
        din[i] = d[i] * (one - out[i]) * out[i]


def softmax_forward(inputs, output):
    """Each row: e^(x − max) / Σ e^(x − max)."""
    if inputs.shape[1] == 0:
        return
    for i in range(inputs.shape[0]):
        x, out = inputs[i], output[i]
        row_max = x[0]
        for j in range(1, x.size):
            if x[j] > row_max or x[j] != x[j]:
                row_max = x[j]
        total = np.float32(0)
        for j in range(x.size):
            e = np.exp(x[j] - row_max)
            out[j] = e
            total += e
        for j in range(x.size):
            out[j] /= total


def row_argmax(values, out):
    """out[i] = the first column holding row i's maximum (or its first NaN), as np.argmax."""
    if values.shape[1] == 0 and values.shape[0] > 0:
        raise ValueError("attempt to get argmax of an empty sequence")
    for i in range(values.shape[0]):
        row = values[i]
        best, where = row[0], 0
        for j in range(1, row.size):
            if best != best:
                break
            if row[j] > best or row[j] != row[j]:
                best, where = row[j], j
        out[i] = where


def crossentropy_losses(predictions, targets, losses, low, high):
    """losses[i] = −Σ_k y_ik·log(clip(p_ik, low, high)), NaN kept (as np.maximum/minimum)."""
    low, high = np.float32(low), np.float32(high)
    for i in range(predictions.shape[0]):
        total = np.float32(0)
        for j in range(predictions.shape[1]):
            p, y = predictions[i, j], targets[i, j]
            # log(clip(p))·0 is 0 unless p is NaN: only NaN must reach the sum then.
            if y != 0 or p != p:
                if p < low:
                    p = low
                elif p > high:
                    p = high
                total += np.log(p) * y
        losses[i] = -total


def softmax_crossentropy_gradient(probabilities, targets, dinputs):
    """dinputs = (p − y) / n_samples."""
    n = np.float32(probabilities.shape[0])
    p, y, din = probabilities.ravel(), targets.ravel(), dinputs.ravel()
    for i in range(p.size):
        din[i] = (p[i] - y[i]) / n


def add_regularization(dparam, param, l1, l2):
    """dparam += l1·sign(param) (in float64, as NumPy's int × float does), then += 2·l2·param."""
    two_l2 = np.float32(2 * l2)
    d, p = dparam.ravel(), param.ravel()
    if l1 > 0:
        for i in range(d.size):
            d[i] = np.float32(np.float64(d[i]) + (-l1 if p[i] < 0 else l1))
    if l2 > 0:
        for i in range(d.size):
            d[i] += two_l2 * p[i]


_COMPILED = ("_sgd", "_sgd_momentum", "_adagrad", "_rmsprop", "_adam", "add_bias",
             "relu_forward", "relu_backward", "tanh_backward", "sigmoid_backward",
             "softmax_forward", "row_argmax", "crossentropy_losses",
             "softmax_crossentropy_gradient", "add_regularization")

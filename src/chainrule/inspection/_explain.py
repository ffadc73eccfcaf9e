"""Explain one gradient: the chain rule from the loss back to one parameter, with its numbers.

``explain(model, X, y, layer=0, index=(i, j))`` runs the model's own forward and
backward pass on ``X, y`` and walks the chain from the loss back to the parameter
θ = ``layers[layer].<param>[index]``, one local derivative per step, as the seed
writes it by hand (``dloss_dweights = dloss_dlinear * dlinear_dweights``).

This module adds no math of its own: every number is a layer's output or
``dinputs`` from that pass, or a layer's own statement of its local derivative
(``derivative``, ``jacobian``, ``parameter_derivative``, ``regularization_gradients``),
printed with the rule the layer gives for it (``local_rule``). The numerical check
perturbs θ on a float64 copy of the layers, with dropout masks held fixed, and
differentiates the function backward differentiates: with softmax + cross-entropy
the fused form −log softmax(z)_y, with sigmoid + binary cross-entropy −y·log σ(z) −
(1 − y)·log σ(−z) (backward's (p − y) takes no clip), otherwise the loss with its clip
continued in a straight line (backward takes −y/ŷ at the clipped ŷ). The explanation
names the samples whose ŷ the loss clips.

The pass runs on twins of the layers and the loss: the model keeps its outputs,
gradients, buffers and random streams (a dropout mask drawn for the explanation
comes from a copy of the layer's generator, or from NumPy's global state, put
back afterwards), so training after an explanation is training without one.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence

import numpy as np

from .. import _checks
from ..nn import (
    EPS,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Layer,
    Loss,
    SoftmaxCategoricalCrossentropy,
    fused_loss_for,
)
from ..training import Model, check_X
from ._explanation import Explanation, Step
from ._gradcheck import numerical_gradient

__all__ = ["Explanation", "Step", "explain"]


def explain(model, X, y, *, layer, param: str = "weights", index, loss=None) -> Explanation:
    """Explain ∂L/∂θ for θ = ``layers[layer].<param>[index]`` on the batch ``X, y``.

    Parameters
    ----------
    model : Model, or a sequence of layers (then give ``loss``)
        The network whose parameter is explained; it is left as it was found.
    X : array (n_samples, n_features)
        The batch of inputs.
    y : array
        Targets, as the loss takes them.
    layer : int or Layer
        Index into the layer list, or the layer itself.
    param : str
        A name in that layer's ``params`` (``"weights"``, ``"biases"``).
    index : (i, j), or j for biases
        The element of the parameter.
    loss : Loss, optional
        The loss ending the layers (a Model brings its own).

    Returns
    -------
    Explanation
        The value, the chain of steps that produced it, and the numerical check.
    """
    layers, loss = _layers_and_loss(model, loss)
    k = _layer_index(layers, layer)
    target = layers[k]
    if param not in target.params or not hasattr(target, "parameter_derivative"):
        raise ValueError(f"explain param must be one of {target!r}'s parameters "
                         f"{target.params}; got {param!r}")
    index = _check_index(index, getattr(target, param).shape, param)
    fused = fused_loss_for(layers[-1], loss)  # the Model's choice, or None
    # Everything below runs on twins: the model is left as it was found.
    layers, loss = [_twin(layer) for layer in layers], _twin(loss)
    # X as the Model's own check gives it to the layers: cast to the model's dtype, or
    # as given to a first Normalization (which standardises it in float64 first).
    X = check_X(Model(layers), X, "X")
    with _global_random_state_kept():
        head, top = _forward_backward(layers, loss, fused, X, y)
    steps = _chain(layers, head, top, k, param, index)
    value = float(getattr(layers[k], "d" + param)[index])
    numerical, loss_value = _numerical(layers, loss, fused, X, y, k, param, index)
    resolution = _resolution(getattr(target, param).dtype, loss_value)
    # Relative to the larger of the two, or to the check's resolution where both are
    # below it (an absolute floor, as gradient checkers use): 0 against −5e-13 is
    # agreement, not a relative error of 1.
    scale = max(abs(value), abs(numerical), resolution)
    return Explanation(
        parameter=f"layers[{k}].{param}[{index[0]}, {index[1]}]", layer=k, param=param,
        index=index, layer_repr=repr(target), loss=repr(head), n_samples=len(X),
        value=value, numerical=numerical,
        relative_error=abs(value - numerical) / scale, steps=steps,
        clipped=_clipped(loss, layers[-1].output, y), fused=fused is not None,
        resolution=resolution)


def _twin(part):
    """A copy of a layer or loss that shares its parameters and configuration but not
    what a pass changes: its results, caches and buffers, and its random generator."""
    twin = object.__new__(type(part))
    twin.__dict__.update(part.__dict__)
    for name, value in part.__dict__.items():
        if isinstance(value, (np.random.Generator, np.random.RandomState)):
            setattr(twin, name, copy.deepcopy(value))  # the model's stream does not advance
        elif isinstance(value, dict):
            setattr(twin, name, dict(value))  # caches and buffers filled lazily
    twin.reuse_buffers = False  # fresh result arrays: none of the model's is written
    if isinstance(twin, Layer):
        twin.compute_dinputs = True
    return twin


@contextlib.contextmanager
def _global_random_state_kept():
    """A dropout layer without ``rng`` draws from NumPy's global state: put it back."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def _clipped(loss, output: np.ndarray, y) -> tuple[int, ...]:
    """The samples whose prediction the loss clips to [1e-7, 1 − 1e-7], where it counts:
    a class the target gives weight (cross-entropy), any output (binary)."""
    if not isinstance(loss, (CategoricalCrossentropy, BinaryCrossentropy)):
        return ()
    outside = (output < EPS) | (output > 1 - EPS)
    if isinstance(loss, CategoricalCrossentropy):
        targets = _checks.check_labels("y", y, *output.shape)
        if targets.ndim == 1:
            outside = outside[np.arange(len(output)), targets][:, None]
        else:
            outside &= targets > 0
    return tuple(int(i) for i in np.flatnonzero(outside.any(axis=1)))


def _forward_backward(layers, loss, fused, X, y):
    """The model's own training pass; returns the head of the chain and its position.

    The head is the loss, or the fused last layer + loss (which stands in for the
    softmax's or sigmoid's backward, as in the Model). ``top`` is the index of the first
    layer *not* covered by the head's gradient: ``head.dinputs`` = ∂L/∂(input of
    ``layers[top]``), or ∂L/∂ŷ when ``top == len(layers)``.
    """
    output = X
    for layer in layers:
        output = layer.forward(output, training=True)
    if fused is not None:
        head, top = fused, len(layers) - 1
    else:
        head, top = loss, len(layers)
    dvalues = head.backward(output, y)
    for layer in reversed(layers[:top]):
        dvalues = layer.backward(dvalues)
    return head, top


def _chain(layers, head, top, k, param, index) -> list[Step]:
    """The steps from the loss back to θ, numbers from the pass just made."""
    target = layers[k]
    column, derivative, parameter_rule = target.parameter_derivative(param, index)
    # Between θ's layer and the first layer above it that mixes its inputs, θ moves a
    # single column; above that layer the gradient is a vector over each layer's units.
    mixing = [m for m in range(k + 1, top) if not hasattr(layers[m], "derivative")]
    nearest = mixing[0] if mixing else top

    def name(m: int) -> str:  # the output of layers[m]
        if m == len(layers) - 1:
            return "ŷ"
        return f"{'z' if layers[m].params else 'a'}{m}"

    def at(m: int) -> str:  # the output of layers[m] is tracked in one column, or whole
        return f"[{column}]" if m < nearest else ""

    def pick(array: np.ndarray, m: int) -> np.ndarray:
        return array[:, column] if m < nearest else array

    # The head's gradient is ∂L/∂ŷ, or ∂L/∂(softmax input) for the fused loss.
    start = f"∂L/∂{name(top - 1)}{at(top - 1)}"
    steps = [Step("loss", start, start, head.local_rule(), None, None,
                  pick(head.dinputs, top - 1))]
    for m in range(top - 1, k, -1):
        layer, below = layers[m], name(m - 1)
        result, gradient = f"∂L/∂{below}{at(m - 1)}", pick(layer.dinputs, m - 1)
        if hasattr(layer, "derivative"):  # element-wise: one factor per unit
            local = pick(layer.derivative(layer.inputs), m - 1)
            steps.append(Step("factor", f"∂{name(m)}{at(m)}/∂{below}{at(m - 1)}", result,
                              layer.local_rule(), m, local, gradient))
        else:  # every output depends on this input: its gradient sums over the outputs
            local = layer.jacobian(layer.inputs)[:, :, column] if m == nearest else None
            steps.append(Step("sum", f"∂{name(m)}/∂{below}{at(m - 1)}", result,
                              layer.local_rule(), m, local, gradient))
    upstream = steps[-1].gradient
    symbol = "W" if param == "weights" else "b"
    theta = f"{symbol}{k}[{index[0]}, {index[1]}]" if param == "weights" else f"b{k}[{column}]"
    steps.append(Step("parameter", f"∂{name(k)}[{column}]/∂{theta}", f"∂L/∂{theta}",
                      parameter_rule, k, derivative, upstream * derivative))
    for rule, gradient in target.regularization_gradients(param):
        steps.append(Step("regularization", f"∂penalty/∂{theta}", f"∂L/∂{theta}", rule, k,
                          None, np.asarray(gradient[index])))
    return steps


#: the step ε of the numerical check
STEP = 1e-6


def _resolution(dtype, loss_value: float) -> float:
    """The smallest |∂L/∂θ| the comparison resolves: the backward's own rounding (its
    dtype's epsilon; at least 1e-8, cs231n's floor, for float64) or the difference
    quotient's, 2.2e-16·|L| / ε (L(θ ± ε) each rounded in float64)."""
    backward = max(float(np.finfo(dtype).eps), 1e-8)
    return max(backward, float(np.finfo(np.float64).eps) * abs(loss_value) / STEP)


def _numerical(layers, loss, fused, X, y, k, param, index,
               eps: float = STEP) -> tuple[float, float]:
    """(L(θ + ε) − L(θ − ε)) / 2ε on a float64 copy, with this pass's dropout masks,
    of the function backward differentiates; and L(θ)."""
    twins = [_float64_copy(layer) for layer in layers]
    X = X.astype(np.float64)
    # The fused backward starts below the softmax (or sigmoid), with (p − y): its function
    # is the cross-entropy of the logits, in its log-softmax (log σ) form: no clip, no log
    # of 0, and no digits lost where σ(z) is within an ulp of 1.
    softmax = isinstance(fused, SoftmaxCategoricalCrossentropy)
    run = twins[:-1] if fused is not None else twins
    targets = (_checks.check_labels("y", y, len(X), layers[-1].output.shape[1]) if softmax
               else None)
    loss = _twin(loss)

    def objective(_) -> float:
        output = X
        for twin in run:
            if hasattr(twin, "forward_with_mask"):  # the mask of the pass being explained
                output = twin.forward_with_mask(output)
            else:
                output = twin.forward(output, training=True)
        if softmax:
            data_loss = _log_softmax_crossentropy(output, targets)
        elif fused is not None:
            data_loss = _logit_binary_crossentropy(output, loss.check_targets(y, output.shape))
        else:
            data_loss = _continued_loss(loss, output, y)
        return data_loss + loss.regularization_loss([twin for twin in twins if twin.params])

    element = getattr(twins[k], param)[index[0]:index[0] + 1, index[1]:index[1] + 1]
    return float(numerical_gradient(objective, element, eps)[0, 0]), objective(None)


def _log_softmax_crossentropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean −Σ_k y_k·log softmax(z)_k, with log softmax(z) = z − max z − log Σ exp(z − max z):
    the function whose gradient is (p − y) / n, finite however confident the model is."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    if targets.ndim == 1:
        return float(-np.mean(log_p[np.arange(len(log_p)), targets]))
    return float(-np.mean(np.sum(targets * log_p, axis=1)))


def _continued_loss(loss, output: np.ndarray, y) -> float:
    """The loss as backward differentiates it. A cross-entropy clips ŷ to [1e-7, 1 − 1e-7]
    and backward takes its derivative at the clipped ŷ, so beyond the clip the function
    is the tangent there: L(c) + L′(c)·(ŷ − c), c = clip(ŷ) (the loss itself where ŷ is
    inside)."""
    if not isinstance(loss, (CategoricalCrossentropy, BinaryCrossentropy)):
        return loss.calculate(output, y)
    clipped = np.clip(output, EPS, 1 - EPS)
    slope = loss.backward(output, y)  # L′ at the clip, per element (mean over samples)
    return loss.calculate(clipped, y) + float(np.sum(slope * (output - clipped)))


def _logit_binary_crossentropy(z: np.ndarray, y: np.ndarray) -> float:
    """Mean −y·log σ(z) − (1 − y)·log σ(−z), with −log σ(z) = log(1 + e^(−z)): the function
    whose gradient is (σ − y) / (n·k), finite and to full precision however large |z|."""
    return float(np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)))


def _float64_copy(layer: Layer) -> Layer:
    """A twin of ``layer`` with float64 copies of its parameters (the layer is untouched).

    The twin shares everything else — the configuration, a dropout layer's mask — and
    is built without ``copy``, so that it takes no parameter memory of its own.
    """
    twin = object.__new__(type(layer))
    twin.__dict__.update(layer.__dict__)
    for name in layer.params:
        setattr(twin, name, np.array(getattr(layer, name), dtype=np.float64))
    if hasattr(twin, "dtype"):
        twin.dtype = np.dtype(np.float64)
    twin.reuse_buffers = False
    return twin


def _layers_and_loss(model, loss):
    layers = getattr(model, "layers", model)
    if (not isinstance(layers, Sequence) or not layers
            or not all(isinstance(layer, Layer) for layer in layers)):
        raise TypeError("explain needs a Model or a non-empty list of layers; "
                        f"got {_checks.describe(model)}")
    loss = loss if loss is not None else getattr(model, "loss", None)
    if not isinstance(loss, Loss):
        raise ValueError("explain needs a loss: give a Model with model.set(loss=...), or "
                         f"explain(layers, X, y, ..., loss=...); got {loss!r}")
    return list(layers), loss


def _layer_index(layers, layer) -> int:
    if isinstance(layer, Layer):
        for i, candidate in enumerate(layers):
            if candidate is layer:
                return i
        raise ValueError(f"explain layer {layer!r} is not one of the model's layers")
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise TypeError(f"explain layer must be an index or a Layer; got {layer!r}")
    if not -len(layers) <= layer < len(layers):
        raise ValueError(f"explain layer must be an index in [0, {len(layers) - 1}]; "
                         f"got {layer}")
    k = int(layer) % len(layers)
    if not layers[k].params:
        with_params = [i for i, candidate in enumerate(layers) if candidate.params]
        raise ValueError(f"explain layer {k} ({layers[k]!r}) has no parameters; layers with "
                         f"parameters: {with_params}")
    return k


def _check_index(index, shape, param) -> tuple[int, int]:
    """``(i, j)``; for a (1, n) parameter (biases) also ``j`` alone."""
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool) and shape[0] == 1:
        index = (0, index)
    if (not isinstance(index, (tuple, list)) or len(index) != 2
            or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                       for i in index)):
        raise TypeError(f"explain index must be a pair (i, j) of integers for {param} of "
                        f"shape {shape}; got {index!r}")
    if not all(0 <= i < n for i, n in zip(index, shape, strict=True)):
        raise ValueError(f"explain index must lie within {param}'s shape {shape}; got {index}")
    return int(index[0]), int(index[1])

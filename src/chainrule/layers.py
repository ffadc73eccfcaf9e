"""Layers: each one owns its forward pass and its local derivatives.

A layer's ``forward(inputs)`` computes and stores ``output``; its
``backward(dvalues)`` receives ∂L/∂output and stores ``dinputs`` = ∂L/∂inputs
(and ``d<param>`` for each parameter listed in ``params``). Chaining the
``backward`` calls from the last layer to the first is backpropagation.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_fraction, check_nonnegative, check_positive_int
from ._random import as_generator, binomial, standard_normal


class Layer:
    """Base class: the life cycle ``forward`` → ``backward`` and a readable repr.

    Subclasses list their trainable arrays by name in ``params``; the gradient
    of ``params[i]`` is the attribute ``"d" + params[i]``.
    """

    params: tuple[str, ...] = ()

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        """Turn this layer's outputs into predictions (identity unless overridden)."""
        return outputs

    def config(self) -> dict:
        """Hyper-parameters that rebuild this layer: ``type(layer)(**layer.config())``."""
        return {}

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        """The shape of each parameter a layer built from ``config`` has (files check it)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    def _check_dvalues(self, dvalues) -> np.ndarray:
        """Refuse a backward pass before a forward pass, or of the wrong shape."""
        output = getattr(self, "output", None)
        if output is None:
            raise RuntimeError(f"{self!r}: backward() called before forward()")
        dvalues = np.asarray(dvalues)
        if dvalues.shape != output.shape:
            raise ValueError(
                f"{self!r}: dvalues must have the output's shape {output.shape}; "
                f"got {dvalues.shape}"
            )
        return dvalues


def _check_inputs(layer: Layer, inputs, n_features: int | None = None) -> np.ndarray:
    """Inputs of a layer: a 2-D float array, with ``n_features`` columns if given."""
    inputs = np.asarray(inputs)
    if inputs.dtype.kind != "f":
        if inputs.dtype.kind not in "iu":
            raise TypeError(f"{layer!r}: inputs must be numeric; got dtype {inputs.dtype}")
        inputs = inputs.astype(np.float64)
    if inputs.ndim != 2 or (n_features is not None and inputs.shape[1] != n_features):
        expected = f"(n_samples, {n_features})" if n_features is not None else "(n_samples, k)"
        raise ValueError(f"{layer!r}: inputs must have shape {expected}; got {inputs.shape}")
    return inputs


def _initial_weights(init: str, n_inputs: int, n_neurons: int, rng) -> np.ndarray:
    """Draw a ``(n_inputs, n_neurons)`` weight matrix for the named scheme."""
    draws = standard_normal(rng, n_inputs, n_neurons)
    if init == "nnfs":
        # The book's choice: small weights so the first outputs are near zero.
        return 0.01 * draws
    if init == "he":
        # He et al.: keeps the variance of ReLU activations constant across layers.
        return draws * np.sqrt(2.0 / n_inputs)
    # Glorot / Xavier (normal): keeps forward and backward variances balanced.
    return draws * np.sqrt(2.0 / (n_inputs + n_neurons))


INITS = ("nnfs", "he", "glorot")


class Dense(Layer):
    """A fully connected layer: ``output = inputs @ weights + biases``.

    Parameters
    ----------
    n_inputs, n_neurons : int
        ``weights`` has shape ``(n_inputs, n_neurons)``, ``biases`` ``(1, n_neurons)``.
    init : {"nnfs", "he", "glorot"}
        How the weights are drawn; biases start at zero.
    weight_regularizer_l1, weight_regularizer_l2, bias_regularizer_l1, bias_regularizer_l2 : float
        Strengths λ of the penalties λ·Σ|w| and λ·Σw² added to the loss.
    dtype : numpy float dtype, default float32
    rng : numpy.random.Generator, int or None
        None draws from NumPy's global state with ``np.random.randn``, as the book.
    """

    params = ("weights", "biases")

    def __init__(
        self,
        n_inputs: int,
        n_neurons: int,
        *,
        init: str = "nnfs",
        weight_regularizer_l1: float = 0.0,
        weight_regularizer_l2: float = 0.0,
        bias_regularizer_l1: float = 0.0,
        bias_regularizer_l2: float = 0.0,
        dtype=np.float32,
        rng=None,
    ):
        self.n_inputs = check_positive_int("Dense n_inputs", n_inputs)
        self.n_neurons = check_positive_int("Dense n_neurons", n_neurons)
        if init not in INITS:
            raise ValueError(f"Dense init must be one of {INITS}; got {init!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"Dense dtype must be a floating-point dtype; got {self.dtype}")
        self.init = init
        strengths = {
            "weight_regularizer_l1": weight_regularizer_l1,
            "weight_regularizer_l2": weight_regularizer_l2,
            "bias_regularizer_l1": bias_regularizer_l1,
            "bias_regularizer_l2": bias_regularizer_l2,
        }
        for name, value in strengths.items():
            setattr(self, name, check_nonnegative(name, value))
        weights = _initial_weights(init, self.n_inputs, self.n_neurons, as_generator(rng))
        self.weights = weights.astype(self.dtype)
        self.biases = np.zeros((1, self.n_neurons), dtype=self.dtype)

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, n_inputs) → ``output`` (n_samples, n_neurons)."""
        self.inputs = _check_inputs(self, inputs, self.n_inputs)
        # z = x·W + b, one row per sample; the bias row is added to every row.
        self.output = np.dot(self.inputs, self.weights)
        self.output += self.biases
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """``dvalues`` (n_samples, n_neurons) → ``dinputs`` (n_samples, n_inputs)."""
        dvalues = self._check_dvalues(dvalues)
        # ∂z/∂W = xᵀ: each weight's gradient sums input × upstream gradient over samples.
        self.dweights = np.dot(self.inputs.T, dvalues)
        # ∂z/∂b = 1: the bias gradient is the upstream gradient summed over samples.
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self._add_regularization_gradients()
        # ∂z/∂x = Wᵀ: every input feeds every neuron, so its gradient sums over neurons.
        self.dinputs = np.dot(dvalues, self.weights.T)
        return self.dinputs

    def _add_regularization_gradients(self) -> None:
        # ∂(λ·Σ|w|)/∂w = λ·sign(w), taking +1 at w = 0 as the book does.
        if self.weight_regularizer_l1 > 0:
            self.dweights += self.weight_regularizer_l1 * np.where(self.weights < 0, -1, 1)
        # ∂(λ·Σw²)/∂w = 2λw.
        if self.weight_regularizer_l2 > 0:
            self.dweights += 2 * self.weight_regularizer_l2 * self.weights
        if self.bias_regularizer_l1 > 0:
            self.dbiases += self.bias_regularizer_l1 * np.where(self.biases < 0, -1, 1)
        if self.bias_regularizer_l2 > 0:
            self.dbiases += 2 * self.bias_regularizer_l2 * self.biases

    def regularization_loss(self) -> float:
        """The penalty λ₁·Σ|w| + λ₂·Σw² (and the same for biases) this layer adds to the loss."""
        penalty = 0.0
        if self.weight_regularizer_l1 > 0:
            penalty += self.weight_regularizer_l1 * float(np.sum(np.abs(self.weights)))
        if self.weight_regularizer_l2 > 0:
            penalty += self.weight_regularizer_l2 * float(np.sum(self.weights * self.weights))
        if self.bias_regularizer_l1 > 0:
            penalty += self.bias_regularizer_l1 * float(np.sum(np.abs(self.biases)))
        if self.bias_regularizer_l2 > 0:
            penalty += self.bias_regularizer_l2 * float(np.sum(self.biases * self.biases))
        return penalty

    @classmethod
    def parameter_shapes(cls, config: dict) -> dict[str, tuple[int, ...]]:
        n_inputs, n_neurons = config["n_inputs"], config["n_neurons"]
        return {"weights": (n_inputs, n_neurons), "biases": (1, n_neurons)}

    def config(self) -> dict:
        config = {"n_inputs": self.n_inputs, "n_neurons": self.n_neurons, "init": self.init}
        for name in (
            "weight_regularizer_l1",
            "weight_regularizer_l2",
            "bias_regularizer_l1",
            "bias_regularizer_l2",
        ):
            config[name] = getattr(self, name)
        config["dtype"] = self.dtype.name
        return config

    def __repr__(self) -> str:
        extras = [f"{k}={v!r}" for k, v in self.config().items() if k.endswith(("l1", "l2")) and v]
        if self.init != "nnfs":
            extras.insert(0, f"init={self.init!r}")
        if self.dtype != np.float32:
            extras.append(f"dtype={self.dtype.name!r}")
        return f"Dense({', '.join([str(self.n_inputs), str(self.n_neurons), *extras])})"


class Dropout(Layer):
    """Inverted dropout: zero a fraction ``rate`` of the inputs while training.

    The kept values are scaled by 1/(1 - rate) so the expected output equals the
    input, which is why inference (``training=False``) is the identity.

    Parameters
    ----------
    rate : float in [0, 1)
        Fraction of units dropped.
    rng : numpy.random.Generator, int or None
        None draws the mask with ``np.random.binomial``, as the book.
    """

    def __init__(self, rate: float, *, rng=None):
        self.rate = check_fraction("Dropout rate", rate)
        self.rng = as_generator(rng)

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → ``output`` of the same shape."""
        self.inputs = _check_inputs(self, inputs)
        if not training:
            self.binary_mask = None
            self.output = self.inputs.copy()
            return self.output
        keep = 1 - self.rate
        mask = binomial(self.rng, keep, self.inputs.shape)
        # Scaling at training time keeps inference free of any correction.
        self.binary_mask = (mask / keep).astype(self.inputs.dtype)
        self.output = self.inputs * self.binary_mask
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """∂(x·mask)/∂x = mask: gradients flow only through the kept units."""
        dvalues = self._check_dvalues(dvalues)
        if self.binary_mask is None:
            self.dinputs = dvalues.copy()
        else:
            self.dinputs = dvalues * self.binary_mask
        return self.dinputs

    def config(self) -> dict:
        return {"rate": self.rate}

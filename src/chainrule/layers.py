"""Layers: each one owns its forward pass and its local derivatives.

A layer's ``forward(inputs)`` computes and stores ``output``; its
``backward(dvalues)`` receives ∂L/∂output and stores ``dinputs`` = ∂L/∂inputs
(and ``d<param>`` for each parameter listed in ``params``). Chaining the
``backward`` calls from the last layer to the first is backpropagation.
"""

from __future__ import annotations

import numpy as np

from ._buffers import Buffered
from ._checks import check_fraction, check_nonnegative, check_positive_int
from ._random import as_generator, binomial, standard_normal


class Layer(Buffered):
    """Base class: the life cycle ``forward`` → ``backward`` and a readable repr.

    Subclasses list their trainable arrays by name in ``params``; the gradient
    of ``params[i]`` is the attribute ``"d" + params[i]``.
    """

    params: tuple[str, ...] = ()
    #: the Model turns this off for its first layer: nothing upstream needs ∂L/∂inputs there
    compute_dinputs: bool = True
    #: whether the layer adds a penalty to the loss (see ``Dense.regularization_loss``)
    regularized: bool = False

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
        if self.reuse_buffers:  # inside the Model's loop: shapes are right by construction
            return dvalues
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
    if layer.reuse_buffers:  # inside the Model's loop: the Model checked its data once
        return inputs
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
        dtype = self.weights.dtype
        if self.inputs.dtype != dtype:
            dtype = np.result_type(self.inputs.dtype, dtype)
        self.output = self._buffer("output", (len(self.inputs), self.n_neurons), dtype)
        # z = x·W + b, one row per sample; the bias row is added to every row.
        np.matmul(self.inputs, self.weights, out=self.output)
        self.output += self.biases
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """``dvalues`` (n_samples, n_neurons) → ``dinputs`` (n_samples, n_inputs)."""
        dvalues = self._check_dvalues(dvalues)
        dtype = self.weights.dtype
        # ∂z/∂W = xᵀ: each weight's gradient sums input × upstream gradient over samples.
        self.dweights = self._gradient_buffer("dweights", self.weights.shape, dtype)
        np.matmul(self.inputs.T, dvalues, out=self.dweights)
        # ∂z/∂b = 1: the bias gradient is the upstream gradient summed over samples,
        # written as the product 1ᵀ·dvalues with a row of ones (faster than np.sum here).
        self.dbiases = self._gradient_buffer("dbiases", self.biases.shape, dtype)
        ones = self._constant(1, (1, len(dvalues)), dvalues.dtype)
        np.matmul(ones, dvalues, out=self.dbiases)
        if self.regularized:
            self._add_regularization_gradients()
        if not self.compute_dinputs:
            return None
        # ∂z/∂x = Wᵀ: every input feeds every neuron, so its gradient sums over neurons.
        if dvalues.dtype != dtype:
            dtype = np.result_type(dvalues.dtype, dtype)
        self.dinputs = self._buffer("dinputs", (len(dvalues), self.n_inputs), dtype)
        np.matmul(dvalues, self.weights.T, out=self.dinputs)
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

    @property
    def regularized(self) -> bool:
        return any((self.weight_regularizer_l1, self.weight_regularizer_l2,
                    self.bias_regularizer_l1, self.bias_regularizer_l2))

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
        self.output = self._buffer("output", self.inputs.shape, self.inputs.dtype)
        if not training:
            self.binary_mask = None
            np.copyto(self.output, self.inputs)
            return self.output
        keep = 1 - self.rate
        self.binary_mask = self._buffer("binary_mask", self.inputs.shape, self.inputs.dtype)
        if self.rng is None:
            # The book's mask, from NumPy's global state: 1 with probability keep, else 0.
            np.copyto(self.binary_mask, binomial(None, keep, self.inputs.shape))
        else:
            # The same distribution, drawn without allocating: for u uniform in [0, 1),
            # ⌊u + keep⌋ is 1 with probability keep, else 0.
            self.rng.random(dtype=self.binary_mask.dtype, out=self.binary_mask)
            self.binary_mask += keep
            np.floor(self.binary_mask, out=self.binary_mask)
        # Scaling the kept units by 1/keep now keeps inference free of any correction.
        self.binary_mask /= keep
        np.multiply(self.inputs, self.binary_mask, out=self.output)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """∂(x·mask)/∂x = mask: gradients flow only through the kept units."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
        if self.binary_mask is None:
            np.copyto(self.dinputs, dvalues)
        else:
            np.multiply(dvalues, self.binary_mask, out=self.dinputs)
        return self.dinputs

    def config(self) -> dict:
        return {"rate": self.rate}

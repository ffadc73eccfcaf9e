"""Layers: each one owns its forward pass and its local derivatives.

A layer's ``forward(inputs)`` computes and stores ``output``; its
``backward(dvalues)`` receives ∂L/∂output and stores ``dinputs`` = ∂L/∂inputs
(and ``d<param>`` for each parameter listed in ``params``). Chaining the
``backward`` calls from the last layer to the first is backpropagation.

Here are the concrete layers, each with its math: ``Dense``, ``Dropout`` and the
book's ``Input``. The base class ``Layer`` and what every layer shares (the
input check, ``diagonal_jacobian``, the default dtype) are in ``_layer.py``,
and importable from here.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels
from .._checks import as_float_array, check_fraction, check_nonnegative, check_positive_int
from .._random import as_generator, binomial, standard_normal
from ._layer import Layer, _check_inputs, diagonal_jacobian, get_default_dtype, set_default_dtype

__all__ = ["INITS", "Dense", "Dropout", "Input", "Layer", "diagonal_jacobian",
           "get_default_dtype", "set_default_dtype"]


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
    dtype : numpy float dtype, optional
        float32 unless ``chainrule.set_default_dtype`` chose another.
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
        dtype=None,
        rng=None,
    ):
        self.n_inputs = check_positive_int("Dense n_inputs", n_inputs)
        self.n_neurons = check_positive_int("Dense n_neurons", n_neurons)
        if init not in INITS:
            raise ValueError(f"Dense init must be one of {INITS}; got {init!r}")
        self.dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
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
        self._keep_parameters_together(weights=weights.astype(self.dtype),
                                       biases=np.zeros((1, self.n_neurons), dtype=self.dtype))

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, n_inputs) → ``output`` (n_samples, n_neurons)."""
        self.inputs = _check_inputs(self, inputs, self.n_inputs)
        dtype = self.weights.dtype
        if self.inputs.dtype != dtype:
            dtype = np.result_type(self.inputs.dtype, dtype)
        self.output = self._buffer("output", (len(self.inputs), self.n_neurons), dtype)
        # z = x·W + b, one row per sample; the bias row is added to every row.
        np.matmul(self.inputs, self.weights, out=self.output)
        if (kernels := _kernels.fast(self.output, self.biases)) is not None:
            kernels.add_bias(self.output, self.biases)  # the line below, compiled
        else:
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
        kernels = _kernels.fast(self.dweights, self.weights, self.dbiases, self.biases)
        if kernels is not None:  # the four terms below, compiled: one pass per parameter
            kernels.add_regularization(self.dweights, self.weights, self.weight_regularizer_l1,
                                       self.weight_regularizer_l2)
            kernels.add_regularization(self.dbiases, self.biases, self.bias_regularizer_l1,
                                       self.bias_regularizer_l2)
            return
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

    def get_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """``(weights, biases)``, the arrays themselves (the book's chapter 21)."""
        return self.weights, self.biases

    def set_parameters(self, weights, biases) -> None:
        """Copy ``weights`` (n_inputs, n_neurons) and ``biases`` (1, n_neurons) into the layer.

        Both are checked before either is written.
        """
        values = []
        for name, value in (("weights", weights), ("biases", biases)):
            current = getattr(self, name)
            value = as_float_array(f"{self!r} {name}", value, ndim=None)
            if value.shape != current.shape:
                raise ValueError(f"{self!r} {name} must have shape {current.shape}; "
                                 f"got {value.shape}")
            values.append((current, value))
        for current, value in values:
            current[...] = value

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
        if self.dtype != get_default_dtype():
            extras.append(f"dtype={self.dtype.name!r}")
        return f"Dense({', '.join([str(self.n_inputs), str(self.n_neurons), *extras])})"

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """∂z/∂x = Wᵀ for every sample: (n_samples, n_neurons, n_inputs), a read-only view."""
        inputs = _check_inputs(self, inputs, self.n_inputs)
        # z_j = Σ_i x_i·W[i, j] + b_j, so ∂z_j/∂x_i = W[i, j] whatever the sample.
        return np.broadcast_to(self.weights.T, (len(inputs), self.n_neurons, self.n_inputs))

    def local_rule(self) -> str:
        return "Dense: ∂z_j/∂x_i = W[i, j]; ∂L/∂x_i = Σ_j ∂L/∂z_j·W[i, j]"

    def parameter_derivative(self, name: str, index: tuple[int, int]):
        """∂z_j/∂param[index] for each sample of the last forward pass.

        Returns ``(j, values, rule)``: the output column ``j`` the parameter feeds,
        the derivative per sample (n_samples,), and the rule in words.
        """
        i, j = index
        if name == "weights":
            return j, self.inputs[:, i], "Dense: ∂z_j/∂W[i, j] = x_i, the input it multiplies"
        if name == "biases":
            return j, np.ones(len(self.inputs)), "Dense: ∂z_j/∂b_j = 1"
        raise ValueError(f"{self!r} has parameters {self.params}; got {name!r}")

    def regularization_gradients(self, name: str) -> list[tuple[str, np.ndarray]]:
        """``[(rule, ∂penalty/∂param)]`` for parameter ``name``: what backward adds to it."""
        kind, symbol = ("weight", "w") if name == "weights" else ("bias", "b")
        param = getattr(self, name)
        terms = []
        l1, l2 = getattr(self, f"{kind}_regularizer_l1"), getattr(self, f"{kind}_regularizer_l2")
        if l1 > 0:
            terms.append((f"L1: ∂(λ·Σ|{symbol}|)/∂{symbol} = λ·sign({symbol}), λ = {l1:g}",
                          l1 * np.where(param < 0, -1, 1)))
        if l2 > 0:
            terms.append((f"L2: ∂(λ·Σ{symbol}²)/∂{symbol} = 2λ{symbol}, λ = {l2:g}",
                          2 * l2 * param))
        return terms


class Input(Layer):
    """The book's ``Layer_Input``: hands the data to the first layer (``output = inputs``).

    The Model keeps one as ``model.input_layer``, the first layer's ``prev``.
    """

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``output`` is ``inputs`` itself (n_samples, n_features), not a copy."""
        self.output = inputs
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """``dinputs`` is ``dvalues`` itself."""
        self.dinputs = dvalues
        return self.dinputs


class Dropout(Layer):
    """Inverted dropout: zero a fraction ``rate`` of the inputs while training.

    ``rate`` is the fraction *dropped*, as in Keras and PyTorch. (The book's
    ``Layer_Dropout`` takes the same argument but stores the fraction *kept* in
    ``rate``; ``chainrule.nnfs.Layer_Dropout`` does exactly that.)

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
        keep = self.keep_probability()
        self.binary_mask = self._buffer("binary_mask", self.inputs.shape, self.inputs.dtype)
        if self.rng is None:
            # The book's mask, from NumPy's global state: 1 with probability keep, else 0.
            np.copyto(self.binary_mask, binomial(None, keep, self.inputs.shape))
        else:
            # The same distribution, drawn without allocating: for u uniform in [0, 1),
            # ⌊u + keep⌋ is 1 with probability keep, else 0. A generator draws float32 or
            # float64 only: a float16 mask takes float32 draws, the float32 layer's mask.
            draws = self.binary_mask
            if draws.dtype not in (np.float32, np.float64):
                draws = self._buffer("draws", self.inputs.shape, np.float32)
            self.rng.random(dtype=draws.dtype, out=draws)
            draws += keep
            np.floor(draws, out=draws)
            if draws is not self.binary_mask:
                np.copyto(self.binary_mask, draws)
        # Scaling the kept units by 1/keep now keeps inference free of any correction.
        self.binary_mask /= keep
        np.multiply(self.inputs, self.binary_mask, out=self.output)
        return self.output

    def keep_probability(self) -> float:
        """The chance that a unit is kept: 1 − ``rate``."""
        return 1 - self.rate

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

    def derivative(self, inputs: np.ndarray) -> np.ndarray:
        """∂output/∂inputs element-wise, (n_samples, k): the mask of the last training pass
        (1/keep where kept, 0 where dropped), or 1 everywhere after an inference pass."""
        inputs = _check_inputs(self, inputs)
        mask = getattr(self, "binary_mask", None)
        if mask is None:
            return np.ones(inputs.shape, inputs.dtype)
        if mask.shape != inputs.shape:
            raise ValueError(f"{self!r}: inputs must have the last pass's shape {mask.shape} "
                             f"(its mask); got {inputs.shape}")
        return mask.copy()

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """The mask of the last training pass on the diagonal: (n_samples, k, k)."""
        return diagonal_jacobian(self.derivative(inputs))

    def local_rule(self) -> str:
        return (f"Dropout: ∂(x·mask)/∂x = this pass's mask, 1/(1 − rate) = "
                f"{1 / self.keep_probability():.6g} where kept, 0 where dropped")

    def forward_with_mask(self, inputs: np.ndarray) -> np.ndarray:
        """The forward pass with the last training pass's mask instead of a new one.

        With its mask held fixed dropout is a fixed function of its inputs, which is
        what a numerical gradient check needs (a new mask per evaluation is noise).
        """
        inputs = _check_inputs(self, inputs)
        mask = getattr(self, "binary_mask", None)
        if mask is None or mask.shape != inputs.shape:
            raise RuntimeError(f"{self!r}: no training mask of shape {inputs.shape} to reuse; "
                               "call forward(inputs, training=True) first")
        self.inputs = inputs
        self.output = inputs * mask
        return self.output

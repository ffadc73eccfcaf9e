"""The base of every layer: the ``Layer`` class and what all layers share.

``Layer`` fixes the life cycle (``forward`` stores ``output``, ``backward``
takes ∂L/∂output and stores ``dinputs``), keeps a layer's parameters together in
one buffer and gives the readable repr. Beside it: the check of a layer's
inputs, the diagonal Jacobian of element-wise layers, and the dtype new layers
take. The concrete layers (``Dense``, ``Dropout``, ``Input``) are in
``layers.py``, and all of this is importable from there too.
"""

from __future__ import annotations

import numpy as np

from ._buffers import Buffered, parameter_memory

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype) -> np.dtype:
    """Make layers built from now on use ``dtype`` (float32 unless set); return the old one.

    ``chainrule.set_default_dtype(np.float64)`` is the one line that makes a worked
    example exact to the last printed digit: every ``Dense`` built afterwards without
    its own ``dtype=`` holds float64 parameters, and a Model follows its parameters.
    """
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype needs a floating-point dtype; got {dtype}")
    previous, _default_dtype = _default_dtype, dtype
    return previous


def get_default_dtype() -> np.dtype:
    """The dtype layers use when built without ``dtype=`` (float32 unless set)."""
    return _default_dtype


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
        """``inputs`` (n_samples, n_inputs) → ``output``, keeping what ``backward`` needs.

        ``training=False`` is inference (where dropout, for one, is the identity).
        """
        raise NotImplementedError

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """``dvalues`` = ∂L/∂output (``output``'s shape) → ``dinputs`` = ∂L/∂inputs.

        A layer with ``params`` also sets the gradient of each (``dweights``, ``dbiases``);
        with ``compute_dinputs`` off it may skip ``dinputs`` and return None.
        """
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

    def _keep_parameters_together(self, **arrays: np.ndarray) -> None:
        """Store the parameters as consecutive views into one ``parameter_buffer``.

        An optimizer then updates them all as one flat array, in place: the arrays
        are never moved, so ``w = layer.weights`` always shows the trained values.
        """
        dtype = np.result_type(*arrays.values())
        self.parameter_buffer = parameter_memory.take(sum(a.size for a in arrays.values()), dtype)
        start = 0
        for name, array in arrays.items():
            view = self.parameter_buffer[start:start + array.size].reshape(array.shape)
            view[...] = array
            start += array.size
            setattr(self, name, view)

    def __setstate__(self, state: dict) -> None:
        # Unpickling gives each view its own copy: gather them into one buffer again.
        self.__dict__.update(state)
        if "parameter_buffer" in state:
            self._keep_parameters_together(**{name: getattr(self, name) for name in self.params})

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

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """∂output/∂inputs for each sample: shape (n_samples, n_outputs, n_inputs).

        ``backward(dvalues)`` equals ``dvalues[s] @ jacobian(inputs)[s]`` for every
        sample ``s``: backpropagation is this product, done without the matrix.
        """
        raise NotImplementedError(f"{type(self).__name__} does not state its Jacobian")

    def local_rule(self) -> str:
        """This layer's local derivative ∂output/∂inputs in words (``chainrule.explain``)."""
        return f"{type(self).__name__}: ∂output/∂inputs as jacobian() states it"


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


def diagonal_jacobian(derivatives: np.ndarray) -> np.ndarray:
    """Element-wise derivatives (n_samples, k) → Jacobians (n_samples, k, k) with them
    on the diagonal: output i of an element-wise layer depends on input i alone."""
    n, k = derivatives.shape
    jacobians = np.zeros((n, k, k), dtype=derivatives.dtype)
    jacobians[:, np.arange(k), np.arange(k)] = derivatives
    return jacobians

"""Export a trained Model to ONNX, for runtimes that are not Python (onnxruntime, ...).

Each layer becomes one node (or a few), named after the layer and its position
(``Dense_0``, ``ReLU_1``, ...), and each parameter an initializer
(``Dense_0.weights``). The graph reads ``input`` of shape ``(batch, n_features)``
and writes ``output`` of shape ``(batch, n_outputs)``; ``batch`` is a named
symbolic dimension, so any number of rows can be fed at once.

Why opset 13 and IR version 7: opset 13 is the first whose ``Softmax(axis=1)``
means "along axis 1" (earlier opsets flattened the input to 2-D first; for our
2-D outputs the two agree, but 13 states the intent), and IR version 7 is what
ONNX 1.8 (2020), the release that introduced opset 13, writes. Every runtime
from onnxruntime 1.6 (December 2020) onwards loads the file, and so do current
ones: a newer IR or opset would shut the older runtimes out for no gain, as
every operator used here has kept its meaning since.

Needs the optional extra ``chainrule[onnx]`` (onnx; onnxruntime to run the file).
"""

from __future__ import annotations

import numpy as np

from . import files
from .files import atomic_write

OPSET = 13
IR_VERSION = 7
INPUT, OUTPUT, BATCH = "input", "output", "batch"

# Layers that are one ONNX operator with the same name for the same function.
_ELEMENTWISE = {"ReLU": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh",
                "Linear": "Identity", "Dropout": "Identity", "Input": "Identity"}
# The registered classes a model file holds (files.LAYERS), matched along each layer's
# class hierarchy: the book's subclasses (Layer_Dense, ...) export as their base, and a
# subclass with math of its own is refused, as Model.save refuses it.
SUPPORTED = ("Dense", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Linear", "Dropout",
             "Input", "Normalization")


def _onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise ImportError("chainrule.onnx needs the onnx package: "
                          "pip install 'chainrule[onnx]'") from exc
    return onnx


def to_onnx(model):
    """Build the ONNX graph of ``model``; return it as an ``onnx.ModelProto``.

    Parameters
    ----------
    model : chainrule.Model
        A model with layers; its parameters' dtype (float32 or float64) is the
        graph's element type.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model(..., full_check=True)``.
    """
    from ._version import __version__
    from .training import Model

    onnx = _onnx()
    helper = onnx.helper
    if not isinstance(model, Model):
        raise TypeError(f"model must be a chainrule.Model; got {type(model).__name__}")
    if not model.layers:
        raise ValueError("model has no layers: there is nothing to export")
    for index, layer in enumerate(model.layers):
        if _kind(layer) is None:
            raise TypeError(f"model.layers[{index}] ({layer!r}) cannot be exported to ONNX; "
                            f"supported layers: {', '.join(SUPPORTED)}")
        files.check_same_math(layer, files.LAYERS[_kind(layer)], f"model.layers[{index}]",
                               "export")
    dtype = np.dtype(model.dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"model parameters must be float32 or float64; got {dtype}")
    element = onnx.helper.np_dtype_to_tensor_dtype(dtype)

    graph = _Graph(onnx, dtype)
    current = INPUT
    for index, layer in enumerate(model.layers):
        name = f"{_kind(layer)}_{index}"
        last = index == len(model.layers) - 1
        current = _add_layer(graph, layer, name, current, OUTPUT if last else f"{name}.output")
    n_features, n_outputs = _widths(model)
    onnx_graph = helper.make_graph(
        graph.nodes, "chainrule",
        [helper.make_tensor_value_info(INPUT, element, [BATCH, n_features])],
        [helper.make_tensor_value_info(OUTPUT, element, [BATCH, n_outputs])],
        initializer=graph.initializers)
    proto = helper.make_model(onnx_graph, producer_name="chainrule",
                              producer_version=__version__, doc_string=repr(model),
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export(model, path) -> None:
    """Write ``model`` to ``path`` as an ONNX file, atomically.

    Parameters
    ----------
    model : chainrule.Model
    path : str or os.PathLike
        Where to write, e.g. ``"model.onnx"``.

    Examples
    --------
    >>> export(model, "model.onnx")
    >>> import onnxruntime as ort
    >>> session = ort.InferenceSession("model.onnx")
    >>> probabilities = session.run(None, {"input": X.astype(np.float32)})[0]
    """
    data = to_onnx(model).SerializeToString()
    atomic_write(path, lambda file: file.write(data))


def _kind(layer) -> str | None:
    """The supported layer type ``layer`` is, or None."""
    base = files.registered_base(layer, files.LAYERS)
    return None if base is None or base.__name__ not in SUPPORTED else base.__name__


class _Graph:
    """The nodes and initializers collected so far, with the graph's dtype."""

    def __init__(self, onnx, dtype: np.dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes, self.initializers = [], []

    def node(self, op: str, inputs, output: str, name: str, **attributes) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [output], name=name,
                                                     **attributes))
        return output

    def constant(self, name: str, value) -> str:
        array = np.asarray(value, dtype=self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name


def _add_layer(graph: _Graph, layer, name: str, x: str, out: str) -> str:
    """Append the node(s) computing ``layer`` from tensor ``x`` into tensor ``out``."""
    kind = _kind(layer)
    if kind == "Dense":
        # Gemm computes A·B + C, the Dense layer's x·W + b; the (1, n) bias row broadcasts.
        weights = graph.constant(f"{name}.weights", layer.weights)
        biases = graph.constant(f"{name}.biases", layer.biases)
        return graph.node("Gemm", [x, weights, biases], out, name)
    if kind in _ELEMENTWISE:
        return graph.node(_ELEMENTWISE[kind], [x], out, name)
    if kind == "Softmax":
        return graph.node("Softmax", [x], out, name, axis=1)
    if kind == "LeakyReLU":
        return _leaky_relu(graph, layer.alpha, name, x, out)
    return _normalization(graph, layer, name, x, out)


def _leaky_relu(graph: _Graph, alpha: float, name: str, x: str, out: str) -> str:
    if graph.dtype == np.float32:
        return graph.node("LeakyRelu", [x], out, name, alpha=float(alpha))
    # onnxruntime implements LeakyRelu for float32 only. For 0 ≤ α ≤ 1,
    # where(x > 0, x, αx) = max(x, αx); for α > 1 it is min(x, αx).
    scaled = graph.node("Mul", [x, graph.constant(f"{name}.alpha", alpha)], f"{name}.scaled",
                        f"{name}.scale")
    return graph.node("Max" if alpha <= 1 else "Min", [x, scaled], out, name)


def _normalization(graph: _Graph, layer, name: str, x: str, out: str) -> str:
    """(x − mean) / std as ``Sub`` + ``Div``, or x · std + mean (``invert=True``) as
    ``Mul`` + ``Add``: the layer's own operations, in its order, on its statistics."""
    if getattr(layer, "mean", None) is None or getattr(layer, "std", None) is None:
        raise ValueError(f"{name} ({layer!r}) has no mean and std to export: call adapt(X) "
                         "on it first")
    mean = graph.constant(f"{name}.mean", np.reshape(layer.mean, (1, -1)))
    std = graph.constant(f"{name}.std", np.reshape(layer.std, (1, -1)))
    if getattr(layer, "invert", False):
        scaled = graph.node("Mul", [x, std], f"{name}.scaled", f"{name}.scale")
        return graph.node("Add", [scaled, mean], out, name)
    centred = graph.node("Sub", [x, mean], f"{name}.centred", f"{name}.centre")
    return graph.node("Div", [centred, std], out, name)


def _widths(model) -> tuple:
    """Input and output widths, or symbolic names where no layer fixes them."""
    n_features, n_outputs = "n_features", "n_outputs"
    for layer in model.layers:
        width = _input_width(layer)
        if width is not None:
            n_features = width
            break
    for layer in reversed(model.layers):
        if _kind(layer) == "Dense":
            n_outputs = int(layer.n_neurons)
            break
        width = _input_width(layer)
        if width is not None:
            n_outputs = width
            break
    return n_features, n_outputs


def _input_width(layer) -> int | None:
    kind = _kind(layer)
    if kind == "Dense":
        return int(layer.n_inputs)
    if kind == "Normalization" and getattr(layer, "mean", None) is not None:
        return int(np.size(layer.mean))
    return None

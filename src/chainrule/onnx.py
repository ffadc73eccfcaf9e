"""Export a trained Model to ONNX, for runtimes that are not Python (onnxruntime, ...).

Each layer becomes one node (or a few), named after the layer and its position
(``Dense_0``, ``ReLU_1``, ...), and each parameter an initializer
(``Dense_0.weights``). The graph reads ``input`` of shape ``(batch, n_features)``
and writes ``output`` of shape ``(batch, n_outputs)``; ``batch`` is a named
symbolic dimension, so any number of rows can be fed at once.

The graph computes in the dtypes ``Model.predict`` computes in, so what is exported
is what ran. ``input`` has the model's dtype (float32 unless built otherwise),
except before an adapted ``Normalization`` first layer: predict hands that layer
the raw values as given, and it standardises them in float64 and rounds once into
the model's dtype, so there ``input`` is float64 (``DOUBLE``) and the graph does the
same (``Sub``, ``Div`` on float64 statistics, then ``Cast``). A float32 input would
round a column of ``1e8 + N(0, 3)`` to steps of 8 before its mean is gone. Every
``Normalization`` computes in float64 and rounds once, as its ``forward`` does; an
inverted one outputs float64 (targets in their own units keep their digits), and a
layer after it computes in float64, as NumPy promotes.

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

__all__ = ["export", "to_onnx"]

OPSET = 13
IR_VERSION = 7
INPUT, OUTPUT, BATCH = "input", "output", "batch"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

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
        graph's element type, except where ``Model.predict`` computes in float64
        (see the module's docstring): a first ``Normalization`` takes float64, an
        inverted one hands float64 on.

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
    if dtype not in _FLOATS:
        raise TypeError(f"model parameters must be float32 or float64; got {dtype}")

    graph = _Graph(onnx)
    input_dtype = _input_dtype(model)
    current, current_dtype = INPUT, input_dtype
    for index, layer in enumerate(model.layers):
        name = f"{_kind(layer)}_{index}"
        last = index == len(model.layers) - 1
        current, current_dtype = _add_layer(
            graph, layer, name, current, current_dtype, OUTPUT if last else f"{name}.output",
            model_dtype=dtype if index == 0 else None)
    n_features, n_outputs = _widths(model)
    onnx_graph = helper.make_graph(
        graph.nodes, "chainrule",
        [helper.make_tensor_value_info(INPUT, _element(onnx, input_dtype), [BATCH, n_features])],
        [helper.make_tensor_value_info(OUTPUT, _element(onnx, current_dtype),
                                       [BATCH, n_outputs])],
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
        A model with layers; a layer type the export does not support is refused
        with the list of those it does.
    path : str or os.PathLike
        Where to write, e.g. ``"model.onnx"``.

    Examples
    --------
    >>> export(model, "model.onnx")
    >>> import onnxruntime as ort
    >>> session = ort.InferenceSession("model.onnx")
    >>> probabilities = session.run(None, {"input": X.astype(np.float32)})[0]

    A model whose first layer is a ``Normalization`` takes raw float64 values
    (``session.get_inputs()[0].type`` is ``"tensor(double)"``); one whose last layer
    is an inverted ``Normalization`` returns float64, as ``Model.predict`` does.
    """
    data = to_onnx(model).SerializeToString()
    atomic_write(path, lambda file: file.write(data))


def _kind(layer) -> str | None:
    """The supported layer type ``layer`` is, or None."""
    base = files.registered_base(layer, files.LAYERS)
    return None if base is None or base.__name__ not in SUPPORTED else base.__name__


class _Graph:
    """The nodes and initializers collected so far."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes, self.initializers = [], []

    def node(self, op: str, inputs, output: str, name: str, **attributes) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [output], name=name,
                                                     **attributes))
        return output

    def constant(self, name: str, value, dtype: np.dtype) -> str:
        array = np.asarray(value, dtype=dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def cast(self, x: str, dtype: np.dtype, output: str, name: str) -> str:
        """``x`` rounded (or widened) to ``dtype``: round to nearest, as NumPy's astype."""
        return self.node("Cast", [x], output, name, to=_element(self.onnx, dtype))


def _add_layer(graph: _Graph, layer, name: str, x: str, dtype: np.dtype, out: str,
               model_dtype: np.dtype | None = None) -> tuple[str, np.dtype]:
    """Append the node(s) computing ``layer`` from tensor ``x`` of ``dtype`` into tensor
    ``out``; return ``out`` and its dtype. ``model_dtype``: given for the model's first
    layer, which a ``Normalization`` hands on."""
    kind = _kind(layer)
    if kind == "Dense":
        # z = x·W + b in NumPy's promoted dtype (a float64 x meets float32 weights: float64).
        # Gemm computes A·B + C, the Dense layer's x·W + b; the (1, n) bias row broadcasts.
        computed = np.result_type(dtype, layer.weights.dtype)
        _check_float(computed, f"{name} ({layer!r})")
        if computed != dtype:
            x = graph.cast(x, computed, f"{name}.widened", f"{name}.widen")
        weights = graph.constant(f"{name}.weights", layer.weights, computed)
        biases = graph.constant(f"{name}.biases", layer.biases, computed)
        return graph.node("Gemm", [x, weights, biases], out, name), computed
    if kind in _ELEMENTWISE:
        return graph.node(_ELEMENTWISE[kind], [x], out, name), dtype
    if kind == "Softmax":
        return graph.node("Softmax", [x], out, name, axis=1), dtype
    if kind == "LeakyReLU":
        return _leaky_relu(graph, layer.alpha, name, x, dtype, out), dtype
    return _normalization(graph, layer, name, x, dtype, out, model_dtype)


def _leaky_relu(graph: _Graph, alpha: float, name: str, x: str, dtype: np.dtype,
                out: str) -> str:
    if dtype == np.float32:
        return graph.node("LeakyRelu", [x], out, name, alpha=float(alpha))
    # onnxruntime implements LeakyRelu for float32 only. For 0 ≤ α ≤ 1,
    # where(x > 0, x, αx) = max(x, αx); for α > 1 it is min(x, αx).
    scaled = graph.node("Mul", [x, graph.constant(f"{name}.alpha", alpha, dtype)],
                        f"{name}.scaled", f"{name}.scale")
    return graph.node("Max" if alpha <= 1 else "Min", [x, scaled], out, name)


def _normalization(graph: _Graph, layer, name: str, x: str, dtype: np.dtype, out: str,
                   model_dtype: np.dtype | None) -> tuple[str, np.dtype]:
    """(x − mean) / std as ``Sub`` + ``Div``, or x · std + mean (``invert=True``) as
    ``Mul`` + ``Add``: the layer's own operations, in its order, on its statistics, in
    float64 as its ``forward`` computes them, rounded once (``Cast``) to the dtype it
    hands on."""
    _check_statistics(layer, name)
    output_dtype = _normalization_output(layer, dtype, model_dtype)
    _check_float(output_dtype, f"{name} ({layer!r}) output")
    float64 = np.dtype(np.float64)
    if dtype != float64:  # exact: every float32 is a float64
        x = graph.cast(x, float64, f"{name}.widened", f"{name}.widen")
    mean = graph.constant(f"{name}.mean", np.reshape(layer.mean, (1, -1)), float64)
    std = graph.constant(f"{name}.std", np.reshape(layer.std, (1, -1)), float64)
    # (operator, its second input, the node's role, its output's role)
    if layer.invert:
        steps = [("Mul", std, "scale", "scaled"), ("Add", mean, "shift", "shifted")]  # x·σ + μ
    else:
        steps = [("Sub", mean, "centre", "centred"),
                 ("Div", std, "divide", "standardised")]  # (x − μ)/σ
    if output_dtype != float64:
        steps.append(("Cast", None, "round", "rounded"))
    for position, (op, operand, role, result) in enumerate(steps):
        # The last node writes ``out`` and carries the layer's name.
        last = position == len(steps) - 1
        target, node_name = (out, name) if last else (f"{name}.{result}", f"{name}.{role}")
        if op == "Cast":
            x = graph.cast(x, output_dtype, target, node_name)
        else:
            x = graph.node(op, [x, operand], target, node_name)
    return x, output_dtype


def _normalization_output(layer, dtype: np.dtype, model_dtype: np.dtype | None) -> np.dtype:
    """The dtype ``layer.forward`` hands on from inputs of ``dtype`` within a Model: the
    model's for its first layer (``take_model_inputs`` sets it), else the layer's
    ``output_dtype`` if set, else float64 inverted and the inputs' dtype otherwise."""
    if model_dtype is not None:
        return np.dtype(model_dtype)
    if getattr(layer, "output_dtype", None) is not None:
        return np.dtype(layer.output_dtype)
    return np.dtype(np.float64) if layer.invert else np.dtype(dtype)


def _check_statistics(layer, name: str) -> None:
    """Refuse statistics the layer itself would refuse (adapt and set_statistics never make
    them; written into the arrays, they would make a file that cannot be loaded)."""
    if getattr(layer, "mean", None) is None or getattr(layer, "std", None) is None:
        raise ValueError(f"{name} ({layer!r}) has no mean and std to export: call adapt(X) "
                         "on it first")
    mean, std = np.reshape(layer.mean, -1), np.reshape(layer.std, -1)
    for statistic, values, good in (("mean", mean, np.isfinite(mean)),
                                    ("std", std, np.isfinite(std) & (std > 0))):
        if not good.all():
            column = int(np.argmin(good))
            raise ValueError(f"{name} ({layer!r}) {statistic} must be finite"
                             f"{' and > 0' if statistic == 'std' else ''} in every column; "
                             f"column {column} holds {values[column]}")


def _input_dtype(model) -> np.dtype:
    """The dtype ``Model.predict`` computes the first layer on: the model's, or the raw
    float64 values an adapted ``Normalization`` standardises itself."""
    first = model.layers[0]
    if _kind(first) == "Normalization" and getattr(first, "mean", None) is not None:
        return np.dtype(np.float64)
    return np.dtype(model.dtype)


def _check_float(dtype: np.dtype, where: str) -> None:
    if np.dtype(dtype) not in _FLOATS:
        raise TypeError(f"{where} computes in {np.dtype(dtype)}; the graph can hold float32 "
                        "or float64 only")


def _element(onnx, dtype: np.dtype) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


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

"""``Model.summary()``: the layers, their output shapes and parameter counts, as Keras prints them.

Each row names the layer as the book does (``Layer_Dense``, ``Activation_ReLU``)
where the book has a name for it, with chainrule's class in brackets, and adds
the regularisation the layer carries; the total follows.
"""

from __future__ import annotations

from ..nn import (
    Dropout,
    SigmoidBinaryCrossentropy,
    SoftmaxCategoricalCrossentropy,
    fused_loss_for,
)

#: chainrule's class names → the names ``chainrule.nnfs`` (the book) gives them
BOOK_NAMES = {
    "Dense": "Layer_Dense",
    "Dropout": "Layer_Dropout",
    "Input": "Layer_Input",
    "ReLU": "Activation_ReLU",
    "Softmax": "Activation_Softmax",
    "Sigmoid": "Activation_Sigmoid",
    "Linear": "Activation_Linear",
    "Tanh": "Activation_Tanh",
    "CategoricalCrossentropy": "Loss_CategoricalCrossentropy",
    "SoftmaxCategoricalCrossentropy": "Activation_Softmax_Loss_CategoricalCrossentropy",
    "BinaryCrossentropy": "Loss_BinaryCrossentropy",
    "MeanSquaredError": "Loss_MeanSquaredError",
    "MeanAbsoluteError": "Loss_MeanAbsoluteError",
    "SGD": "Optimizer_SGD",
    "Adagrad": "Optimizer_Adagrad",
    "RMSprop": "Optimizer_RMSprop",
    "Adam": "Optimizer_Adam",
}
_PENALTIES = (("weight_regularizer_l1", "L1 weights"), ("weight_regularizer_l2", "L2 weights"),
              ("bias_regularizer_l1", "L1 biases"), ("bias_regularizer_l2", "L2 biases"))


def book_name(obj) -> str:
    """``"Layer_Dense (Dense)"``, ``"Activation_ReLU (ReLU)"``, or the class name alone."""
    for cls in type(obj).__mro__:
        if cls.__name__ in BOOK_NAMES:
            return f"{BOOK_NAMES[cls.__name__]} ({cls.__name__})"
    return type(obj).__name__


def parameter_count(layer) -> int:
    """The number of trainable numbers the layer holds."""
    return sum(int(getattr(layer, name).size) for name in layer.params)


def regularization(layer) -> str:
    """``"L2 weights 0.0005, L2 biases 0.0005"`` or ``"dropout 0.1"``: what is switched on."""
    penalties = [f"{label} {getattr(layer, name):g}" for name, label in _PENALTIES
                 if getattr(layer, name, 0)]
    if isinstance(layer, Dropout):
        penalties.append(f"dropout {layer.config()['rate']:g}")
    if hasattr(layer, "summary_note"):  # e.g. Normalization: its fixed mean and std
        penalties.append(layer.summary_note())
    return ", ".join(penalties)


def output_widths(layers) -> list[int | None]:
    """The width of each layer's output: a Dense layer's neurons, otherwise its input's."""
    widths, width = [], getattr(layers[0], "n_inputs", None) if layers else None
    for layer in layers:
        width = getattr(layer, "n_neurons", width)
        widths.append(width)
    return widths


def summary(model, print_fn=print) -> str:
    """Print (with ``print_fn``, unless None) and return the model's summary table.

    Rows: each layer's index and name, its output shape ``(None, width)`` (None
    is the number of samples, as in Keras), its parameter count and its
    regularisation; then the total, the loss and the optimizer.
    """
    rows = [("Layer (type)", "Output Shape", "Param #", "Regularization")]
    for index, (layer, width) in enumerate(zip(model.layers, output_widths(model.layers),
                                               strict=True)):
        shape = f"(None, {width if width is not None else '?'})"
        rows.append((f"layers[{index}] {book_name(layer)}", shape,
                     f"{parameter_count(layer):,}", regularization(layer)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    line_width = sum(widths) + 3 * 3 + 2

    def format_row(row) -> str:
        name, shape, count, penalty = row
        return (f" {name:<{widths[0]}}   {shape:<{widths[1]}}   {count:>{widths[2]}}   "
                f"{penalty}").rstrip()

    total = sum(parameter_count(layer) for layer in model.layers)
    dtype = model.dtype if model.layers else None
    size = total * dtype.itemsize if dtype is not None else 0
    lines = [f"Model: {len(model.layers)} layers" + (f", {dtype}" if dtype else ""),
             "_" * line_width, format_row(rows[0]), "=" * line_width,
             *(format_row(row) for row in rows[1:]), "=" * line_width,
             f"Total params: {total:,} ({_bytes(size)})"]
    lines.extend(_loss_and_optimizer(model))
    lines.append("_" * line_width)
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text


def _loss_and_optimizer(model) -> list[str]:
    lines = []
    if model.loss is not None:
        loss = book_name(model.loss)
        last = model.layers[-1] if model.layers else None
        fused = fused_loss_for(last, model.loss) if last is not None else None
        if isinstance(fused, SoftmaxCategoricalCrossentropy):
            loss += ", fused with the softmax: ∂L/∂z = (p − y) / n"
        elif isinstance(fused, SigmoidBinaryCrossentropy):
            loss += ", fused with the sigmoid: ∂L/∂z = (σ − y) / (n·k)"
        lines.append(f"Loss: {loss}")
    if model.optimizer is not None:
        # The book's name with the hyper-parameters of the repr: Optimizer_Adam(learning_rate=…).
        arguments = repr(model.optimizer).partition("(")[2]
        name = book_name(model.optimizer).split(" ")[0]
        lines.append(f"Optimizer: {name}({arguments}" if arguments else f"Optimizer: {name}")
    return lines


def _bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.2f} KB"
    return f"{size / 1024**2:.2f} MB"

"""Pictures of training: decision boundaries, learning curves, regression fits.

matplotlib is optional (``pip install chainrule[plot]``) and imported only
here. Every function takes an optional matplotlib ``ax`` and returns the
figure; figures are built without pyplot, so this works headless.
"""

from __future__ import annotations

import numpy as np


def _require_matplotlib() -> None:
    """Every plot starts here, so a missing matplotlib is named with the extra to install."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib: pip install 'chainrule[plot]' (from a "
                          "clone of the repository: pip install -e '.[plot]'; or "
                          "pip install matplotlib)") from exc


def _figure(ax, ncols: int = 1, size=(6, 5)):
    if ax is not None:
        return ax.figure, [ax]
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1]), layout="constrained")
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def plot_decision_boundary(model, X, y, *, ax=None, resolution: int = 300, title=None,
                           class_names=None, feature_names=None):
    """Colour the plane by the class ``model`` predicts; draw the samples on top.

    Each class has one colour, the same for its region and its points, and the
    legend names the classes. A class the model never predicts still has its
    points in its colour; the regions use a lighter shade of the same colour.

    Parameters
    ----------
    model : Model
        A trained model with two input features.
    X : array (n_samples, 2)
        The samples drawn on top of the regions.
    y : array (n_samples,)
        Their class indices, which colour them.
    class_names : list, optional
        The label of each class index (``["setosa", "versicolor", …]``); the
        indices themselves if not given.
    feature_names : (str, str), optional
        The axes' names (a CSV file's column names); x₀ and x₁ if not given.
    """
    _require_matplotlib()
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D

    fig, (ax,) = _figure(ax)
    X, y = np.asarray(X), np.asarray(y).ravel().astype(np.intp)
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.c_[xx.ravel(), yy.ravel()]
    outputs = model.predict(grid)
    regions = model.output_layer_activation.predictions(outputs).reshape(xx.shape)
    n_classes = max(int(y.max()) + 1, int(regions.max()) + 1, len(class_names or ()))
    colours = class_colours(n_classes)
    # One colour per class index, on both the regions and the points: class k is
    # colours[k] whatever classes happen to be present or predicted.
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes)
    ax.pcolormesh(xx, yy, regions, cmap=cmap, norm=norm, alpha=0.3, shading="auto",
                  rasterized=True)
    ax.scatter(X[:, 0], X[:, 1], c=colours[y], s=14, edgecolors="k", linewidths=0.3)
    names = class_names if class_names is not None else list(range(n_classes))
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=colours[k],
                      markeredgecolor="k", markeredgewidth=0.3, label=str(names[k]))
               for k in range(n_classes)]
    ax.legend(handles=handles, title="class", loc="best", fontsize="small")
    x_name, y_name = feature_names if feature_names is not None else ("x₀", "x₁")
    ax.set(xlabel=x_name, ylabel=y_name, xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]),
           title=title or "decision boundary")
    return fig


def class_colours(n_classes: int) -> np.ndarray:
    """An RGBA colour per class (n_classes, 4): matplotlib's tab10, then tab20, then a
    sampled rainbow — distinct and the same for a class wherever it is drawn."""
    from matplotlib import colormaps

    if n_classes <= 10:
        return colormaps["tab10"](np.arange(n_classes))
    if n_classes <= 20:
        return colormaps["tab20"](np.arange(n_classes))
    return colormaps["turbo"](np.linspace(0, 1, n_classes))


def plot_history(history: dict, *, ax=None, title=None, kept_epoch: int | None = None,
                 accuracy: bool = True):
    """Learning curves: the loss and the accuracy per epoch, training beside validation.

    The training loss drawn is the data loss (``history["data_loss"]``), the same
    measure as the validation loss, so the two curves compare; it is the ``loss``
    that ``chainrule train`` prints. When the model has an L1/L2 penalty, the
    training loss with the penalty (``history["loss"]``, the first figure of the
    book's ``epoch:`` lines) is drawn as well, dashed, and its label says so.

    Parameters
    ----------
    history : dict
        What ``Model.train`` returns (or ``model.history``): lists per epoch under
        ``loss``, ``accuracy``, and ``data_loss``, ``reg_loss``, ``val_loss``,
        ``val_accuracy`` when present.
    ax : matplotlib Axes, optional
        Draw into it (the accuracy on a twin axis); by default a new figure with a
        panel for each.
    title : str, optional
        The loss panel's title; "learning curves" if not given.
    kept_epoch : int, optional
        The epoch whose weights the model holds (early stopping's restored best, or
        the last): a dotted vertical line, and a dot on the curves at that epoch.
    accuracy : bool
        Draw the accuracy too, when the history has it; False for the loss alone
        (regression, where the book's "accuracy" is a tolerance count that nothing
        else prints).
    """
    _require_matplotlib()
    if not isinstance(history, dict) or "loss" not in history:
        got = sorted(history) if isinstance(history, dict) else type(history).__name__
        raise ValueError("history must be what Model.train returns, a dict with a 'loss' list "
                         f"per epoch; got {got}")
    n_epochs = len(history["loss"])
    if n_epochs == 0:
        raise ValueError("the history holds no epoch: nothing to draw")
    if kept_epoch is not None and not 1 <= kept_epoch <= n_epochs:
        raise ValueError(f"kept_epoch must be an epoch of the history, 1 to {n_epochs}; "
                         f"got {kept_epoch}")
    # A history without accuracy (a loss with no metric) gets the loss panel alone.
    keys = ("loss", "accuracy") if accuracy and "accuracy" in history else ("loss",)
    if ax is not None:
        fig, axes = ax.figure, [ax, ax.twinx()][:len(keys)]
    else:
        fig, axes = _figure(None, ncols=len(keys), size=(5, 4))
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, n_epochs + 1)
    for axis, key in zip(axes, keys, strict=True):
        for values, label, colour, style in _curves(history, key):
            # One epoch: a line through one point draws nothing, so a point.
            axis.plot(epochs, values, label=label, color=colour,
                      **({"marker": "o"} if n_epochs == 1 else {}), **style)
            if kept_epoch is not None and not style:
                axis.plot([kept_epoch], [values[kept_epoch - 1]], "o", color=colour,
                          markersize=5)
        if kept_epoch is not None:
            axis.axvline(kept_epoch, color="grey", linestyle=":", linewidth=1,
                         label=f"kept: epoch {kept_epoch}"
                         + (" (the last)" if kept_epoch == n_epochs else ""))
        axis.set(xlabel="epoch", ylabel=key)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs
        axis.legend(loc="best")
    losses = np.concatenate([np.asarray(history[key], dtype=np.float64)
                             for key in ("loss", "data_loss", "val_loss") if key in history])
    # A diverged epoch's NaN is a gap in the curves; it does not decide the scale.
    losses = losses[np.isfinite(losses)]
    if losses.size and losses.min() > 0:
        axes[0].set_yscale("log")
    axes[0].set_title(title or "learning curves")
    return fig


def _curves(history: dict, key: str) -> list[tuple]:
    """(values, label, colour, line style) of each curve on the ``key`` panel."""
    if key == "loss" and "data_loss" in history:
        curves = [(history["data_loss"], "training loss", "C0", {})]
        penalty = np.asarray(history.get("reg_loss", [0.0]), dtype=np.float64)
        if np.any(penalty > 0):  # the penalised loss differs: drawn too, and named
            curves.append((history["loss"], "training loss + L1/L2 penalty", "C0",
                           {"linestyle": "--", "linewidth": 1, "alpha": 0.6}))
    else:
        curves = [(history[key], f"training {key}", "C0", {})]
    if f"val_{key}" in history:
        curves.append((history[f"val_{key}"], f"validation {key}", "C1", {}))
    return curves


def plot_regression(model, X, y, *, ax=None, title=None):
    """Targets and the model's predictions against a single input feature."""
    _require_matplotlib()
    fig, (ax,) = _figure(ax)
    X = np.asarray(X)
    order = np.argsort(X[:, 0])
    ax.plot(X[order, 0], np.asarray(y).reshape(len(X), -1)[order, 0], label="target")
    ax.plot(X[order, 0], model.predict(X)[order, 0], label="prediction")
    ax.set(xlabel="x", ylabel="y", title=title or "regression fit")
    ax.legend(loc="best")
    return fig


def plot_gradient_norms(monitor, *, ax=None, title=None, quantity: str = "grad_norm"):
    """Per-layer gradient norms (or update ratios) over the epochs, on a log scale.

    Parameters
    ----------
    monitor : chainrule.callbacks.GradientMonitor, or a dict {title: monitor}
        A dict draws one panel per monitor, side by side with a shared y axis, so
        that two networks compare at a glance (a deep sigmoid one's gradients
        vanish towards the input, a ReLU one's do not).
    ax : matplotlib Axes, optional
        Where to draw a single monitor.
    quantity : {"grad_norm", "update_ratio"}
        ‖∂L/∂θ‖ per layer, or ‖Δθ‖/‖θ‖ per step (with the usual 1e-3 marked).
    """
    _require_matplotlib()
    if quantity not in ("grad_norm", "update_ratio"):
        raise ValueError(f"quantity must be 'grad_norm' or 'update_ratio'; got {quantity!r}")
    panels = monitor if isinstance(monitor, dict) else {title: monitor}
    if ax is not None and len(panels) > 1:
        raise ValueError("ax draws one monitor; give a single monitor, or no ax for a dict")
    fig, axes = _figure(ax, ncols=len(panels), size=(5, 4))
    for axis, (name, each) in zip(axes, panels.items(), strict=True):
        _draw_gradient_norms(axis, each, quantity)
        axis.set_title(name or ("gradient norm per layer" if quantity == "grad_norm"
                                else "update / parameter ratio per layer"))
    if len(axes) > 1:
        low = min(axis.get_ylim()[0] for axis in axes)
        high = max(axis.get_ylim()[1] for axis in axes)
        for axis in axes:
            axis.set_ylim(low, high)
    return fig


def _draw_gradient_norms(ax, monitor, quantity: str) -> None:
    from matplotlib import colormaps

    series = monitor.grad_norms if quantity == "grad_norm" else monitor.update_ratios
    colours = colormaps["viridis"]
    n = max(len(monitor.labels) - 1, 1)
    for depth, label in enumerate(monitor.labels):
        # From the input (dark) to the output (light): the order the gradient travels back.
        ax.plot(monitor.epochs, series[label], color=colours(0.9 * depth / n), label=label)
    if quantity == "update_ratio":
        ax.axhline(1e-3, color="grey", linestyle="--", linewidth=1)
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="‖∂L/∂θ‖" if quantity == "grad_norm" else "‖Δθ‖ / ‖θ‖")
    ax.legend(loc="best", fontsize="small")


#: the colour of a negative weight in ``plot_network`` (TensorFlow Playground's orange)
NEGATIVE = "#f59322"
#: the colour of a positive weight in ``plot_network`` (TensorFlow Playground's blue)
POSITIVE = "#0877bd"


def plot_network(model, *, ax=None, gradients: bool = False, title=None):
    """Draw the network as TensorFlow Playground does: neurons as nodes, weights as lines.

    A line's width grows with ``|w|`` (the largest weight of its layer is drawn thickest);
    its colour is the weight's sign (blue positive, orange negative) or, with
    ``gradients=True``, its gradient ∂L/∂w after the last backward pass (a
    diverging colour map, the strongest gradient of the layer darkest). Readable up
    to a few dozen neurons a layer.

    Parameters
    ----------
    model : Model
        Or anything with ``layers``: its Dense layers are drawn.
    gradients : bool
        Colour by ``dweights`` instead of the sign of the weights.
    """
    _require_matplotlib()
    from matplotlib.collections import LineCollection

    dense = [layer for layer in model.layers if hasattr(layer, "n_neurons")]
    if not dense:
        raise ValueError("plot_network draws Dense layers; the model has none")
    if gradients and any(getattr(layer, "dweights", None) is None for layer in dense):
        raise ValueError("plot_network(gradients=True) needs a backward pass first "
                         "(train the model, or run its forward and backward pass)")
    fig, (ax,) = _figure(ax, size=(2.2 * (len(dense) + 1), 5))
    columns = [np.arange(dense[0].n_inputs)] + [np.arange(layer.n_neurons) for layer in dense]
    heights = [_neuron_heights(len(column)) for column in columns]
    for k, layer in enumerate(dense):
        segments, colours, widths = _weight_lines(layer, k, heights, gradients)
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths,
                                         zorder=1))
    for k, column in enumerate(heights):
        size = max(20.0, 220.0 / max(1.0, len(column) / 6))
        ax.scatter(np.full(len(column), k), column, s=size, color="white", edgecolors="#333",
                   linewidths=0.8, zorder=2)
        ax.text(k, 1.06, _column_label(model, dense, k), ha="center", va="bottom",
                fontsize="small")
    ax.set(xlim=(-0.4, len(dense) + 0.4), ylim=(-0.06, 1.16), xticks=[], yticks=[],
           title=title or ("∂L/∂w: purple > 0, orange < 0, darker = larger; "
                           "width ∝ |w|" if gradients
                           else "weights: blue > 0, orange < 0, width ∝ |w|"))
    for side in ax.spines.values():
        side.set_visible(False)
    return fig


def _neuron_heights(n: int) -> np.ndarray:
    """n neurons spread evenly over [0, 1], top to bottom, a single one in the middle."""
    return np.linspace(1, 0, n) if n > 1 else np.array([0.5])


def _weight_lines(layer, k: int, heights, gradients: bool):
    from matplotlib import colormaps, colors

    weights = np.asarray(layer.weights, dtype=np.float64)
    rows, cols = np.meshgrid(np.arange(weights.shape[0]), np.arange(weights.shape[1]),
                             indexing="ij")
    rows, cols = rows.ravel(), cols.ravel()
    magnitude = np.abs(weights).ravel() / max(float(np.abs(weights).max()), 1e-12)
    # Faint lines first, so that the strong weights are drawn on top of them.
    order = np.argsort(magnitude, kind="stable")
    rows, cols, magnitude = rows[order], cols[order], magnitude[order]
    starts = np.column_stack([np.full(len(rows), k), heights[k][rows]])
    ends = np.column_stack([np.full(len(rows), k + 1), heights[k + 1][cols]])
    segments = np.stack([starts, ends], axis=1)
    # Many lines share a column: thinner and fainter lines as the layer grows.
    crowding = max(1.0, np.sqrt(weights.size / 64))
    widths = 0.3 + 4.0 * magnitude / crowding
    if gradients:
        grads = np.asarray(layer.dweights, dtype=np.float64).ravel()[order]
        scale = max(float(np.abs(grads).max()), 1e-300)
        colours = colormaps["PuOr"](colors.Normalize(-scale, scale)(grads))
    else:
        signs = weights.ravel()[order] >= 0
        colours = np.array([colors.to_rgba(POSITIVE if s else NEGATIVE) for s in signs])
    colours[:, 3] = 0.25 + 0.75 * magnitude
    return segments, colours, widths


def _column_label(model, dense, k: int) -> str:
    if k == 0:
        return f"input\n{dense[0].n_inputs}"
    layer = dense[k - 1]
    position = next(i for i, candidate in enumerate(model.layers) if candidate is layer)
    # The layers after this Dense one up to the next (its activation, dropout, …).
    following = model.layers[position + 1:]
    stop = next((i for i, other in enumerate(following) if hasattr(other, "n_neurons")),
                len(following))
    after = [type(other).__name__ for other in following[:stop]]
    return f"Dense {layer.n_neurons}\n{' · '.join(after)}".rstrip()

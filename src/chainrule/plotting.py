"""Pictures of training: decision boundaries, learning curves, regression fits.

matplotlib is optional (``pip install chainrule[plot]``) and imported only
here. Every function takes an optional matplotlib ``ax`` and returns the
figure; figures are built without pyplot, so this works headless.
"""

from __future__ import annotations

import numpy as np


def _figure(ax, ncols: int = 1, size=(6, 5)):
    if ax is not None:
        return ax.figure, [ax]
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib: pip install 'chainrule[plot]'") from exc
    fig = Figure(figsize=(size[0] * ncols, size[1]), layout="constrained")
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def plot_decision_boundary(model, X, y, *, ax=None, resolution: int = 300, title=None):
    """Colour the plane by the class ``model`` predicts; draw the samples on top.

    Parameters
    ----------
    model : Model with two input features
    X : array (n_samples, 2)
    y : array (n_samples,) of class indices
    """
    fig, (ax,) = _figure(ax)
    X = np.asarray(X)
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.c_[xx.ravel(), yy.ravel()]
    outputs = model.predict(grid)
    classes = model.output_layer_activation.predictions(outputs).reshape(xx.shape)
    n_classes = max(int(np.max(y)) + 1, int(classes.max()) + 1)
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(xx, yy, classes, levels=levels, cmap="brg", alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="brg", s=12, edgecolors="k", linewidths=0.3,
               vmin=0, vmax=n_classes - 1)
    ax.set(xlabel="x₀", ylabel="x₁", title=title or "decision boundary")
    return fig


def plot_history(history: dict, *, ax=None, title=None):
    """Loss and accuracy per epoch (and their validation curves when present)."""
    if ax is not None:
        fig, axes = ax.figure, [ax, ax.twinx()]
    else:
        fig, axes = _figure(None, ncols=2, size=(5, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for axis, key in zip(axes, ("loss", "accuracy"), strict=True):
        axis.plot(epochs, history[key], label=f"training {key}")
        if f"val_{key}" in history:
            axis.plot(epochs, history[f"val_{key}"], label=f"validation {key}")
        axis.set(xlabel="epoch", ylabel=key)
        axis.legend(loc="best")
    if min(history["loss"]) > 0:
        axes[0].set_yscale("log")
    axes[0].set_title(title or "learning curves")
    return fig


def plot_regression(model, X, y, *, ax=None, title=None):
    """Targets and the model's predictions against a single input feature."""
    fig, (ax,) = _figure(ax)
    X = np.asarray(X)
    order = np.argsort(X[:, 0])
    ax.plot(X[order, 0], np.asarray(y).reshape(len(X), -1)[order, 0], label="target")
    ax.plot(X[order, 0], model.predict(X)[order, 0], label="prediction")
    ax.set(xlabel="x", ylabel="y", title=title or "regression fit")
    ax.legend(loc="best")
    return fig

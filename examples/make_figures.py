"""The figures of the README's "Seeing the chain rule" section, made by the code they show.

    python examples/make_figures.py            # writes docs/gradient_norms.png, docs/network.png

It also prints the ``explain`` output the README quotes. Every number comes from
fixed seeds, so running it again redraws the same pictures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.callbacks import GradientMonitor
from chainrule.datasets import spiral_data

DOCS = Path(__file__).resolve().parent.parent / "docs"


def deep_network(activation, depth: int = 6, width: int = 16, seed: int = 0) -> cr.Model:
    """``depth`` hidden layers of ``width`` units with one activation, then a softmax."""
    init = "he" if activation is cr.ReLU else "glorot"
    rng = np.random.default_rng(seed)
    layers, n_inputs = [], 2
    for _ in range(depth):
        layers += [cr.Dense(n_inputs, width, init=init, rng=rng), activation()]
        n_inputs = width
    layers += [cr.Dense(n_inputs, 3, init="glorot", rng=rng), cr.Softmax()]
    model = cr.Model(layers)
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(learning_rate=0.005))
    return model


def watch(model: cr.Model, X, y, epochs: int) -> GradientMonitor:
    monitor = GradientMonitor()
    model.train(X, y, epochs=epochs, batch_size=32, print_every=None, progress=False, rng=0,
                callbacks=[monitor])
    return monitor


def gradient_figure(X, y, epochs: int = 40):
    """Deep sigmoid against deep ReLU: the gradient norm of every layer, every epoch."""
    monitors = {"deep Sigmoid network (6 hidden layers)": watch(deep_network(cr.Sigmoid), X, y,
                                                                epochs),
                "deep ReLU network (6 hidden layers)": watch(deep_network(cr.ReLU), X, y,
                                                             epochs)}
    return cr.plotting.plot_gradient_norms(monitors)


def small_network(X, y) -> cr.Model:
    """2-8-8-3 with tanh, trained a little on the spirals: a network one can read.

    float64, so that the printed explanation and its numerical check agree to the
    last digit shown.
    """
    rng = np.random.default_rng(1)
    model = cr.Model([cr.Dense(2, 8, init="glorot", dtype=np.float64, rng=rng), cr.Tanh(),
                      cr.Dense(8, 8, init="glorot", dtype=np.float64, rng=rng), cr.Tanh(),
                      cr.Dense(8, 3, init="glorot", dtype=np.float64, rng=rng), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(learning_rate=0.01))
    model.train(X, y, epochs=100, print_every=None, progress=False)
    return model


def network_figure(model: cr.Model, X, y):
    """The weights by sign and size, and beside them the gradients of one more pass."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 5), layout="constrained")
    weights_ax, gradients_ax = figure.subplots(1, 2)
    cr.plotting.plot_network(model, ax=weights_ax)
    # One forward and backward pass on the whole set leaves ∂L/∂w on every layer.
    cr.explain(model, X, y, layer=0, index=(0, 0))
    cr.plotting.plot_network(model, ax=gradients_ax, gradients=True)
    return figure


def main(output: Path = DOCS, verbose: bool = True) -> dict:
    output.mkdir(parents=True, exist_ok=True)
    X, y = spiral_data(100, 3, rng=0)
    paths = {"gradient_norms": output / "gradient_norms.png", "network": output / "network.png"}
    gradient_figure(X, y).savefig(paths["gradient_norms"], dpi=100)
    model = small_network(X, y)
    network_figure(model, X, y).savefig(paths["network"], dpi=100)
    # Four points, one or two of each spiral arm: the chain for one weight of the middle layer.
    explanation = cr.explain(model, X[::80], y[::80], layer=2, index=(3, 1))
    if verbose:
        print(explanation)
        print("wrote " + ", ".join(str(path) for path in paths.values()))
    return {"paths": paths, "explanation": explanation}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DOCS, help="folder for the PNG files")
    main(parser.parse_args().output)

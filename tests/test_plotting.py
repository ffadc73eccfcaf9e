"""Plots and the gradient monitor: what is drawn is what the model holds."""

import io
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.callbacks import GradientMonitor

pytest.importorskip("matplotlib")


def test_plotting_is_an_attribute_imported_lazily():
    code = ("import sys, chainrule; assert 'matplotlib' not in sys.modules; "
            "assert 'chainrule.plotting' not in sys.modules; "
            "p = chainrule.plotting; assert p is sys.modules['chainrule.plotting']; "
            "assert callable(p.plot_network); assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError, match="no attribute 'plottting'"):
        cr.plottting  # noqa: B018


def tiny_model():
    model = cr.Model([cr.Dense(2, 3, init="he", dtype=np.float64, rng=0), cr.Tanh(),
                      cr.Dense(3, 2, init="he", dtype=np.float64, rng=1), cr.Linear()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.SGD(learning_rate=0.1))
    return model


def backward_pass(model, X, y):
    """The model's forward and backward pass written out, as the seed writes it: afterwards
    every layer holds its gradients (``explain`` leaves the model's own untouched)."""
    output = X
    for layer in model.layers:
        output = layer.forward(output)
    dvalues = model.loss.backward(output, y)
    for layer in reversed(model.layers):
        dvalues = layer.backward(dvalues)


def test_gradient_monitor_records_norms_and_update_ratios():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 2))
    model = tiny_model()
    start = model.get_parameters()
    # The gradient at the starting parameters, from the model's own backward pass.
    backward_pass(model, X, y)
    gradients = [np.concatenate([model.layers[k].dweights.ravel(), model.layers[k].dbiases.ravel()])
                 for k in (0, 2)]
    monitor = GradientMonitor()
    model.train(X, y, epochs=3, print_every=None, progress=False, callbacks=[monitor])
    assert monitor.labels == ["layers[0] Dense(2, 3)", "layers[2] Dense(3, 2)"]
    assert monitor.epochs == [1, 2, 3]
    for k, label, gradient, (w, _) in zip((0, 2), monitor.labels, gradients, start, strict=True):
        assert len(monitor.grad_norms[label]) == len(monitor.update_ratios[label]) == 3
        assert monitor.grad_norms[label][0] == pytest.approx(np.linalg.norm(gradient), rel=1e-12)
        # Plain SGD moves θ by lr·g: the ratio is ‖0.1·g‖ / ‖θ after the step‖ (epoch 3).
        layer = model.layers[k]
        after = np.concatenate([layer.weights.ravel(), layer.biases.ravel()])
        last_gradient = np.concatenate([layer.dweights.ravel(), layer.dbiases.ravel()])
        assert monitor.update_ratios[label][-1] == pytest.approx(
            0.1 * np.linalg.norm(last_gradient) / np.linalg.norm(after), rel=1e-9)
        assert not np.array_equal(w, layer.weights)


def test_gradient_monitor_averages_the_steps_of_an_epoch_and_keeps_its_state():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(10, 2)), rng.normal(size=(10, 2))
    model = tiny_model()
    monitor = GradientMonitor()
    model.train(X, y, epochs=2, batch_size=4, print_every=None, progress=False,
                callbacks=[monitor], shuffle=False)
    assert monitor.epochs == [1, 2]
    copy = GradientMonitor()
    copy.set_state(monitor.get_state())
    assert copy.get_state() == monitor.get_state()
    model.train(X, y, epochs=1, print_every=None, progress=False, callbacks=[monitor])
    assert monitor.epochs == [1, 2, 3] and len(monitor.grad_norms[monitor.labels[0]]) == 3


def deep(activation, X, y):
    rng = np.random.default_rng(0)
    layers, n_inputs = [], 2
    for _ in range(6):
        layers += [cr.Dense(n_inputs, 16, init="glorot", rng=rng), activation()]
        n_inputs = 16
    model = cr.Model([*layers, cr.Dense(16, 3, init="glorot", rng=rng), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.005))
    monitor = GradientMonitor()
    model.train(X, y, epochs=3, batch_size=50, print_every=None, progress=False, rng=0,
                callbacks=[monitor])
    return monitor


def test_a_deep_sigmoid_networks_gradients_vanish_and_a_relu_networks_do_not():
    X, y = cr.datasets.spiral_data(50, 3, rng=0)
    ratios = {}
    for activation in (cr.Sigmoid, cr.ReLU):
        monitor = deep(activation, X, y)
        first, last = monitor.labels[0], monitor.labels[-1]
        ratios[activation] = monitor.grad_norms[first][0] / monitor.grad_norms[last][0]
    assert ratios[cr.Sigmoid] < 1e-3       # σ' ≤ 1/4 per layer: six layers, ≲ 4⁻⁶
    assert ratios[cr.ReLU] > 0.1


def test_plot_gradient_norms_draws_each_layer_of_each_monitor():
    X, y = cr.datasets.spiral_data(50, 3, rng=0)
    monitors = {"sigmoid": deep(cr.Sigmoid, X, y), "relu": deep(cr.ReLU, X, y)}
    figure = cr.plotting.plot_gradient_norms(monitors)
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == ["sigmoid", "relu"]
    for ax, monitor in zip(axes, monitors.values(), strict=True):
        assert ax.get_yscale() == "log"
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == monitor.labels
        for line, label in zip(lines, monitor.labels, strict=True):
            np.testing.assert_array_equal(line.get_ydata(), monitor.grad_norms[label])
    assert axes[0].get_ylim() == axes[1].get_ylim()
    ratio = cr.plotting.plot_gradient_norms(monitors["relu"], quantity="update_ratio")
    lines = ratio.axes[0].get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(),
                                  monitors["relu"].update_ratios[monitors["relu"].labels[0]])
    assert lines[-1].get_ydata()[0] == 1e-3     # the usual healthy ratio, marked
    assert lines[-1].get_linewidth() > 0 and lines[-1].get_linestyle() == "--"  # and visible
    figure.savefig(io.BytesIO(), format="png")
    with pytest.raises(ValueError, match="quantity must be"):
        cr.plotting.plot_gradient_norms(monitors["relu"], quantity="norm")


def test_plot_network_draws_every_weight_by_sign_and_size():
    from matplotlib import colors
    from matplotlib.collections import LineCollection

    model = tiny_model()
    model.layers[0].weights[0, 0] = 0.0   # the thinnest line of its layer
    figure = cr.plotting.plot_network(model)
    ax = figure.axes[0]
    collections = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in collections] == [6, 6]
    for collection, layer, k in zip(collections, (model.layers[0], model.layers[2]), (0, 1),
                                    strict=True):
        weights = np.sort(np.abs(layer.weights.ravel()))
        widths = np.asarray(collection.get_linewidths())
        assert np.all(np.diff(widths) >= 0)    # drawn faint to strong, width grows with |w|
        assert widths[-1] > widths[0]
        assert weights[0] < weights[-1]
        for segment in collection.get_segments():
            assert segment[0][0] == k and segment[1][0] == k + 1
        rgba = collection.get_colors()
        order = np.argsort(np.abs(layer.weights.ravel()), kind="stable")
        for colour, weight in zip(rgba, layer.weights.ravel()[order], strict=True):
            expected = cr.plotting.POSITIVE if weight >= 0 else cr.plotting.NEGATIVE
            np.testing.assert_allclose(colour[:3], colors.to_rgb(expected))
    nodes = [c for c in ax.collections if not isinstance(c, LineCollection)]
    assert [len(c.get_offsets()) for c in nodes] == [2, 3, 2]
    figure.savefig(io.BytesIO(), format="png")


def test_plot_network_colours_by_gradient_after_a_backward_pass():
    from matplotlib import colormaps, colors
    from matplotlib.collections import LineCollection

    model = tiny_model()
    with pytest.raises(ValueError, match="needs a backward pass"):
        cr.plotting.plot_network(model, gradients=True)
    rng = np.random.default_rng(2)
    backward_pass(model, rng.normal(size=(5, 2)), rng.normal(size=(5, 2)))
    figure = cr.plotting.plot_network(model, gradients=True)
    collections = [c for c in figure.axes[0].collections if isinstance(c, LineCollection)]
    layer = model.layers[2]
    order = np.argsort(np.abs(layer.weights.ravel()), kind="stable")
    grads = layer.dweights.ravel()[order]
    scale = np.abs(grads).max()
    expected = colormaps["PuOr"](colors.Normalize(-scale, scale)(grads))
    np.testing.assert_allclose(collections[1].get_colors()[:, :3], expected[:, :3])


def test_plot_network_needs_a_dense_layer():
    with pytest.raises(ValueError, match="Dense layers"):
        cr.plotting.plot_network(cr.Model([cr.ReLU()]))


def test_plot_network_scales_its_drawing_with_the_network():
    # The figure widens by a column per Dense layer, the axes frame exactly the columns,
    # neurons shrink as a column crowds (never below 20 pt²), and lines thin out as a
    # layer's weights pass 64 (the sqrt of the crowding), so a big layer stays readable.
    from matplotlib.collections import LineCollection, PathCollection

    model = cr.Model([cr.Dense(2, 30, rng=0), cr.ReLU(), cr.Dense(30, 256, rng=1), cr.ReLU(),
                      cr.Dense(256, 3, rng=2), cr.Softmax()])
    figure = cr.plotting.plot_network(model)
    ax = figure.axes[0]
    np.testing.assert_allclose(figure.get_size_inches(), [2.2 * 4, 5])
    np.testing.assert_allclose(ax.get_xlim(), [-0.4, 3.4])
    np.testing.assert_allclose(ax.get_ylim(), [-0.06, 1.16])
    sizes = [c.get_sizes()[0] for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(sizes, [220.0, 220.0 / 5, 20.0, 220.0])  # 2, 30, 256, 3
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    for collection, layer in zip(lines, [model.layers[0], model.layers[2], model.layers[4]],
                                 strict=True):
        crowding = max(1.0, np.sqrt(layer.weights.size / 64))
        magnitude = np.sort(np.abs(layer.weights).ravel()) / np.abs(layer.weights).max()
        np.testing.assert_allclose(collection.get_linewidths(), 0.3 + 4.0 * magnitude / crowding)


def test_the_decision_boundary_frames_the_data_with_a_tenth_on_each_side():
    from matplotlib.collections import QuadMesh

    X, y = cr.datasets.vertical_data(20, 3, rng=0)
    model = cr.Model([cr.Dense(2, 8, rng=0), cr.ReLU(), cr.Dense(8, 3, rng=1), cr.Softmax()])
    figure = cr.plotting.plot_decision_boundary(model, X, y, resolution=40)
    ax = figure.axes[0]
    span = X.max(axis=0) - X.min(axis=0)
    np.testing.assert_allclose(ax.get_xlim(), [X[:, 0].min() - 0.1 * span[0],
                                               X[:, 0].max() + 0.1 * span[0]], atol=1e-8)
    np.testing.assert_allclose(ax.get_ylim(), [X[:, 1].min() - 0.1 * span[1],
                                               X[:, 1].max() + 0.1 * span[1]], atol=1e-8)
    # Class k's region is coloured exactly colours[k]: the boundaries sit half-way between.
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    np.testing.assert_array_equal(mesh.norm.boundaries, [-0.5, 0.5, 1.5, 2.5])


@pytest.mark.parametrize("n, palette", [(3, "tab10"), (10, "tab10"), (11, "tab20"), (20, "tab20"),
                                        (21, "turbo")])
def test_class_colours_come_from_a_palette_large_enough(n, palette):
    from matplotlib import colormaps

    colours = cr.plotting.class_colours(n)
    expected = colormaps[palette](np.arange(n) if palette != "turbo" else np.linspace(0, 1, n))
    np.testing.assert_array_equal(colours, expected)
    assert len({tuple(c) for c in colours}) == n  # distinct


def test_the_history_is_drawn_into_the_axes_it_is_given():
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    history = {"loss": [1.0, 0.5, 0.25], "accuracy": [0.3, 0.6, 0.9]}
    assert cr.plotting.plot_history(history, ax=ax) is figure
    assert len(figure.axes) == 2 and ax.get_lines()[0].get_ydata().tolist() == history["loss"]
    plt.close(figure)


def curves(figure):
    """{label: y values} of every line on every axes of ``figure``."""
    return {line.get_label(): np.asarray(line.get_ydata(), dtype=float)
            for ax in figure.axes for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def test_the_learning_curves_draw_the_data_loss_beside_validation_and_say_what_has_the_penalty():
    history = {"loss": [1.5, 1.0, 0.8], "data_loss": [1.0, 0.6, 0.5],
               "reg_loss": [0.5, 0.4, 0.3], "accuracy": [0.5, 0.7, 0.8],
               "val_loss": [1.1, 0.7, 0.9], "val_accuracy": [0.4, 0.6, 0.7]}
    drawn = curves(cr.plotting.plot_history(history))
    # The training loss compared with validation is the data loss (what chainrule train
    # prints, the same measure as val_loss); the penalised one is drawn and named apart.
    np.testing.assert_array_equal(drawn["training loss"], history["data_loss"])
    np.testing.assert_array_equal(drawn["training loss + L1/L2 penalty"], history["loss"])
    np.testing.assert_array_equal(drawn["validation loss"], history["val_loss"])
    np.testing.assert_array_equal(drawn["validation accuracy"], history["val_accuracy"])
    # Without a penalty there is one training loss.
    history["reg_loss"] = [0.0] * 3
    history["loss"] = history["data_loss"]
    assert "training loss + L1/L2 penalty" not in curves(cr.plotting.plot_history(history))


def test_the_learning_curves_mark_the_kept_epoch_on_every_panel():
    history = {"loss": [1.0, 0.5, 0.6, 0.7], "accuracy": [0.5, 0.7, 0.8, 0.6],
               "val_loss": [1.1, 0.4, 0.8, 0.9], "val_accuracy": [0.4, 0.9, 0.6, 0.5]}
    figure = cr.plotting.plot_history(history, kept_epoch=2)
    for ax in figure.axes:
        marks = [line for line in ax.get_lines() if line.get_label() == "kept: epoch 2"]
        assert len(marks) == 1 and list(marks[0].get_xdata()) == [2, 2]
        dots = sorted(float(line.get_ydata()[0]) for line in ax.get_lines()
                      if line.get_marker() == "o")
        assert dots in ([0.4, 0.5], [0.7, 0.9])  # each curve's value at epoch 2
        assert any(text.get_text() == "kept: epoch 2" for text in ax.get_legend().get_texts())
    last = curves(cr.plotting.plot_history(history, kept_epoch=4))
    assert "kept: epoch 4 (the last)" in last
    for wrong in (0, 5):
        with pytest.raises(ValueError, match="kept_epoch must be an epoch of the history, 1 to 4"):
            cr.plotting.plot_history(history, kept_epoch=wrong)


def test_the_learning_curves_of_a_regression_can_leave_the_accuracy_out():
    history = {"loss": [1.0, 0.5], "accuracy": [0.1, 0.2], "val_loss": [1.2, 0.6]}
    figure = cr.plotting.plot_history(history, accuracy=False)
    assert len(figure.axes) == 1 and set(curves(figure)) == {"training loss", "validation loss"}


def test_the_learning_curves_of_one_epoch_are_visible():
    """A line through one point draws nothing: one epoch's curves are drawn as points."""
    history = {"loss": [1.0], "accuracy": [0.5], "val_loss": [1.1], "val_accuracy": [0.4]}
    figure = cr.plotting.plot_history(history)
    for ax in figure.axes:
        for line in ax.get_lines():
            assert line.get_marker() not in (None, "None", "", " "), line.get_label()


def test_the_learning_curves_keep_the_log_scale_over_a_nan_epoch():
    """A diverged epoch (NaN) is a gap in the curves; the other epochs keep their log scale."""
    nan = float("nan")
    history = {"loss": [1.0, 0.01, nan, 0.001], "accuracy": [0.5, 0.7, nan, 0.9],
               "val_loss": [1.1, 0.02, nan, 0.002], "val_accuracy": [0.4, 0.6, nan, 0.8]}
    figure = cr.plotting.plot_history(history, kept_epoch=4)
    assert figure.axes[0].get_yscale() == "log"
    np.testing.assert_array_equal(curves(figure)["training loss"], history["loss"])


def test_the_learning_curves_of_no_epoch_are_refused_in_words():
    with pytest.raises(ValueError, match="the history holds no epoch"):
        cr.plotting.plot_history({"loss": [], "accuracy": []})


def test_the_learning_curves_number_whole_epochs():
    """One or a few epochs: the epoch axis has no 0.96 or 1.02 ticks."""
    for n in (1, 3):
        figure = cr.plotting.plot_history({"loss": [1.0] * n, "accuracy": [0.5] * n})
        for ax in figure.axes:
            ticks = ax.get_xticks()
            assert np.array_equal(ticks, np.round(ticks)), (n, ticks)


def test_learning_curves_of_a_history_without_accuracy_show_the_loss_alone():
    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.6]}
    fig = cr.plotting.plot_history(history)
    (axis,) = fig.axes
    lines = {line.get_label(): line.get_ydata().tolist() for line in axis.get_lines()}
    assert lines == {"training loss": [1.0, 0.5, 0.25], "validation loss": [1.1, 0.7, 0.6]}


@pytest.mark.parametrize("history", [{}, {"accuracy": [0.5]}, [0.5, 0.4], None])
def test_learning_curves_refuse_a_history_with_no_loss_in_words(history):
    with pytest.raises(ValueError, match=r"history must be what Model\.train returns"):
        cr.plotting.plot_history(history)


@pytest.mark.parametrize("draw", ["plot_history", "plot_decision_boundary", "plot_network",
                                  "plot_regression", "plot_gradient_norms"])
def test_without_matplotlib_every_plot_says_how_to_install_it(monkeypatch, draw):
    """Each plot's first matplotlib import is the one that names the extra to install."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # an import of it raises ImportError
    model = cr.Model([cr.Dense(2, 3, rng=0), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    X, y = np.zeros((4, 2)), np.array([0, 1, 2, 0])
    history = {"loss": [1.0, 0.5], "accuracy": [0.3, 0.6]}
    args = {"plot_history": (history,), "plot_decision_boundary": (model, X, y),
            "plot_network": (model,), "plot_regression": (model, X[:, :1], X[:, 0]),
            "plot_gradient_norms": ({"dense_1": [1.0, 0.5]},)}[draw]
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        getattr(cr.plotting, draw)(*args)


def test_learning_curve_panels_say_what_they_show():
    history = {"loss": [1.0, 0.5], "accuracy": [0.3, 0.6], "val_loss": [1.1, 0.7],
               "val_accuracy": [0.2, 0.5]}
    fig = cr.plotting.plot_history(history)
    assert [(a.get_xlabel(), a.get_ylabel()) for a in fig.axes] == [("epoch", "loss"),
                                                                   ("epoch", "accuracy")]

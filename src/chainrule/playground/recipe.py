"""The playground's recipe: data, features and network from the settings — and the same as a script.

Each builder here has its twin in ``script``, which writes the Python that does
the same thing with the same seeds, so "show code" reproduces the network on
the page. ``tests/test_playground_session.py`` runs that script and compares.
"""

from __future__ import annotations

import itertools
import pprint

import numpy as np

from .. import datasets, nn, optim
from ..nn import Dense, Dropout
from ..training import Model
from .settings import FEATURES, REGRESSION, TWO_CLASS, effective_features, n_classes

ACTIVATION_CLASSES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                      "leaky_relu": "LeakyReLU", "linear": "Linear"}
#: optimizer key → (class name, extra keyword arguments)
OPTIMIZER_CLASSES = {"sgd": ("SGD", {}), "momentum": ("SGD", {"momentum": 0.9}),
                     "adagrad": ("Adagrad", {}), "rmsprop": ("RMSprop", {}),
                     "adam": ("Adam", {})}
# float64: the page checks each gradient against central differences, which float32
# rounding would blur to ~1e-4; networks this small cost no more in float64.
DTYPE = np.float64
GENERATORS = {"spiral": "spiral_data", "vertical": "vertical_data", "circle": "circle_data",
              "xor": "xor_data", "gaussian": "gaussian_data", "sine": "sine_data"}


def make_data(settings: dict):
    """Draw the points and split them into training and test sets.

    Returns
    -------
    X_train, y_train, X_test, y_test
        Raw points (n, 2) — or (n, 1) for sine — with class labels (n,) or
        regression targets (n, 1).
    """
    rng = np.random.default_rng(settings["seed"])
    name, samples, noise = settings["dataset"], settings["samples"], settings["noise"]
    generate = getattr(datasets, GENERATORS[name])
    if name in ("spiral", "vertical"):
        X, y = generate(samples, settings["classes"], rng=rng)
        if noise:
            X = X + noise * rng.standard_normal(X.shape)
    elif name in TWO_CLASS:
        X, y = generate(samples, noise=noise, rng=rng)
    else:
        X, y = generate(samples)
        if noise:
            y = y + noise * rng.standard_normal(y.shape)
    order = rng.permutation(len(X))
    n_train = round(len(X) * settings["train_ratio"])
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


#: each feature of the raw points ``X``, as ``FEATURES`` writes it for the script
FEATURE_FUNCTIONS = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1sq": lambda X: X[:, 0] ** 2,
    "x2sq": lambda X: X[:, 1] ** 2,
    "x1x2": lambda X: X[:, 0] * X[:, 1],
    "sinx1": lambda X: np.sin(np.pi * X[:, 0]),
    "sinx2": lambda X: np.sin(np.pi * X[:, 1]),
}


def features(X: np.ndarray, keys) -> np.ndarray:
    """The network's inputs (n, len(keys)) from raw points ``X`` (n, d)."""
    return np.column_stack([FEATURE_FUNCTIONS[key](X) for key in keys])


#: the column a saved model's metadata names as its target
TARGET = "y"


def metadata(settings: dict, X_train: np.ndarray, n_test: int) -> dict:
    """What a downloaded model records about itself in ``Model.metadata``.

    The model takes the *computed* features (x₁², sin πx₁, …), not the raw point
    (x₁, x₂): ``features`` names them in input order, ``formulas`` says how each is
    computed from the raw points ``X`` (n, 2), and ``inputs`` says it in a sentence,
    which ``chainrule predict`` and ``explain`` show when a file does not match.
    ``range`` is each feature's span on the training points (``predict`` warns far
    outside it); ``data`` and ``split`` are the dataset, its seed and the split.

    Parameters
    ----------
    settings : dict
        Checked settings.
    X_train : (n_train, n_features)
        The training points' features.
    n_test : int
        How many points the split holds out.
    """
    keys = effective_features(settings)
    labels = [FEATURES[key][0] for key in keys]
    regression = settings["dataset"] in REGRESSION
    raw = "x₁" if regression else "(x₁, x₂)"
    data = {"generator": f"chainrule.datasets.{GENERATORS[settings['dataset']]}",
            "samples": settings["samples"], "noise": settings["noise"], "seed": settings["seed"]}
    if settings["dataset"] in ("spiral", "vertical"):
        data["classes"] = settings["classes"]
    meta = {
        "task": "regression" if regression else "classification",
        "features": labels,
        "formulas": {label: FEATURES[key][1] for label, key in zip(labels, keys, strict=True)},
        "n_features": len(keys),
        "target": TARGET,
        "inputs": (f"the features {', '.join(labels)} of each raw point {raw}, computed as "
                   + "; ".join(f"{label} = {FEATURES[key][1]}"
                               for label, key in zip(labels, keys, strict=True))
                   + " with X the raw points: a CSV of raw points must first be turned into "
                   "these columns (with these names as its header)"),
        "range": {"min": [float(v) for v in X_train.min(axis=0)],
                  "max": [float(v) for v in X_train.max(axis=0)]},
        "dataset": settings["dataset"],
        "data": data,
        "split": {"seed": settings["seed"], "train_ratio": settings["train_ratio"],
                  "n_train": len(X_train), "n_test": n_test,
                  "how": "np.random.default_rng(seed) draws the data, then its "
                         "permutation(len(X)) orders the points; the first n_train train"},
        "settings": dict(settings),
    }
    if not regression:
        meta["classes"] = list(range(n_classes(settings)))
    return meta


def build_model(settings: dict, n_features: int, rng: np.random.Generator) -> Model:
    """The network for ``settings``: hidden layers, activation, dropout, loss and optimizer."""
    activation = getattr(nn, ACTIVATION_CLASSES[settings["activation"]])
    init = _init(settings)
    penalty = _penalty(settings)
    sizes = [n_features, *settings["layers"]]
    model = Model()
    for n_inputs, n_neurons in itertools.pairwise(sizes):
        model.add(Dense(n_inputs, n_neurons, init=init, **penalty, dtype=DTYPE, rng=rng))
        model.add(activation())
        if settings["dropout"]:
            model.add(Dropout(settings["dropout"], rng=rng))
    model.add(Dense(sizes[-1], n_classes(settings), init="glorot", **penalty, dtype=DTYPE,
                    rng=rng))
    if settings["dataset"] in REGRESSION:
        model.add(nn.Linear())
        loss = nn.MeanSquaredError()
    else:
        model.add(nn.Softmax())
        loss = nn.CategoricalCrossentropy()
    name, extra = OPTIMIZER_CLASSES[settings["optimizer"]]
    optimizer = getattr(optim, name)(learning_rate=settings["learning_rate"], **extra)
    model.set(loss=loss, optimizer=optimizer)
    return model


def model_rng(settings: dict) -> np.random.Generator:
    """The generator of initial weights, dropout masks and shuffling (not the data's)."""
    return np.random.default_rng(settings["seed"] + 1)


def _init(settings: dict) -> str:
    # He for the ReLU family keeps activations from shrinking layer by layer; Glorot otherwise.
    return "he" if settings["activation"] in ("relu", "leaky_relu") else "glorot"


def _penalty(settings: dict) -> dict:
    if settings["regularization"] == "none" or not settings["regularization_rate"]:
        return {}
    return {f"weight_regularizer_{settings['regularization']}": settings["regularization_rate"]}


# -- the same, as a script ------------------------------------------------------------------


def script(settings: dict, epochs: int) -> str:
    """Python source that builds and trains the current network on the same data.

    Parameters
    ----------
    settings : dict
        Checked settings.
    epochs : int
        Epochs the page has trained; the script trains as many.
    """
    keys = effective_features(settings)
    regression = settings["dataset"] in REGRESSION
    lines = [
        f'"""A network from the chainrule playground: {_summary(settings)}.',
        "",
        f"The same data, features, layers and optimizer as on the page, trained for {epochs}",
        'epochs. Run it with Python; it prints the losses the page showed."""',
        "",
        "import numpy as np",
        "",
        "import chainrule as cr",
        f"from chainrule.datasets import {GENERATORS[settings['dataset']]}",
        "",
        *_data_lines(settings),
        "",
        "",
        "def features(X):",
        f'    """The network\'s inputs: {", ".join(FEATURES[key][0] for key in keys)}."""',
        "    return np.column_stack([",
        *[f"        {FEATURES[key][1]}," for key in keys],
        "    ])",
        "",
        "",
        "X_train, X_test = features(X[train]), features(X[test])",
        "y_train, y_test = y[train], y[test]",
        "",
        "# Initial weights, dropout masks and shuffling come from their own generator.",
        f"model_rng = np.random.default_rng({settings['seed'] + 1})  # the data's seed + 1",
        "model = cr.Model([",
        *_layer_lines(settings, len(keys)),
        "])",
        *_set_lines(settings),
        f"model.train(X_train, y_train, epochs={epochs}, batch_size={settings['batch_size']},",
        "            rng=model_rng, print_every=None, progress=False)",
        "on_train = model.evaluate(X_train, y_train, verbose=False)",
        "on_test = model.evaluate(X_test, y_test, verbose=False)",
        'print(f"train loss: {on_train[\'loss\']:.6f}, test loss: {on_test[\'loss\']:.6f}")',
    ]
    if not regression:
        lines.append('print(f"train accuracy: {on_train[\'accuracy\']:.3f}, '
                     'test accuracy: {on_test[\'accuracy\']:.3f}")')
    lines += [
        "# What the file takes and where it came from, as the page's download records it:",
        "# the computed features (not the raw points), the data, its seed and the split.",
        "metadata = " + pprint.pformat(metadata_template(settings), width=92, sort_dicts=False),
        'metadata["range"] = {"min": X_train.min(axis=0).tolist(),',
        '                     "max": X_train.max(axis=0).tolist()}',
        'metadata["split"]["n_train"], metadata["split"]["n_test"] = len(X_train), len(X_test)',
        "model.metadata = metadata",
        'model.save("playground.chainrule")',
    ]
    return "\n".join(lines) + "\n"


def metadata_template(settings: dict) -> dict:
    """``metadata`` less what the script computes itself (the range and the split's sizes)."""
    keys = effective_features(settings)
    meta = metadata(settings, np.zeros((2, len(keys))), 0)
    del meta["range"]
    meta["split"]["n_train"] = meta["split"]["n_test"] = None
    return meta


def _summary(settings: dict) -> str:
    hidden = "-".join(str(n) for n in settings["layers"]) or "no hidden layers"
    return f"{settings['dataset']}, {hidden}, {settings['activation']}, {settings['optimizer']}"


def _data_lines(settings: dict) -> list[str]:
    name, samples, noise = settings["dataset"], settings["samples"], settings["noise"]
    generator = GENERATORS[name]
    lines = [f"data_rng = np.random.default_rng({settings['seed']})"]
    if name in ("spiral", "vertical"):
        lines.append(f"X, y = {generator}({samples}, {settings['classes']}, rng=data_rng)")
        if noise:
            lines.append(f"X = X + {noise!r} * data_rng.standard_normal(X.shape)  # noise")
    elif name in TWO_CLASS:
        lines.append(f"X, y = {generator}({samples}, noise={noise!r}, rng=data_rng)")
    else:
        lines.append(f"X, y = {generator}({samples})")
        if noise:
            lines.append(f"y = y + {noise!r} * data_rng.standard_normal(y.shape)  # noise")
    lines += [
        f"# Shuffle, then keep {settings['train_ratio']:.0%} of the points for training.",
        "order = data_rng.permutation(len(X))",
        f"n_train = round(len(X) * {settings['train_ratio']!r})",
        "train, test = order[:n_train], order[n_train:]",
    ]
    return lines


def _layer_lines(settings: dict, n_features: int) -> list[str]:
    activation = ACTIVATION_CLASSES[settings["activation"]]
    extra = "".join(f", {key}={value!r}" for key, value in _penalty(settings).items())
    sizes = [n_features, *settings["layers"]]
    lines = []
    for n_inputs, n_neurons in itertools.pairwise(sizes):
        lines.append(f"    cr.Dense({n_inputs}, {n_neurons}, init={_init(settings)!r}{extra}, "
                     "dtype=np.float64, rng=model_rng),")
        lines.append(f"    cr.{activation}(),")
        if settings["dropout"]:
            lines.append(f"    cr.Dropout({settings['dropout']!r}, rng=model_rng),")
    lines.append(f"    cr.Dense({sizes[-1]}, {n_classes(settings)}, init='glorot'{extra}, "
                 "dtype=np.float64, rng=model_rng),")
    output = "Linear" if settings["dataset"] in REGRESSION else "Softmax"
    lines.append(f"    cr.{output}(),")
    return lines


def _set_lines(settings: dict) -> list[str]:
    name, extra = OPTIMIZER_CLASSES[settings["optimizer"]]
    arguments = ", ".join([f"learning_rate={settings['learning_rate']!r}",
                           *(f"{key}={value!r}" for key, value in extra.items())])
    loss = "MeanSquaredError" if settings["dataset"] in REGRESSION else "CategoricalCrossentropy"
    return [f"model.set(loss=cr.{loss}(), optimizer=cr.{name}({arguments}))"]

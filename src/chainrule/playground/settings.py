"""What a page may ask for: every setting, its default and its bounds, checked field by field.

A browser tab sends settings as JSON; nothing it sends reaches the model before
``check_settings`` has accepted it. Each refusal is a ``ValueError`` (or
``TypeError``) naming the field, what was expected and what was given, and the
bounds keep any one tab from asking for more than a small machine can give.
"""

from __future__ import annotations

import math
import numbers

DATASETS = ("spiral", "vertical", "circle", "xor", "gaussian", "sine")
#: datasets with a fixed number of classes (spiral and vertical take ``classes``)
TWO_CLASS = ("circle", "xor", "gaussian")
REGRESSION = ("sine",)

#: feature key → (label on the page, NumPy expression of the raw points ``X``)
FEATURES = {
    "x1": ("x₁", "X[:, 0]"),
    "x2": ("x₂", "X[:, 1]"),
    "x1sq": ("x₁²", "X[:, 0] ** 2"),
    "x2sq": ("x₂²", "X[:, 1] ** 2"),
    "x1x2": ("x₁x₂", "X[:, 0] * X[:, 1]"),
    # The data lives in [-1, 1], where sin x is almost x: sin πx makes a whole period of it.
    "sinx1": ("sin πx₁", "np.sin(np.pi * X[:, 0])"),
    "sinx2": ("sin πx₂", "np.sin(np.pi * X[:, 1])"),
}
#: features of one-dimensional data (sine): only those of x₁
FEATURES_1D = ("x1", "x1sq", "sinx1")

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
REGULARIZATIONS = ("none", "l1", "l2")

MAX_LAYERS = 6
MAX_NEURONS = 8
MAX_SAMPLES = 500  # per class: at most 2,500 points
MAX_CLASSES = 5
MAX_BATCH = 1000
MAX_EPOCHS_PER_FRAME = 50
MIN_GRID, MAX_GRID = 16, 128
MAX_SEED = 2**31 - 1

# The book's spiral and ReLU; enough points and depth that the test loss falls within
# a couple of hundred epochs (2-8-8-3 on 300 points mostly overfits).
DEFAULTS = {
    "dataset": "spiral",
    "classes": 3,
    "samples": 200,
    "noise": 0.0,
    "train_ratio": 0.7,
    "seed": 0,
    "features": ["x1", "x2"],
    "layers": [8, 8, 8],
    "activation": "relu",
    "optimizer": "adam",
    "learning_rate": 0.005,
    "regularization": "none",
    "regularization_rate": 0.0,
    "dropout": 0.0,
    "batch_size": 20,
    "epochs_per_frame": 1,
    "grid": 64,
}

#: settings whose change draws new data (and so a new network)
DATA_KEYS = ("dataset", "classes", "samples", "noise", "train_ratio", "seed")
#: settings whose change builds a new network from the same data
MODEL_KEYS = ("features", "layers", "activation", "optimizer", "regularization",
              "regularization_rate", "dropout")
#: the rest take effect at the next step, mid-training
LIVE_KEYS = ("learning_rate", "batch_size", "epochs_per_frame", "grid")


def check_settings(changes, current: dict) -> dict:
    """Return ``current`` updated with ``changes``, every changed field checked.

    Parameters
    ----------
    changes : dict
        Field → new value, any subset of ``DEFAULTS``.
    current : dict
        Settings already checked (``DEFAULTS`` at first).

    Raises ``TypeError`` or ``ValueError`` naming the first bad field; ``current``
    is never modified.
    """
    if not isinstance(changes, dict):
        raise TypeError(f"settings must be an object of fields; got {_describe(changes)}")
    unknown = sorted(str(key) for key in changes if key not in DEFAULTS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)[:200]}; known settings are "
                         f"{', '.join(DEFAULTS)}")
    settings = dict(current)
    for key, value in changes.items():
        settings[key] = _CHECKS[key](key, value)
    return settings


def effective_features(settings: dict) -> list[str]:
    """The features the network gets: those of x₁ only for one-dimensional data."""
    features = settings["features"]
    if settings["dataset"] in REGRESSION:
        features = [key for key in features if key in FEATURES_1D]
        if not features:
            raise ValueError("features for the sine data must include one of "
                             f"{', '.join(FEATURES_1D)} (it has no x₂); got "
                             f"{', '.join(settings['features'])}")
    return features


def n_classes(settings: dict) -> int:
    """Classes of the chosen dataset (1 output for regression)."""
    if settings["dataset"] in REGRESSION:
        return 1
    return 2 if settings["dataset"] in TWO_CLASS else settings["classes"]


# -- one check per kind of field ------------------------------------------------------------


def _describe(value) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


def _choice(options):
    def check(name, value):
        if not isinstance(value, str) or value not in options:
            raise ValueError(f"{name} must be one of {', '.join(options)}; got {_describe(value)}")
        return value
    return check


def _integer(low: int, high: int):
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be a whole number in [{low}, {high}]; "
                            f"got {_describe(value)}")
        if not low <= value <= high:
            raise ValueError(f"{name} must be in [{low}, {high}]; got {value}")
        return int(value)
    return check


def _number(low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    lo, hi = "(" if low_open else "[", ")" if high_open else "]"

    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number in {lo}{low}, {high}{hi}; "
                            f"got {_describe(value)}")
        value = float(value)
        inside = ((low < value if low_open else low <= value)
                  and (value < high if high_open else value <= high))
        if not math.isfinite(value) or not inside:
            raise ValueError(f"{name} must be a finite number in {lo}{low}, {high}{hi}; "
                             f"got {value}")
        return value
    return check


def _features(name, value):
    if not isinstance(value, list) or not value:
        raise TypeError(f"{name} must be a non-empty list of {', '.join(FEATURES)}; "
                        f"got {_describe(value)}")
    for key in value:
        if not isinstance(key, str) or key not in FEATURES:
            raise ValueError(f"{name} must hold only {', '.join(FEATURES)}; got {_describe(key)}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} must not repeat a feature; got {', '.join(value)}")
    # One order whatever the clicks: the network's inputs follow the page's list.
    return [key for key in FEATURES if key in value]


def _layers(name, value):
    if not isinstance(value, list) or len(value) > MAX_LAYERS:
        raise ValueError(f"{name} must be a list of at most {MAX_LAYERS} layer sizes; "
                         f"got {_describe(value)}")
    neurons = _integer(1, MAX_NEURONS)
    return [neurons(f"{name}[{i}]", size) for i, size in enumerate(value)]


_CHECKS = {
    "dataset": _choice(DATASETS),
    "classes": _integer(2, MAX_CLASSES),
    "samples": _integer(10, MAX_SAMPLES),
    "noise": _number(0.0, 0.5),
    "train_ratio": _number(0.1, 0.9),
    "seed": _integer(0, MAX_SEED),
    "features": _features,
    "layers": _layers,
    "activation": _choice(ACTIVATIONS),
    "optimizer": _choice(OPTIMIZERS),
    "learning_rate": _number(0.0, 10.0, low_open=True),
    "regularization": _choice(REGULARIZATIONS),
    "regularization_rate": _number(0.0, 1.0),
    "dropout": _number(0.0, 0.9, high_open=True),
    "batch_size": _integer(1, MAX_BATCH),
    "epochs_per_frame": _integer(1, MAX_EPOCHS_PER_FRAME),
    "grid": _integer(MIN_GRID, MAX_GRID),
}

LIMITS = {
    "max_layers": MAX_LAYERS,
    "max_neurons": MAX_NEURONS,
    "max_samples": MAX_SAMPLES,
    "max_classes": MAX_CLASSES,
    "max_batch": MAX_BATCH,
    "max_epochs_per_frame": MAX_EPOCHS_PER_FRAME,
    "min_grid": MIN_GRID,
    "max_grid": MAX_GRID,
}

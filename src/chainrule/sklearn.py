"""scikit-learn estimators around a chainrule Model: Pipelines, GridSearchCV, joblib.

``ChainruleClassifier`` and ``ChainruleRegressor`` build an MLP from chainrule
layers (Dense → activation → [Dropout] … → Dense → Softmax or Linear) and train
it with ``Model.train``. They follow scikit-learn's conventions: parameters are
only stored by ``__init__``, checked by ``fit``; what was learned ends in ``_``
(``model_`` is the trained ``chainrule.Model``); ``random_state`` fixes
everything random (weights, dropout masks, shuffling, the validation split).

Needs the optional extra ``chainrule[sklearn]``.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Iterable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from . import nn, optim
from ._checks import check_fraction, check_nonnegative, check_positive, check_positive_int
from .nn import Dense, Dropout
from .training import EarlyStopping, Model

__all__ = ["ChainruleClassifier", "ChainruleRegressor"]

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
               "tanh": nn.Tanh, "logistic": nn.Sigmoid,
               "identity": nn.Linear}
OPTIMIZERS = {"adam": optim.Adam, "sgd": optim.SGD, "rmsprop": optim.RMSprop,
              "adagrad": optim.Adagrad}
DTYPES = ("float32", "float64")
# What validate_data makes X: a float array as given (anything else as float64), never cast
# to the model's dtype there. The model's own check casts it, and refuses a value beyond its
# dtype in its words (scikit-learn's cast would overflow to inf with a RuntimeWarning first).
_FLOATS = (np.float64, np.float32)


class _ChainruleEstimator(BaseEstimator):
    """What the classifier and the regressor share: parameters, building, training.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
        Neurons of each hidden Dense layer; ``()`` gives a linear model.
    activation : {"relu", "leaky_relu", "tanh", "logistic", "identity"}, default "relu"
        After every hidden layer. Every layer starts as scikit-learn's MLP does (Glorot
        uniform weights and biases, drawn from ``random_state`` in the same order).
    optimizer : {"adam", "sgd", "rmsprop", "adagrad"}, default "adam"
        ``"sgd"`` uses momentum 0.9, as scikit-learn's MLP.
    learning_rate : float, default 0.001
        The optimizer's step size.
    batch_size : int, "auto" or None, default "auto"
        Samples per step; ``"auto"`` is min(200, n_samples), None the whole set.
    max_iter : int, default 200
        Epochs at most (``partial_fit`` runs one).
    alpha : float, default 0.0001
        L2 penalty on the weights, scaled as in scikit-learn's MLP: each step adds
        alpha·W / batch_size to the gradient (``weight_regularizer_l2 = alpha / (2·batch)``).
    dropout : float in [0, 1), default 0.0
        Dropout rate after every hidden activation.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data (stratified for classifiers), stop
        once its loss has gone more than ``n_iter_no_change`` epochs without falling by
        more than ``tol`` (scikit-learn's rule), and keep the best epoch's weights.
        Without it, the same rule watches the training loss.
    validation_fraction : float in (0, 1), default 0.1
        The share of the data held out by ``early_stopping``.
    n_iter_no_change : int, default 10
        Epochs without improvement before training stops.
    tol : float, default 1e-4
        The fall in loss that counts as an improvement.
    random_state : int, RandomState or None
        Seeds the weights, dropout, shuffling and the validation split.
    verbose : bool, default False
        Print the book's line every epoch, and a progress bar on a terminal.
    warm_start : bool, default False
        ``fit`` continues training ``model_`` (and its optimizer) instead of starting again.
    dtype : {"float32", "float64"}, default "float32"
        Of the parameters and of the computation.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, optimizer="adam",
                 learning_rate=0.001, batch_size="auto", max_iter=200, alpha=0.0001,
                 dropout=0.0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, tol=1e-4, random_state=None, verbose=False,
                 warm_start=False, dtype="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.dtype = dtype

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and ``y``; return ``self``."""
        return self._fit(X, y, incremental=False)

    def _fit(self, X, y, incremental: bool, classes=None):
        """Fit a copy, and become it only once everything has succeeded.

        A fit that raises — bad data, a split it cannot make, a training that diverged
        — leaves every fitted attribute as it was, ``model_`` included: ``classes_``
        and the network always belong together. (scikit-learn's MLP leaves a failed
        fit half-done; the copy costs one network's memory.)
        """
        work = copy.copy(self)
        work._fit_in_place(X, y, incremental, classes)
        fitted = vars(work)
        stale = [name for name in vars(self) if name not in fitted]
        vars(self).update(fitted)  # one step: the new attributes arrive together
        for name in stale:  # e.g. feature_names_in_ after a refit on a plain array
            delattr(self, name)
        return self

    def _fit_in_place(self, X, y, incremental: bool, classes):
        sizes = self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "model_") or not (self.warm_start or incremental)
        if not first:  # continue training a copy: the estimator's network stays as it was
            self.model_ = copy.deepcopy(self.model_)
        X, y = validate_data(self, X, y, reset=first, dtype=_FLOATS,
                             multi_output=self._multi_output, y_numeric=self._multi_output)
        targets = self._encode_targets(y, first, incremental, classes)
        seeds = np.random.SeedSequence(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        dropout_seed, split_seed, shuffle_seed = seeds.spawn(3)
        validation_data = None
        if self.early_stopping:
            X, targets, validation_data = self._hold_out(X, targets, split_seed)
        self._prepare_model(sizes, first, X.shape[1], len(X), dropout_seed)
        epoch = self.model_.epoch
        # A fresh fit shuffles with its own seed; continuing keeps the model's generator.
        self.model_.train(X, targets, epochs=1 if incremental else self.max_iter,
                          batch_size=self._batch_size(len(X)), validation_data=validation_data,
                          print_every=1 if self.verbose else None,
                          rng=np.random.default_rng(shuffle_seed) if first else None,
                          progress=None if self.verbose else False,
                          callbacks=self._callbacks(incremental))
        self.n_iter_ = self.model_.epoch - epoch
        self.loss_curve_ = list(self.model_.history["loss"])
        if self.early_stopping:
            self.validation_loss_curve_ = list(self.model_.history["val_loss"])

    def _prepare_model(self, sizes, first, n_features, n_samples, dropout_seed):
        """Build ``model_`` for a fresh fit; check that a continued one has the same shape."""
        shape = (tuple(sizes), self.activation, self.dropout, self.dtype)
        if first:
            self.model_ = self._build(sizes, n_features, n_samples, dropout_seed)
            self._shape = shape
        elif shape != self._shape:
            raise ValueError("warm_start and partial_fit continue the network already built: "
                             "hidden_layer_sizes, activation, dropout and dtype must stay "
                             f"{self._shape}; got {shape}")

    def _callbacks(self, incremental: bool) -> list:
        """Stop when the validation loss (or else the training loss) stops improving."""
        # scikit-learn stops after *more than* n_iter_no_change epochs without improvement;
        # EarlyStopping (as Keras') after `patience` of them.
        patience = self.n_iter_no_change + 1
        if self.early_stopping:
            return [EarlyStopping("val_loss", patience=patience, min_delta=self.tol,
                                  restore_best_weights=True)]
        if incremental:  # one epoch: nothing to stop
            return []
        return [EarlyStopping("loss", patience=patience, min_delta=self.tol)]

    def _check_params(self) -> list[int]:
        """Refuse bad parameters, naming them, before anything is built; return the sizes."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, str) or not isinstance(sizes, (numbers.Integral, Iterable)):
            raise TypeError("hidden_layer_sizes must be an int or a sequence of ints; "
                            f"got {sizes!r}")
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        sizes = [check_positive_int("hidden_layer_sizes entries", size) for size in sizes]
        for name, table in (("activation", ACTIVATIONS), ("optimizer", OPTIMIZERS),
                            ("dtype", DTYPES)):
            if getattr(self, name) not in table:
                raise ValueError(f"{name} must be one of {sorted(table)}; "
                                 f"got {getattr(self, name)!r}")
        check_positive("learning_rate", self.learning_rate)
        if self.batch_size not in ("auto", None):
            check_positive_int("batch_size", self.batch_size)
        check_positive_int("max_iter", self.max_iter)
        check_nonnegative("alpha", self.alpha)
        check_fraction("dropout", self.dropout)
        check_fraction("validation_fraction", self.validation_fraction, low_open=True)
        check_positive_int("n_iter_no_change", self.n_iter_no_change)
        check_nonnegative("tol", self.tol)
        return sizes

    def _batch_size(self, n_samples: int) -> int | None:
        if self.batch_size == "auto":
            return min(200, n_samples)
        return self.batch_size

    def _build(self, sizes, n_features, n_samples, dropout_seed) -> Model:
        """Dense → activation → [Dropout] for each hidden size, then the output head."""
        dropout_seeds = iter(dropout_seed.spawn(len(sizes)))
        batch = self._batch_size(n_samples) or n_samples
        l2 = self.alpha / (2 * min(batch, n_samples))
        model = Model()
        for n_in, n_out in zip([n_features, *sizes], sizes, strict=False):
            model.add(Dense(n_in, n_out, weight_regularizer_l2=l2, dtype=self.dtype, rng=0))
            model.add(ACTIVATIONS[self.activation]())
            if self.dropout:
                model.add(Dropout(self.dropout, rng=np.random.default_rng(next(dropout_seeds))))
        model.add(Dense(([n_features, *sizes])[-1], self._n_outputs, weight_regularizer_l2=l2,
                        dtype=self.dtype, rng=0))
        head, loss = self._head()
        model.add(head)
        self._initialize(model)
        kwargs = {"momentum": 0.9} if self.optimizer == "sgd" else {}
        if self.optimizer == "adam":
            kwargs["epsilon"] = 1e-8  # scikit-learn's
        model.set(loss=loss, optimizer=OPTIMIZERS[self.optimizer](self.learning_rate, **kwargs))
        return model

    def _initialize(self, model) -> None:
        """Start as scikit-learn's MLP does: weights and biases uniform in ±√(6/(fan_in +
        fan_out)) (Glorot and Bengio; 2 instead of 6 for the logistic activation), drawn
        from ``random_state`` in the same order — so with the same ``random_state`` both
        start from the same numbers, and train alike."""
        random_state = check_random_state(self.random_state)  # an int: a fresh RandomState
        factor = 2 if self.activation == "logistic" else 6
        for layer in model.layers:
            if layer.params:
                fan_in, fan_out = layer.weights.shape
                bound = np.sqrt(factor / (fan_in + fan_out))
                layer.weights[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
                layer.biases[...] = random_state.uniform(-bound, bound, fan_out)

    def _hold_out(self, X, targets, split_seed):
        """``validation_fraction`` of the data held out (stratified for classifiers), checked
        first, so that a split which cannot be made is refused in chainrule's words."""
        n = len(X)
        # train_test_split's sizes: the held-out share rounded up, the rest for training.
        n_val = math.ceil(self.validation_fraction * n)
        held = (f"validation_fraction={self.validation_fraction} holds out {n_val} of {n} "
                "samples")
        if n_val < 2:
            raise ValueError(f"early_stopping: {held}, too few to judge the loss on (2 at "
                             "least): raise validation_fraction or give more samples")
        if n - n_val < 1:
            raise ValueError(f"early_stopping: validation_fraction={self.validation_fraction} "
                             f"leaves 0 of {n} samples to train on: lower it")
        stratify = targets if self._stratify else None
        if stratify is not None:
            counts = np.bincount(targets, minlength=len(self.classes_))
            if counts.min() < 2:
                label = self.classes_[int(np.argmin(counts))].tolist()  # 'c', not np.str_('c')
                raise ValueError(f"early_stopping: class {label!r} has {counts.min()} "
                                 "sample(s); the stratified split behind validation_fraction "
                                 "needs 2 of each class (one to train on, one to hold out)")
            k = len(counts)
            if n_val < k:
                raise ValueError(f"early_stopping: {held}, fewer than the {k} classes a "
                                 "stratified split must hold out one of each: raise "
                                 "validation_fraction or give more samples")
            if n - n_val < k:
                raise ValueError(f"early_stopping: validation_fraction="
                                 f"{self.validation_fraction} leaves {n - n_val} of {n} "
                                 f"samples to train on, fewer than the {k} classes: lower it")
        X, X_val, targets, targets_val = train_test_split(
            X, targets, test_size=self.validation_fraction, stratify=stratify,
            random_state=int(split_seed.generate_state(1)[0]))
        return X, targets, (X_val, targets_val)

    def _outputs(self, X) -> np.ndarray:
        """The network's outputs (n_samples, n_outputs) for checked ``X``, as float64."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_FLOATS)
        return self.model_.predict(X).astype(np.float64)


# What both estimators learn in fit, after the attributes of their own (their docstrings' end).
_FITTED_ATTRIBUTES = """\
    ``n_features_in_`` : int
        The number of features seen in ``fit``.
    ``feature_names_in_`` : ndarray of str (one per feature)
        The column names, when ``X`` was a DataFrame with string column names.
    ``n_iter_`` : int
        The epochs of the last fit.
    ``loss_curve_`` : list of float
        The training loss of every epoch ``model_`` has trained.
    ``model_`` : chainrule.Model
        The trained network.
    """


class ChainruleClassifier(ClassifierMixin, _ChainruleEstimator):
    __doc__ = ("A multi-layer perceptron classifier: chainrule layers, a softmax output, "
               "cross-entropy.\n" + _ChainruleEstimator.__doc__.split("\n", 1)[1] + """
    Attributes
    ----------
    ``classes_`` : ndarray (n_classes,)
        The labels, in the order of the network's outputs.
""" + _FITTED_ATTRIBUTES)

    _multi_output = False
    _stratify = True

    def partial_fit(self, X, y, classes=None):
        """One epoch on ``X``, ``y``; ``classes`` (every label) is needed on the first call."""
        if not hasattr(self, "model_"):
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit "
                                 "(every label y can hold)")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={np.unique(classes).tolist()} differ from the first "
                             f"call's {self.classes_.tolist()}")
        return self._fit(X, y, incremental=True, classes=classes)

    def _encode_targets(self, y, first, incremental, classes):
        """Labels → class indices into ``classes_``."""
        check_classification_targets(y)
        found = np.unique(y)
        if first:
            self.classes_ = np.unique(classes) if incremental else found
            self._n_outputs = len(self.classes_)
        elif not incremental and not np.array_equal(found, self.classes_):
            raise ValueError(f"warm_start needs y to hold the classes of the previous fit "
                             f"{self.classes_.tolist()}; got {found.tolist()}")
        unknown = np.setdiff1d(found, self.classes_)
        if unknown.size:
            raise ValueError(f"y holds labels {unknown.tolist()} that are not in classes "
                             f"{self.classes_.tolist()}")
        return np.searchsorted(self.classes_, y)

    def _head(self):
        return nn.Softmax(), nn.CategoricalCrossentropy()

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``."""
        return self._outputs(X)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample (n_samples,)."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]


class ChainruleRegressor(RegressorMixin, _ChainruleEstimator):
    __doc__ = ("A multi-layer perceptron regressor: chainrule layers, a linear output, mean "
               "squared error.\n" + _ChainruleEstimator.__doc__.split("\n", 1)[1] + """
    Attributes
    ----------
    ``n_outputs_`` : int
        The number of targets (columns of ``y``).
""" + _FITTED_ATTRIBUTES)

    _multi_output = True
    _stratify = False

    def partial_fit(self, X, y):
        """One epoch on ``X``, ``y``, continuing from the previous call."""
        return self._fit(X, y, incremental=True)

    def _encode_targets(self, y, first, incremental, classes):
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        if first:
            self.n_outputs_ = self._n_outputs = targets.shape[1]
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(f"y must have {self.n_outputs_} column(s), as in the previous fit; "
                             f"got {targets.shape[1]}")
        return targets

    def _head(self):
        return nn.Linear(), nn.MeanSquaredError()

    def predict(self, X) -> np.ndarray:
        """Predictions (n_samples,), or (n_samples, n_outputs) for several targets."""
        outputs = self._outputs(X)
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

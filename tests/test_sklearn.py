"""The scikit-learn estimators: scikit-learn's own checks, Pipelines and searches, and the
promises of fit, partial_fit, warm_start, early stopping and pickling."""

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    parametrize_with_checks,
)

import chainrule as cr
from chainrule.sklearn import ChainruleClassifier, ChainruleRegressor

# Small and quick, so scikit-learn's ~55 checks per estimator take seconds.
QUICK = {"hidden_layer_sizes": (16,), "learning_rate": 0.01, "max_iter": 30, "random_state": 0}


@parametrize_with_checks([ChainruleClassifier(**QUICK), ChainruleRegressor(**QUICK)])
def test_scikit_learn_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [ChainruleClassifier(**QUICK), ChainruleRegressor(**QUICK)],
                         ids=["classifier", "regressor"])
def test_dataframe_column_names_consistency(estimator):
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])
    return centres[y] + rng.normal(size=(n, 2)), np.array(["a", "b", "c"])[y]


def fold_scores(X, y, random_state):
    """5-fold accuracies of StandardScaler + one hidden layer of 32, 100 epochs at most:
    chainrule's, then MLPClassifier's, on the same folds."""
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = []
    for estimator in (ChainruleClassifier, MLPClassifier):
        pipeline = make_pipeline(StandardScaler(), estimator(
            hidden_layer_sizes=(32,), max_iter=100, random_state=random_state))
        with warnings.catch_warnings():
            if estimator is MLPClassifier:  # it warns at max_iter; chainrule's must not
                warnings.simplefilter("ignore", ConvergenceWarning)
            scores.append(cross_val_score(pipeline, X, y, cv=folds))
    return scores


def test_pipeline_reaches_mlpclassifiers_accuracy_on_the_same_folds(cancer):
    ours, theirs = fold_scores(*cancer, random_state=0)
    assert ours.mean() >= theirs.mean() - 0.02
    assert ours.mean() > 0.95


@pytest.mark.parametrize("load", [load_iris, load_wine], ids=["iris", "wine"])
def test_small_tables_match_mlpclassifier_fold_by_fold(load):
    # Full-batch training from scikit-learn's initialisation (same random_state, same order of
    # draws) and the same Adam: the two land on the same predictions, fold by fold.
    ours, theirs = fold_scores(*load(return_X_y=True), random_state=3)
    assert np.abs(ours - theirs).max() <= 0.02


def test_grid_search_over_a_pipeline(cancer):
    X_train, X_test, y_train, y_test = train_test_split(*cancer, test_size=0.25,
                                                        stratify=cancer[1], random_state=0)
    pipeline = make_pipeline(StandardScaler(), ChainruleClassifier(max_iter=50, random_state=0))
    grid = {"chainruleclassifier__hidden_layer_sizes": [(8,), (32,)],
            "chainruleclassifier__alpha": [1e-4, 1.0]}
    search = GridSearchCV(pipeline, grid, cv=3).fit(X_train, y_train)
    assert set(search.best_params_) == set(grid)
    assert len(search.cv_results_["mean_test_score"]) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = GridSearchCV(make_pipeline(StandardScaler(), MLPClassifier(
            max_iter=50, random_state=0)), {key.replace("chainrule", "mlp"): values
                                            for key, values in grid.items()},
            cv=3).fit(X_train, y_train)
    assert search.best_score_ >= theirs.best_score_ - 0.02 and search.best_score_ > 0.9
    assert search.score(X_test, y_test) >= theirs.score(X_test, y_test) - 0.02
    model = search.best_estimator_[-1].model_
    assert isinstance(model, cr.Model)
    assert model.layers[0].n_neurons == search.best_params_[
        "chainruleclassifier__hidden_layer_sizes"][0]


def test_fitted_attributes_and_the_model_inside():
    X, y = blobs()
    clf = ChainruleClassifier(hidden_layer_sizes=(8, 4), activation="tanh", dropout=0.1,
                              learning_rate=0.05, max_iter=20, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])
    assert clf.n_features_in_ == 2 and clf.n_iter_ == len(clf.loss_curve_) == 20
    kinds = [type(layer).__name__ for layer in clf.model_.layers]
    assert kinds == ["Dense", "Tanh", "Dropout", "Dense", "Tanh", "Dropout", "Dense", "Softmax"]
    assert clf.model_.dtype == np.float32
    assert clf.loss_curve_ == clf.model_.history["loss"]
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, y) > 0.95


def test_no_hidden_layers_is_multinomial_logistic_regression():
    X, y = blobs()
    clf = ChainruleClassifier(hidden_layer_sizes=(), learning_rate=0.05, max_iter=50,
                              random_state=0).fit(X, y)
    assert [type(layer).__name__ for layer in clf.model_.layers] == ["Dense", "Softmax"]
    assert clf.score(X, y) > 0.95


def test_alpha_is_scaled_as_in_scikit_learns_mlp():
    X, y = blobs(n=100)
    clf = ChainruleClassifier(hidden_layer_sizes=(4,), alpha=0.5, batch_size=20, max_iter=1,
                              random_state=0).fit(X, y)
    # scikit-learn adds alpha·W/batch to the gradient; chainrule adds 2·λ·W.
    assert clf.model_.layers[0].weight_regularizer_l2 == pytest.approx(0.5 / (2 * 20))


def test_float64_on_request():
    X, y = blobs(n=50)
    clf = ChainruleClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype="float64",
                              random_state=0).fit(X, y)
    assert clf.model_.dtype == np.float64


def test_random_state_fixes_everything():
    X, y = blobs()
    params = {"hidden_layer_sizes": (8,), "dropout": 0.2, "batch_size": 32, "max_iter": 5}
    a = ChainruleClassifier(**params, random_state=1).fit(X, y).predict_proba(X)
    b = ChainruleClassifier(**params, random_state=1).fit(X, y).predict_proba(X)
    c = ChainruleClassifier(**params, random_state=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_partial_fit_epochs_equal_one_fit():
    X, y = blobs()
    params = {"hidden_layer_sizes": (8,), "batch_size": 32, "random_state": 3}
    whole = ChainruleClassifier(**params, max_iter=4).fit(X, y)
    parts = ChainruleClassifier(**params)
    for _ in range(4):
        parts.partial_fit(X, y, classes=["a", "b", "c"])
    assert parts.n_iter_ == 1
    assert parts.loss_curve_ == whole.loss_curve_
    np.testing.assert_array_equal(parts.predict_proba(X), whole.predict_proba(X))


def test_partial_fit_needs_the_classes_first():
    X, y = blobs()
    clf = ChainruleClassifier()
    with pytest.raises(ValueError, match="classes must be given"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y != "c"], y[y != "c"], classes=["a", "b", "c"])
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"labels.*'d'"):
        clf.partial_fit(X[:3], ["a", "b", "d"])
    with pytest.raises(ValueError, match="differ from the first call"):
        clf.partial_fit(X, y, classes=["a", "b"])


def test_warm_start_continues_training():
    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    y = y / y.std()
    params = {"hidden_layer_sizes": (16,), "batch_size": 50, "tol": 0.0, "random_state": 0}
    whole = ChainruleRegressor(**params, max_iter=6).fit(X, y)
    warm = ChainruleRegressor(**params, max_iter=3, warm_start=True).fit(X, y)
    model = warm.model_
    warm.fit(X, y)
    # It continued a copy of the network, which replaced the old one only once it succeeded.
    assert warm.n_iter_ == 3 and warm.model_.epoch == 6 and model.epoch == 3
    assert warm.loss_curve_ == whole.loss_curve_
    np.testing.assert_array_equal(warm.predict(X), whole.predict(X))
    warm.set_params(hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        warm.fit(X, y)


def test_without_early_stopping_the_training_loss_decides():
    X, y = blobs()
    clf = ChainruleClassifier(hidden_layer_sizes=(8,), max_iter=500, n_iter_no_change=3, tol=0.5,
                              random_state=0).fit(X, y)
    # A loss that never falls by 0.5 in an epoch: the first epoch, then 3 + 1 without.
    assert clf.n_iter_ == 5


class RecordingClassifier(ChainruleClassifier):
    """Keeps the held-out set, so that a test can look at it."""

    def _hold_out(self, X, targets, split_seed):
        X, targets, self.held_out_ = super()._hold_out(X, targets, split_seed)
        return X, targets, self.held_out_


def test_early_stopping_holds_out_a_stratified_set_and_keeps_the_best_weights(cancer):
    X = StandardScaler().fit_transform(cancer[0])
    y = cancer[1]
    params = {"hidden_layer_sizes": (64,), "learning_rate": 0.01, "max_iter": 300,
              "early_stopping": True, "validation_fraction": 0.2, "n_iter_no_change": 5,
              "tol": 0.0}
    clf = RecordingClassifier(**params, random_state=0).fit(X, y)
    X_val, y_val = clf.held_out_
    assert len(X_val) == np.ceil(0.2 * len(X))
    # Stratified: each class keeps its share of the data, to within one sample.
    np.testing.assert_allclose(np.bincount(y_val), 0.2 * np.bincount(y), atol=1)
    curve = clf.validation_loss_curve_
    best = int(np.argmin(curve))
    assert len(curve) == clf.n_iter_ == best + 1 + 6 < 300  # 5 + 1 epochs without improvement
    # The weights kept are the best epoch's: their validation loss is that epoch's.
    loss = clf.model_.evaluate(X_val, y_val, verbose=False)["loss"]
    assert loss == pytest.approx(curve[best], rel=1e-5)
    assert curve[-1] > curve[best]
    # The split is seeded by random_state.
    again = RecordingClassifier(**params, random_state=0).fit(X, y)
    other = RecordingClassifier(**params, random_state=1).fit(X, y)
    np.testing.assert_array_equal(again.held_out_[0], X_val)
    assert not np.array_equal(other.held_out_[0], X_val)


def test_regressor_fits_one_and_several_targets():
    X, y = make_regression(300, 4, n_targets=2, noise=0.1, random_state=0)
    y = y / y.std(axis=0)
    reg = ChainruleRegressor(hidden_layer_sizes=(32,), learning_rate=0.01, max_iter=200,
                             random_state=0).fit(X, y)
    assert reg.predict(X).shape == (300, 2) and reg.n_outputs_ == 2
    assert reg.score(X, y) > 0.99
    one = ChainruleRegressor(hidden_layer_sizes=(32,), learning_rate=0.01, max_iter=200,
                             random_state=0).fit(X, y[:, 0])
    assert one.predict(X).shape == (300,) and one.score(X, y[:, 0]) > 0.99
    assert isinstance(one.model_.layers[-1], cr.Linear)


def test_estimators_pickle_and_keep_training_identically():
    X, y = blobs()
    clf = ChainruleClassifier(hidden_layer_sizes=(8,), dropout=0.2, batch_size=32, max_iter=3,
                              random_state=0)
    clf.partial_fit(X, y, classes=["a", "b", "c"])
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    # Optimizer state, dropout and shuffling generators travel too: both continue alike.
    for estimator in (clf, copy):
        estimator.partial_fit(X, y)
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "adagrad"])
def test_every_optimizer_trains_and_pickles(optimizer):
    X, y = blobs()
    clf = ChainruleClassifier(hidden_layer_sizes=(8,), optimizer=optimizer, max_iter=30,
                              random_state=0, learning_rate=0.05)
    clf.fit(X, y)
    assert clf.score(X, y) > 0.9
    copy = pickle.loads(pickle.dumps(clf))
    assert type(copy.model_.optimizer) is type(clf.model_.optimizer)
    np.testing.assert_array_equal(copy.predict(X), clf.predict(X))


def test_verbose_prints_the_books_lines_and_quiet_prints_nothing(capsys):
    X, y = blobs(n=40)
    ChainruleClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
    ChainruleClassifier(hidden_layer_sizes=(4,), max_iter=2, verbose=True,
                        random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "epoch: 1" in out and "epoch: 2" in out and "epoch: 3" not in out
    assert "acc: " in out and "loss: " in out


def test_unfitted_estimator_refuses_to_predict():
    with pytest.raises(NotFittedError):
        ChainruleRegressor().predict(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("param", "value", "error", "match"),
    [
        pytest.param("hidden_layer_sizes", (8, 0), ValueError, "hidden_layer_sizes", id="zero"),
        pytest.param("hidden_layer_sizes", (8.5,), TypeError, "hidden_layer_sizes", id="float"),
        pytest.param("hidden_layer_sizes", "100", TypeError, "hidden_layer_sizes", id="string"),
        pytest.param("activation", "swish", ValueError, "activation must be one of",
                     id="activation"),
        pytest.param("optimizer", "lbfgs", ValueError, "optimizer must be one of",
                     id="optimizer"),
        pytest.param("learning_rate", 0.0, ValueError, "learning_rate", id="learning-rate"),
        pytest.param("batch_size", 0, ValueError, "batch_size", id="batch-size"),
        pytest.param("max_iter", 0, ValueError, "max_iter", id="max-iter"),
        pytest.param("alpha", -1.0, ValueError, "alpha", id="alpha"),
        pytest.param("dropout", 1.0, ValueError, "dropout", id="dropout"),
        pytest.param("validation_fraction", 0.0, ValueError, "validation_fraction",
                     id="validation-fraction"),
        pytest.param("n_iter_no_change", 0, ValueError, "n_iter_no_change", id="patience"),
        pytest.param("tol", float("nan"), ValueError, "tol", id="tol"),
        pytest.param("dtype", "float16", ValueError, "dtype must be one of", id="dtype"),
    ],
)
def test_bad_parameters_are_refused_by_fit_naming_them(param, value, error, match):
    X, y = blobs(n=20)
    clf = ChainruleClassifier(**{param: value})
    with pytest.raises(error, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "model_") and not hasattr(clf, "classes_")


def test_early_stopping_with_partial_fit_is_refused():
    X, y = blobs(n=20)
    with pytest.raises(ValueError, match="early_stopping"):
        ChainruleClassifier(early_stopping=True).partial_fit(X, y, classes=["a", "b", "c"])


OPTIMIZERS = {"sgd": lambda: cr.SGD(0.1, momentum=0.9), "adagrad": lambda: cr.Adagrad(0.1),
              "rmsprop": lambda: cr.RMSprop(0.01), "adam": lambda: cr.Adam(0.01)}
LOSSES = {"cce": cr.CategoricalCrossentropy, "bce": cr.BinaryCrossentropy,
          "mse": cr.MeanSquaredError, "mae": cr.MeanAbsoluteError}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_layer_loss_and_optimizer_pickles_mid_training(optimizer, loss):
    """joblib pickles what it sends to a worker: a model mid-training must come back able
    to continue exactly as the original does (parameters, optimizer state, generators)."""
    optimizer, loss = OPTIMIZERS[optimizer](), LOSSES[loss]()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    head = {"CategoricalCrossentropy": cr.Softmax, "BinaryCrossentropy": cr.Sigmoid}.get(
        type(loss).__name__, cr.Linear)()
    if isinstance(loss, cr.CategoricalCrossentropy):
        y = rng.integers(0, 3, 64)
    elif isinstance(loss, cr.BinaryCrossentropy):
        y = rng.integers(0, 2, (64, 3))
    else:
        y = rng.normal(size=(64, 3))
    model = cr.Model([cr.Dense(4, 8, rng=rng), cr.ReLU(), cr.Dense(8, 8, rng=rng),
                      cr.LeakyReLU(0.1), cr.Dropout(0.2, rng=1), cr.Dense(8, 8, rng=rng),
                      cr.Tanh(), cr.Dense(8, 8, rng=rng), cr.Sigmoid(), cr.Dense(8, 3, rng=rng),
                      head])
    model.set(loss=loss, optimizer=optimizer)
    model.train(X, y, epochs=2, batch_size=16, print_every=None, progress=False, rng=2)
    copy = pickle.loads(pickle.dumps(model))
    for each in (model, copy):
        each.train(X, y, epochs=2, batch_size=16, print_every=None, progress=False)
    assert copy.history == model.history and len(model.history["loss"]) == 4
    for ours, theirs in zip(copy.get_parameters(), model.get_parameters(), strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_trained_model_saves_as_a_chainrule_file(tmp_path):
    X, y = blobs()
    clf = ChainruleClassifier(hidden_layer_sizes=(8,), dropout=0.1, max_iter=5,
                              random_state=0).fit(X, y)
    clf.model_.save(tmp_path / "clf.chainrule")
    loaded = cr.Model.load(tmp_path / "clf.chainrule")
    np.testing.assert_array_equal(loaded.predict(X.astype(np.float32)), clf.model_.predict(X))
    np.testing.assert_array_equal(clf.classes_[loaded.predict(X).argmax(axis=1)], clf.predict(X))


# -- a failed fit leaves the estimator as it was -------------------------------------------------


def fitted_state(estimator) -> dict:
    """Every attribute fit sets (learned ones end in ``_``; private ones start with it), as
    bytes: the network, its optimizer state and its random streams included."""
    return {name: pickle.dumps(value) for name, value in vars(estimator).items()
            if name.endswith("_") or name.startswith("_")}


def diverging(estimator):
    return estimator.set_params(optimizer="sgd", learning_rate=1e30)


FRAME_NAMES = ["u", "v", "w", "x"]


def frame(X):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=FRAME_NAMES[:X.shape[1]])


X4 = np.random.default_rng(9).normal(size=(40, 4))
CLASSIFIER_FAILURES = {
    "strings-in-X": (lambda e: e, lambda X, y: (X.astype(str).astype(object) + "x", y),
                     ValueError),
    "nan-in-X": (lambda e: e, lambda X, y: (np.where(X > 2, np.nan, X), y), ValueError),
    "continuous-y": (lambda e: e, lambda X, y: (X4, X4[:, 0]), ValueError),
    "y-too-short": (lambda e: e, lambda X, y: (frame(X4), y[:39]), ValueError),
    # (warm_start refuses new labels before training)
    "new-labels-diverging": (diverging, lambda X, y: (X4 * 1e30, np.array(["p", "q"] * 20)),
                             (cr.TrainingDiverged, ValueError)),
    "diverging": (diverging, lambda X, y: (X * 1e30, y), cr.TrainingDiverged),
    "one-class-warm": (lambda e: e.set_params(warm_start=True),
                       lambda X, y: (X, np.full(len(y), "a")), ValueError),
    "early-stopping-class-of-one": (lambda e: e.set_params(early_stopping=True),
                                    lambda X, y: (X, np.r_[y[:-1], ["z"]]), ValueError),
    "early-stopping-too-few": (lambda e: e.set_params(early_stopping=True),
                               lambda X, y: (X[:5], y[:5]), ValueError),
}


@pytest.mark.parametrize("warm_start", [False, True], ids=["fresh", "warm"])
@pytest.mark.parametrize("failure", list(CLASSIFIER_FAILURES))
def test_a_classifier_refit_that_fails_leaves_every_fitted_attribute_as_it_was(failure,
                                                                              warm_start):
    change, data, error = CLASSIFIER_FAILURES[failure]
    X, y = blobs(n=120)
    clf = ChainruleClassifier(hidden_layer_sizes=(8,), max_iter=5, warm_start=warm_start,
                              random_state=0).fit(X, y)
    predictions = clf.predict_proba(X)  # first: a forward pass keeps its inputs and outputs
    before, model = fitted_state(clf), clf.model_
    change(clf)
    with pytest.raises(error), warnings.catch_warnings():
        # (a warm refit on a DataFrame first warns that the fit had no column names)
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(*data(X, y))
    assert fitted_state(clf) == before and clf.model_ is model
    # Predictions are the old network's, with the old labels.
    clf.set_params(optimizer="adam", learning_rate=0.001, early_stopping=False)
    np.testing.assert_array_equal(clf.predict_proba(X), predictions)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[predictions.argmax(axis=1)])
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])


REGRESSOR_FAILURES = {
    "nan-in-X": (lambda e: e, lambda X, y: (np.where(X > 2, np.nan, X), y), ValueError),
    "inf-in-y": (lambda e: e, lambda X, y: (X4, np.r_[np.inf, X4[1:, 0]]), ValueError),
    "y-2d-warm-mismatch": (lambda e: e.set_params(warm_start=True),
                           lambda X, y: (X, np.c_[y, y]), ValueError),
    "x-width-warm": (lambda e: e.set_params(warm_start=True), lambda X, y: (X4[:, :3],
                                                                            X4[:, 0]),
                     ValueError),
    "diverging": (lambda e: e.set_params(optimizer="sgd", learning_rate=1e10),
                  lambda X, y: (X * 1e30, y), cr.TrainingDiverged),
    "early-stopping-too-few": (lambda e: e.set_params(early_stopping=True),
                               lambda X, y: (X[:3], y[:3]), ValueError),
}


@pytest.mark.parametrize("failure", list(REGRESSOR_FAILURES))
def test_a_regressor_refit_that_fails_leaves_every_fitted_attribute_as_it_was(failure):
    change, data, error = REGRESSOR_FAILURES[failure]
    X, y = make_regression(80, 2, noise=0.1, random_state=0)
    reg = ChainruleRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    predictions = reg.predict(X)
    before, model = fitted_state(reg), reg.model_
    change(reg)
    with pytest.raises(error):
        reg.fit(*data(X, y))
    assert fitted_state(reg) == before and reg.model_ is model
    np.testing.assert_array_equal(reg.predict(X), predictions)


@pytest.mark.parametrize("make, data, error", [
    pytest.param(lambda: ChainruleClassifier(hidden_layer_sizes=(8,), random_state=0),
                 lambda X, y: (X[:4], ["a", "b", "zz", "a"]), ValueError,
                 id="classifier-unknown-label"),
    pytest.param(lambda: diverging(ChainruleClassifier(hidden_layer_sizes=(8,),
                                                       random_state=0)),
                 lambda X, y: (X * 1e30, y), cr.TrainingDiverged, id="classifier-diverging"),
    pytest.param(lambda: ChainruleRegressor(hidden_layer_sizes=(8,), random_state=0),
                 lambda X, y: (X[:, :1], y), ValueError, id="regressor-x-width"),
    pytest.param(lambda: ChainruleRegressor(hidden_layer_sizes=(8,), optimizer="sgd",
                                            learning_rate=1e10, random_state=0),
                 lambda X, y: (X * 1e30, y), cr.TrainingDiverged, id="regressor-diverging"),
])
def test_a_partial_fit_that_fails_leaves_every_fitted_attribute_as_it_was(make, data, error):
    X, labels = blobs(n=60)
    estimator = make()
    classifier = isinstance(estimator, ChainruleClassifier)
    y = labels if classifier else X[:, 0] - X[:, 1]
    lr = estimator.learning_rate
    estimator.set_params(learning_rate=0.001)
    for _ in range(2):
        if classifier:
            estimator.partial_fit(X, y, classes=["a", "b", "c"])
        else:
            estimator.partial_fit(X, y)
    estimator.set_params(learning_rate=lr)
    outputs = estimator.predict(X)
    before, model = fitted_state(estimator), estimator.model_
    with pytest.raises(error):
        estimator.partial_fit(*data(X, y))
    assert fitted_state(estimator) == before and estimator.model_ is model
    np.testing.assert_array_equal(estimator.predict(X), outputs)


@pytest.mark.parametrize("counts, fraction, match", [
    pytest.param({"a": 30, "b": 30, "c": 1}, 0.1, r"class 'c' has 1 sample", id="class-of-one"),
    pytest.param({"a": 3, "b": 3, "c": 3, "d": 3}, 0.1,
                 r"holds out 2 of 12 samples, fewer than the 4 classes",
                 id="fewer-held-out-than-classes"),
    pytest.param({"a": 3, "b": 3, "c": 3}, 0.1, r"holds out 1 of 9 samples, too few",
                 id="one-held-out"),
    pytest.param({"a": 2, "b": 2}, 0.9, r"leaves 0 of 4 samples to train on",
                 id="nothing-left-to-train"),
    pytest.param({"a": 3, "b": 3, "c": 3}, 0.85, r"leaves 1 of 9 samples to train on.*3 classes",
                 id="fewer-trained-than-classes"),
])
def test_early_stopping_refuses_a_split_it_cannot_make_in_its_own_words(counts, fraction,
                                                                        match):
    y = np.repeat(list(counts), list(counts.values()))
    X = np.random.default_rng(0).normal(size=(len(y), 2))
    clf = ChainruleClassifier(early_stopping=True, validation_fraction=fraction)
    with pytest.raises(ValueError, match=match) as refused:
        clf.fit(X, y)
    assert "validation_fraction" in str(refused.value)
    assert not hasattr(clf, "model_") and not hasattr(clf, "classes_")
    assert not hasattr(clf, "n_features_in_")

"""The playground without a server or a browser: settings, sessions, frames and the script."""

import base64
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from chainrule import Model, TrainingDiverged
from chainrule.playground import Session, frames, recipe
from chainrule.playground.messages import MAX_MESSAGE, parse_message
from chainrule.playground.settings import DEFAULTS, FEATURES, check_settings

# Small and quick to train; the defaults are for people, these for tests.
QUICK = {"samples": 60, "layers": [6, 6], "grid": 32}


def decoded(blob: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(blob), dtype=dtype)


def assert_json(message: dict) -> dict:
    """The message as the page gets it: strict JSON (no NaN), and back."""
    return json.loads(json.dumps(message, allow_nan=False))


@pytest.fixture(scope="module")
def trained():
    session = Session(QUICK)
    session.train(60)
    return session


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, error, field",
    [
        pytest.param({"neurons": 4}, ValueError, "neurons", id="unknown-field"),
        pytest.param({"layers": [10**6]}, ValueError, "layers[0]", id="a-million-neurons"),
        pytest.param({"layers": [4] * 7}, ValueError, "layers", id="seven-layers"),
        pytest.param({"layers": [0]}, ValueError, "layers[0]", id="empty-layer"),
        pytest.param({"layers": "8,8"}, ValueError, "layers", id="layers-as-text"),
        pytest.param({"learning_rate": -0.1}, ValueError, "learning_rate", id="negative-rate"),
        pytest.param({"learning_rate": 0}, ValueError, "learning_rate", id="zero-rate"),
        pytest.param({"learning_rate": math.nan}, ValueError, "learning_rate", id="nan-rate"),
        pytest.param({"learning_rate": math.inf}, ValueError, "learning_rate", id="inf-rate"),
        pytest.param({"learning_rate": None}, TypeError, "learning_rate", id="null-rate"),
        pytest.param({"learning_rate": "0.1"}, TypeError, "learning_rate", id="text-rate"),
        pytest.param({"batch_size": 10**9}, ValueError, "batch_size", id="huge-batch"),
        pytest.param({"batch_size": 2.5}, TypeError, "batch_size", id="fractional-batch"),
        pytest.param({"batch_size": True}, TypeError, "batch_size", id="bool-batch"),
        pytest.param({"grid": 4096}, ValueError, "grid", id="huge-grid"),
        pytest.param({"samples": 10**7}, ValueError, "samples", id="huge-samples"),
        pytest.param({"epochs_per_frame": 10**6}, ValueError, "epochs_per_frame", id="epochs"),
        pytest.param({"dataset": "mnist"}, ValueError, "dataset", id="unknown-dataset"),
        pytest.param({"activation": ["relu"]}, ValueError, "activation", id="list-activation"),
        pytest.param({"features": []}, TypeError, "features", id="no-features"),
        pytest.param({"features": ["x3"]}, ValueError, "features", id="unknown-feature"),
        pytest.param({"features": ["x1", "x1"]}, ValueError, "features", id="repeated-feature"),
        pytest.param({"noise": -1}, ValueError, "noise", id="negative-noise"),
        pytest.param({"dropout": 0.95}, ValueError, "dropout", id="dropout-too-high"),
        pytest.param({"regularization_rate": 2.0}, ValueError, "regularization_rate", id="l2"),
        pytest.param({"seed": -1}, ValueError, "seed", id="negative-seed"),
        pytest.param({"classes": 50}, ValueError, "classes", id="fifty-classes"),
        pytest.param([1, 2], TypeError, "settings", id="not-an-object"),
    ],
)
def test_bad_settings_are_refused_by_name_and_change_nothing(trained, changes, error, field):
    before = (dict(trained.settings), trained.model.get_parameters(), trained.epoch)
    with pytest.raises(error, match=field.replace("[", r"\[").replace("]", r"\]")):
        trained.update(changes)
    assert trained.settings == before[0]
    assert trained.epoch == before[2]
    for now, then in zip(trained.model.get_parameters(), before[1], strict=True):
        np.testing.assert_array_equal(now[0], then[0])


def test_check_settings_returns_a_new_dict_in_a_fixed_feature_order():
    settings = check_settings({"features": ["sinx2", "x1"], "layers": [3]}, DEFAULTS)
    assert settings["features"] == ["x1", "sinx2"]
    assert DEFAULTS["layers"] == [8, 8, 8]  # untouched


def test_sine_takes_only_features_of_x1():
    session = Session({**QUICK, "dataset": "sine", "features": ["x1", "x2", "sinx1"]})
    assert session.feature_keys == ["x1", "sinx1"]
    assert session.network()["sizes"][0] == 2
    with pytest.raises(ValueError, match="sine data must include one of"):
        session.update({"features": ["x2", "x1x2"]})
    assert session.feature_keys == ["x1", "sinx1"]


def test_what_a_change_renews():
    session = Session(QUICK)
    session.train(3)
    weights = session.model.layers[0].weights.copy()
    assert session.update({"learning_rate": 0.05, "batch_size": 7}) == "live"
    assert session.model.optimizer.learning_rate == 0.05
    assert session.model.optimizer.current_learning_rate == 0.05
    assert session.epoch == 3
    np.testing.assert_array_equal(session.model.layers[0].weights, weights)
    session.train(1)
    assert session.epoch == 4 and session.model.history["lr"][-1] == 0.05
    assert session.update({"layers": [5]}) == "model"
    assert session.epoch == 0 and session.network()["sizes"] == [2, 5, 3]
    points = session.points_train.copy()
    assert session.update({"noise": 0.1}) == "data"
    assert not np.array_equal(points, session.points_train)
    session.regenerate()
    assert session.settings["seed"] == 1


# -- data, network and frames ---------------------------------------------------------------


def test_network_message_describes_data_and_picture():
    session = Session()
    network = assert_json(session.network())
    assert network["sizes"] == [2, 8, 8, 8, 3]
    assert network["dense_layers"] == [0, 2, 4, 6]
    assert [f["label"] for f in network["features"]] == ["x₁", "x₂"]
    assert len(network["train"]["x"]) == 420 and len(network["test"]["x"]) == 180
    x_min, x_max, y_min, y_max = network["domain"]
    assert x_max - x_min == pytest.approx(y_max - y_min)
    for part in ("train", "test"):
        assert x_min < min(network[part]["x"]) and max(network[part]["x"]) < x_max
        assert y_min < min(network[part]["y"]) and max(network[part]["y"]) < y_max
    assert set(network["train"]["label"]) == {0, 1, 2}


def test_frame_holds_the_boundary_every_neuron_and_the_weights(trained):
    frame = assert_json(trained.frame())
    grid = QUICK["grid"]
    probabilities = decoded(frame["boundary"]["data"], np.uint8).reshape(grid * grid, 3)
    # Each cell's softmax sums to 1 (255 after rounding each of 3 classes).
    assert np.all(np.abs(probabilities.astype(int).sum(axis=1) - 255) <= 2)
    assert len(frame["maps"]) == 3  # two hidden layers and the output
    for maps, width in zip(frame["maps"], [6, 6, 3], strict=True):
        values = decoded(maps["data"], np.int8).reshape(width, grid, grid)
        assert maps["size"] == grid and len(maps["scales"]) == width
        # Each map is scaled to its largest magnitude (a dead ReLU's map is all 0).
        largest = np.abs(values).max(axis=(1, 2))
        np.testing.assert_array_equal(largest, np.where(np.array(maps["scales"]) > 0, 127, 0))
    np.testing.assert_allclose(frame["weights"][1], trained.model.layers[2].weights, rtol=1e-5)
    assert frame["epoch"] == trained.epoch
    assert 0 <= frame["test_accuracy"] <= 1


def test_the_boundary_is_the_networks_prediction_on_the_grid(trained):
    frame = trained.frame()
    grid = QUICK["grid"]
    points = frames.grid_points(trained.domain, grid, one_dimensional=False)
    expected = trained.model.predict(recipe.features(points, trained.feature_keys))
    got = decoded(frame["boundary"]["data"], np.uint8).reshape(-1, 3) / 255
    np.testing.assert_allclose(got, expected, atol=0.5 / 255 + 1e-9)
    # The top-left cell is the grid's first: smallest x, largest y.
    assert points[0, 0] < points[1, 0] and points[0, 1] > points[grid, 1]


def test_regression_frame_is_a_curve():
    session = Session({**QUICK, "dataset": "sine", "features": ["x1"]})
    frame = assert_json(session.step())
    assert len(frame["curve"]) == QUICK["grid"] * frames.CURVE_PER_GRID
    # A regression has no accuracy: its figure is R² (tests/test_playground_lesson.py).
    assert "train_accuracy" not in frame and "boundary" not in frame
    assert frame["train_r2"] is not None
    assert session.network()["task"] == "regression"


def test_training_lowers_the_test_loss_on_the_spiral():
    session = Session()  # the page's defaults: the book's spiral, 2-8-8-8-3, ReLU, Adam
    first = session.scores()["test_loss"]
    session.train(150)
    scores = session.scores()
    assert first > 1.0  # about log 3 before training
    assert scores["test_loss"] < 0.5, scores
    assert scores["test_accuracy"] > 0.85, scores


def test_same_settings_same_frames():
    a, b = Session(QUICK), Session(QUICK)
    for _ in range(3):
        assert a.step() == b.step()
    a.reset()
    b.reset()
    assert a.frame() == b.frame()


def test_a_diverging_network_raises_and_still_draws():
    session = Session({**QUICK, "dataset": "sine", "features": ["x1", "x1sq"],
                       "activation": "linear", "optimizer": "sgd", "learning_rate": 10.0,
                       "layers": [8, 8], "batch_size": 1})
    with pytest.raises(TrainingDiverged, match="diverged"):
        session.train(50)
    for layer_weights, _ in session.model.get_parameters():
        assert np.isfinite(layer_weights).all()
    assert_json(session.frame())  # no NaN reaches the page


# -- looking inside -------------------------------------------------------------------------


def test_explain_a_weight_and_a_bias(trained):
    explanation = assert_json(trained.explain(2, "weights", [3, 1]))  # the output layer
    assert explanation["relative_error"] < 1e-6
    assert explanation["value"] == pytest.approx(explanation["numerical"], rel=1e-6)
    assert explanation["layer"] == 4 and explanation["dense"] == 2
    assert explanation["steps"][-1]["result"] == "∂L/∂W4[3, 1]"
    assert "numerical check" in explanation["text"]
    bias = trained.explain(0, "biases", [0, 2])
    assert bias["steps"][-1]["result"].startswith("∂L/∂b0[2]")


def test_looking_inside_does_not_change_the_training_to_come():
    """Explaining draws dropout masks on a copy: the session trains on as if never asked."""
    settings = {**QUICK, "dropout": 0.3}
    looked, untouched = Session(settings), Session(settings)
    looked.train(2)
    untouched.train(2)
    looked.explain(1, "weights", [0, 0])
    looked.neuron(0, 1)
    looked.train(3)
    untouched.train(3)
    for a, b in zip(looked.model.get_parameters(), untouched.model.get_parameters(),
                    strict=True):
        np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize(
    "args, match",
    [
        pytest.param((3, "weights", [0, 0]), "layer must be", id="no-such-layer"),
        pytest.param((-1, "weights", [0, 0]), "layer must be", id="negative-layer"),
        pytest.param((True, "weights", [0, 0]), "layer must be", id="bool-layer"),
        pytest.param((0, "dweights", [0, 0]), "param must be", id="bad-param"),
        pytest.param((0, "weights", [2, 0]), "index must be", id="row-outside"),
        pytest.param((0, "weights", [0, -1]), "index must be", id="negative-column"),
        pytest.param((0, "biases", [1, 0]), "index must be", id="bias-row"),
        pytest.param((0, "weights", [0]), "index must be", id="short-index"),
        pytest.param((0, "weights", "0,0"), "index must be", id="text-index"),
        pytest.param((0, "weights", [0.0, 1]), "index must be", id="float-index"),
    ],
)
def test_explain_refuses_what_is_not_a_parameter(trained, args, match):
    with pytest.raises(ValueError, match=match):
        trained.explain(*args)


def test_neuron_gradient_agrees_with_the_layers_own(trained):
    info = assert_json(trained.neuron(1, 4))
    assert info["model_layer"] == 2 and len(info["weights"]) == 6
    # Without regularization ∂L/∂b is the sum of ∂L/∂z over the points.
    assert info["dz_sum"] == pytest.approx(info["dbias"], rel=1e-9, abs=1e-15)
    for i in (0, 5):
        explained = trained.explain(1, "weights", [i, 4])
        assert info["dweights"][i] == pytest.approx(explained["value"], rel=1e-5, abs=1e-12)
    with pytest.raises(ValueError, match="neuron must be"):
        trained.neuron(1, 6)


def test_model_file_loads_as_the_same_network(trained, tmp_path):
    path = tmp_path / "download.chainrule"
    path.write_bytes(trained.model_file())
    loaded = Model.load(path)
    np.testing.assert_array_equal(loaded.predict(trained.X_test), trained.model.predict(
        trained.X_test))


# -- the script behind "show code" ----------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({**QUICK, "dataset": "circle", "noise": 0.1, "dropout": 0.2,
                      "regularization": "l2", "regularization_rate": 0.001,
                      "features": ["x1", "x2", "x1sq", "x1x2", "sinx2"],
                      "optimizer": "momentum", "learning_rate": 0.1}, id="circle"),
        pytest.param({**QUICK, "dataset": "vertical", "classes": 4, "noise": 0.05,
                      "regularization": "l1", "regularization_rate": 0.0001,
                      "activation": "leaky_relu", "optimizer": "rmsprop",
                      "features": ["x1", "x2", "x2sq", "sinx1"]}, id="vertical"),
        pytest.param({**QUICK, "dataset": "sine", "noise": 0.05, "activation": "tanh",
                      "optimizer": "adagrad", "learning_rate": 0.1,
                      "features": ["x1", "x1sq", "sinx1"]}, id="sine"),
        pytest.param({**QUICK, "dataset": "xor", "layers": [], "activation": "sigmoid",
                      "optimizer": "sgd", "learning_rate": 0.5}, id="xor-no-hidden"),
    ],
)
def test_show_code_reproduces_the_network(settings, tmp_path):
    session = Session(settings)
    session.train(12)
    (tmp_path / "script.py").write_text(session.code(), encoding="utf-8")
    result = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.split("train loss: ")[1]
    train_loss = float(printed.split(",")[0])
    test_loss = float(printed.split("test loss: ")[1].split()[0])
    scores = session.scores()
    assert train_loss == pytest.approx(scores["train_loss"], rel=1e-5)
    assert test_loss == pytest.approx(scores["test_loss"], rel=1e-5)
    # The very same network: every parameter, from the file the script saved.
    saved = Model.load(tmp_path / "playground.chainrule")
    for ours, theirs in zip(session.model.get_parameters(), saved.get_parameters(), strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_feature_functions_compute_what_the_script_writes():
    X = np.random.default_rng(0).uniform(-1, 1, size=(20, 2))
    for key, (_, expression) in FEATURES.items():
        written = eval(expression, {"np": np, "X": X})
        np.testing.assert_array_equal(recipe.FEATURE_FUNCTIONS[key](X), written)


# -- small pieces ---------------------------------------------------------------------------


def test_numbers_round_and_drop_what_json_cannot_hold():
    assert frames.numbers([1 / 3, math.nan, math.inf, -2.0]) == [0.333333, None, None, -2.0]
    assert frames.numbers(np.eye(2)) == [[1.0, 0.0], [0.0, 1.0]]
    assert frames.finite(np.float32(2.5)) == 2.5 and frames.finite(math.nan) is None


def test_node_maps_scale_each_map_by_its_largest_magnitude():
    values = np.zeros((16, 2))
    values[:, 0] = np.linspace(-2, 1, 16)
    maps = frames.node_maps(values, 4, one_dimensional=False)
    data = decoded(maps["data"], np.int8).reshape(2, 4, 4)
    assert maps["scales"] == [2.0, 0.0]
    assert data[0, 0, 0] == -127 and data[0, 3, 3] == round(1 / 2 * 127)
    assert np.all(data[1] == 0)


@pytest.mark.parametrize(
    "text, match",
    [
        pytest.param("{", "not valid JSON", id="bad-json"),
        pytest.param('{"type": "play", "extra": 1}', "unknown field", id="extra-field"),
        pytest.param('{"type": "explain", "layer": 0}', "missing field", id="missing-field"),
        pytest.param('{"type": "fly"}', "type must be one of", id="unknown-type"),
        pytest.param('{"type": "settings", "settings": NaN}', "not valid JSON", id="nan"),
        pytest.param("[" * 100_000, "too long", id="too-long"),
        pytest.param("[" * 5000 + "]" * 5000, "nested too deeply|not valid", id="deep"),
    ],
)
def test_parse_message_refuses(text, match):
    with pytest.raises(ValueError, match=match):
        parse_message(text)


def test_parse_message_refuses_non_objects_and_binary():
    for text in ("[1]", "3", "null", '"play"'):
        with pytest.raises(TypeError, match="JSON object"):
            parse_message(text)
    with pytest.raises(TypeError, match="binary"):
        parse_message(b'{"type": "play"}')
    assert parse_message('{"type": "ack"}') == {"type": "ack"}
    assert len('{"type": "ack"}') < MAX_MESSAGE

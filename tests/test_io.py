import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import Adam, CategoricalCrossentropy, Dense, Dropout, Model, ReLU, Softmax
from chainrule.datasets import spiral_data


def trained_model(epochs=3):
    model = Model([Dense(2, 8, init="he", rng=0, weight_regularizer_l2=1e-4), ReLU(),
                   Dropout(0.1, rng=1), Dense(8, 3, rng=2), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01, decay=1e-3))
    X, y = spiral_data(20, 3, rng=0)
    model.train(X, y, epochs=epochs, batch_size=16, rng=5, print_every=None)
    return model, X, y


def test_model_round_trip(tmp_path):
    model, X, y = trained_model()
    path = tmp_path / "spiral.model"
    model.save(path)
    loaded = Model.load(path)
    assert repr(loaded) == repr(model)
    for a, b in zip(loaded.get_parameters(), model.get_parameters(), strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert a[0].dtype == np.float32
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y, verbose=False) == model.evaluate(X, y, verbose=False)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.optimizer.current_learning_rate == model.optimizer.current_learning_rate
    assert loaded.history == model.history
    assert loaded.layers[0].weight_regularizer_l2 == 1e-4


def test_saving_twice_gives_identical_bytes(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "a")
    model.save(tmp_path / "b")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_the_format_is_a_zip_of_json_and_npy(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m") as archive:
        header = json.loads(archive.read("chainrule.json"))
        names = archive.namelist()
    assert header["format"] == "chainrule" and header["version"] == 1
    assert header["kind"] == "model"
    assert header["layers"][0] == {"class": "Dense", "config": {
        "n_inputs": 2, "n_neurons": 8, "init": "he", "weight_regularizer_l1": 0.0,
        "weight_regularizer_l2": 1e-4, "bias_regularizer_l1": 0.0, "bias_regularizer_l2": 0.0,
        "dtype": "float32"}}
    assert "arrays/layers/0/weights.npy" in names
    assert "arrays/optimizer/3/biases/cache.npy" in names


def test_parameters_round_trip_into_a_fresh_model(tmp_path):
    model, X, _ = trained_model()
    model.save_parameters(tmp_path / "p")
    fresh = Model([Dense(2, 8), ReLU(), Dropout(0.1), Dense(8, 3), Softmax()])
    fresh.load_parameters(tmp_path / "p")
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
    with pytest.raises(cr.ModelFileError, match="parameters only"):
        Model.load(tmp_path / "p")
    small = Model([Dense(2, 4), ReLU(), Dense(4, 3), Softmax()])
    with pytest.raises(ValueError, match="shape"):
        small.load_parameters(tmp_path / "p")


class Payload:
    def __reduce__(self):
        return (os.system, ("touch PICKLE_RAN",))


def test_a_pickle_payload_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.model").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(cr.ModelFileError, match="never reads pickles"):
        Model.load("evil.model")
    # The same payload as an object array inside an otherwise valid file.
    model, _, _ = trained_model()
    model.save("good.model")
    buffer = io.BytesIO()
    np.save(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
    rewrite_member("good.model", "arrays/layers/0/weights.npy", buffer.getvalue())
    with pytest.raises(cr.ModelFileError, match="dtype"):
        Model.load("good.model")
    assert not (tmp_path / "PICKLE_RAN").exists()


def rewrite_member(path, member, data):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)


@pytest.mark.parametrize(
    "damage, message",
    [
        pytest.param(lambda b: b[: len(b) // 2], "not a valid", id="truncated"),
        pytest.param(lambda b: b"", "ZIP", id="empty"),
        pytest.param(lambda b: b"hello world", "ZIP", id="text"),
        pytest.param(lambda b: b[:200] + bytes([b[200] ^ 0xFF]) + b[201:], "chainrule",
                     id="bit-flip"),
    ],
)
def test_damaged_files_raise_model_file_error(tmp_path, damage, message):
    model, _, _ = trained_model()
    path = tmp_path / "m"
    model.save(path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(cr.ModelFileError, match=message):
        Model.load(path)


def test_foreign_archives_are_refused(tmp_path):
    np.savez(tmp_path / "numpy.npz", weights=np.ones(3))
    with pytest.raises(cr.ModelFileError, match=r"compressed|missing chainrule\.json"):
        Model.load(tmp_path / "numpy.npz")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("chainrule.json", json.dumps({"format": "something-else"}))
    with pytest.raises(cr.ModelFileError, match="format"):
        Model.load(tmp_path / "other.zip")


def test_a_huge_declared_shape_is_refused_before_allocating(tmp_path):
    model, _, _ = trained_model()
    path = tmp_path / "m"
    model.save(path)
    header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 8), np.float32))
    header["shape"] = (2**40, 2**20)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    rewrite_member(path, "arrays/layers/0/weights.npy", buffer.getvalue() + b"\0" * 64)
    with pytest.raises(cr.ModelFileError, match="declares shape"):
        Model.load(path)


def saved_with_header_edit(tmp_path, edit):
    """A saved model whose chainrule.json was changed by ``edit(header)``."""
    model, _, _ = trained_model()
    path = tmp_path / "m"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("chainrule.json"))
    edit(header)
    rewrite_member(path, "chainrule.json", json.dumps(header).encode())
    return path


def test_a_huge_layer_config_is_refused_before_allocating(tmp_path):
    path = saved_with_header_edit(
        tmp_path, lambda h: h["layers"][0]["config"].update(n_neurons=10**9))
    with pytest.raises(cr.ModelFileError, match="expected a float array of shape"):
        Model.load(path)


def test_unknown_layer_class_is_refused(tmp_path):
    path = saved_with_header_edit(tmp_path, lambda h: h["layers"][1].update({"class": "os.system"}))
    with pytest.raises(cr.ModelFileError, match=r"unknown layer class 'os\.system'"):
        Model.load(path)


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path, monkeypatch):
    model, _, _ = trained_model()
    path = tmp_path / "m"
    model.save(path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", fail)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m"]


def test_loading_does_not_touch_the_global_random_state(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    np.random.seed(4)
    expected = np.random.rand()
    np.random.seed(4)
    Model.load(tmp_path / "m")
    assert np.random.rand() == expected


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        Model.load(tmp_path / "nothing-here")


def test_model_file_error_is_a_value_error():
    assert issubclass(cr.ModelFileError, ValueError)

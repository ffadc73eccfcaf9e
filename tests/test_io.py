import io
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import (
    SGD,
    Adam,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    Linear,
    MeanSquaredError,
    Model,
    ReLU,
    Softmax,
)
from chainrule.datasets import spiral_data


def trained_model(epochs=3):
    model = Model([Dense(2, 8, init="he", rng=0, weight_regularizer_l2=1e-4), ReLU(),
                   Dropout(0.1, rng=1), Dense(8, 3, rng=2), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01, decay=1e-3))
    X, y = spiral_data(20, 3, rng=0)
    model.train(X, y, epochs=epochs, batch_size=16, rng=5, print_every=None)
    return model, X, y


def refused_within(path, message) -> int:
    """Load ``path``, expecting a ``ModelFileError`` matching ``message``; the peak bytes
    allocated on the way (a refusal must not read what it refuses)."""
    tracemalloc.start()
    try:
        with pytest.raises(cr.ModelFileError, match=message):
            Model.load(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_same_parameters(a: Model, b) -> None:
    """``a``'s parameters equal ``b``'s (a Model, or a list as get_parameters returns)."""
    expected = b.get_parameters() if isinstance(b, Model) else b
    for pa, pb in zip(a.get_parameters(), expected, strict=True):
        for x, y in zip(pa, pb, strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)


def test_model_round_trip(tmp_path):
    model, X, y = trained_model()
    path = tmp_path / "spiral.model"
    model.save(path)
    loaded = Model.load(path)
    assert repr(loaded) == repr(model)
    assert_same_parameters(loaded, model)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y, verbose=False) == model.evaluate(X, y, verbose=False)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.optimizer.current_learning_rate == model.optimizer.current_learning_rate
    for layer, original in zip(loaded.layers, model.layers, strict=True):
        for name in layer.params:
            saved = model.optimizer.get_state(original, name)
            restored = loaded.optimizer.get_state(layer, name)
            assert sorted(saved) == sorted(restored) == ["cache", "momentums"]
            for slot in saved:
                np.testing.assert_array_equal(restored[slot], saved[slot])
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
        history = {key: np.load(io.BytesIO(archive.read(f"arrays/history/{j}.npy")))
                   for j, key in enumerate(header["history"])}
        # The history deflated (long and repetitive), everything else stored.
        assert {info.filename: info.compress_type for info in archive.infolist()} == {
            name: zipfile.ZIP_DEFLATED if name.startswith("arrays/history/")
            else zipfile.ZIP_STORED for name in names}
    assert header["format"] == "chainrule" and header["version"] == 2
    assert header["kind"] == "model"
    assert header["layers"][0] == {"class": "Dense", "config": {
        "n_inputs": 2, "n_neurons": 8, "init": "he", "weight_regularizer_l1": 0.0,
        "weight_regularizer_l2": 1e-4, "bias_regularizer_l1": 0.0, "bias_regularizer_l2": 0.0,
        "dtype": "float32"}}
    assert "arrays/layers/0/weights.npy" in names
    assert "arrays/optimizer/3/biases/cache.npy" in names
    # The history is one float64 array per series, in the order of its names.
    assert list(history) == list(model.history)
    for key, array in history.items():
        assert array.dtype == np.float64 and array.tolist() == model.history[key]


def test_the_history_lives_in_arrays_so_long_runs_keep_small_headers(tmp_path):
    model, _, _ = trained_model(epochs=1)
    model.history = {key: [0.1 * i for i in range(20_000)] for key in model.history}
    model.save(tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m") as archive:
        header_bytes = archive.getinfo("chainrule.json").file_size
    # 20,000 epochs of 5 series: 800 kB of float64, nothing of it in the header.
    assert header_bytes < 4_000
    assert (tmp_path / "m").stat().st_size < 8 * 20_000 * len(model.history) + 30_000
    assert Model.load(tmp_path / "m").history == model.history


def version_1_file(path, model):
    """The same model in the version-1 layout: history as JSON lists, no history arrays."""
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(members.pop("chainrule.json"))
    for j in range(len(header["history"])):
        del members[f"arrays/history/{j}.npy"]
    header["version"] = 1
    header["history"] = model.history
    members["chainrule.json"] = json.dumps(header, indent=1).encode()
    write_members(path, members)


def test_version_1_files_still_load(tmp_path):
    model, X, _ = trained_model()
    version_1_file(tmp_path / "old.model", model)
    loaded = Model.load(tmp_path / "old.model")
    assert loaded.history == model.history and loaded.epoch == model.epoch
    assert_same_parameters(loaded, model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_float16_model_round_trips(tmp_path):
    model = Model([Dense(3, 5, dtype=np.float16, rng=0), ReLU(),
                   Dense(5, 2, dtype=np.float16, rng=1), Linear()])
    model.set(loss=MeanSquaredError(), optimizer=SGD(0.01, momentum=0.9))
    X = np.random.default_rng(0).normal(size=(16, 3))
    model.train(X, X[:, :2], epochs=2, print_every=None)
    model.save(tmp_path / "half.model")
    loaded = Model.load(tmp_path / "half.model")
    assert loaded.dtype == np.float16
    assert_same_parameters(loaded, model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_regression_model_with_precision_zero_round_trips(tmp_path):
    # Constant targets (here: one sample) give std 0, so the book's precision is 0.
    model = Model([Dense(1, 4, rng=0), ReLU(), Dense(4, 1, rng=1), Linear()])
    model.set(loss=MeanSquaredError(), optimizer=Adam(0.01))
    model.train([[1.0]], [[2.0]], epochs=2, print_every=None)
    assert model.accuracy.precision == 0
    model.save(tmp_path / "m")
    loaded = Model.load(tmp_path / "m")
    assert loaded.accuracy.precision == 0 and loaded.history == model.history


def test_a_history_with_inf_and_nan_round_trips_and_checkpoints(tmp_path):
    model, _, _ = trained_model(epochs=2)
    model.history["val_loss"] = [math.inf, math.nan]
    model.history["val_accuracy"] = [-0.0, -math.inf]
    model.save_checkpoint(tmp_path / "c")
    loaded = Model.load(tmp_path / "c")
    assert loaded.history["loss"] == model.history["loss"]
    assert loaded.history["val_loss"][0] == math.inf and math.isnan(loaded.history["val_loss"][1])
    assert math.copysign(1, loaded.history["val_accuracy"][0]) == -1
    assert loaded.history["val_accuracy"][1] == -math.inf


def test_book_subclasses_are_saved_under_their_base_class(tmp_path):
    from chainrule.nnfs import Layer_Dense, Layer_Dropout

    model = Model([Layer_Dense(2, 8, 0, 5e-4), ReLU(), Layer_Dropout(0.1), Dense(8, 3),
                   Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam())
    model.save(tmp_path / "book.model")
    with zipfile.ZipFile(tmp_path / "book.model") as archive:
        header = json.loads(archive.read("chainrule.json"))
    assert [entry["class"] for entry in header["layers"]] == [
        "Dense", "ReLU", "Dropout", "Dense", "Softmax"]
    loaded = Model.load(tmp_path / "book.model")
    assert type(loaded.layers[0]) is Dense and type(loaded.layers[2]) is Dropout
    for a, b in zip(loaded.layers, model.layers, strict=True):
        assert a.config() == b.config()
    assert loaded.layers[2].rate == 0.1  # the fraction dropped, whatever the book stores


def test_an_unregistered_class_is_refused_at_save_before_writing(tmp_path):
    class Custom(cr.Layer):
        def forward(self, inputs, training=True):
            self.output = inputs
            return inputs

    model = Model([Dense(2, 3), Custom()])
    (tmp_path / "m").write_bytes(b"old")
    with pytest.raises(TypeError, match="Custom"):
        model.save(tmp_path / "m")
    assert (tmp_path / "m").read_bytes() == b"old"


def test_loaded_parameters_are_written_into_the_layers_own_arrays(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    dense = Model.load(tmp_path / "m").layers[0]
    # Dense keeps its parameters as views into one buffer: loading must not rebind them.
    assert np.shares_memory(dense.weights, dense.parameter_buffer)
    assert np.shares_memory(dense.biases, dense.parameter_buffer)


def test_parameters_round_trip_into_a_fresh_model(tmp_path):
    model, X, _ = trained_model()
    model.save_parameters(tmp_path / "p")
    fresh = Model([Dense(2, 8), ReLU(), Dropout(0.1), Dense(8, 3), Softmax()])
    fresh.load_parameters(tmp_path / "p")
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
    with pytest.raises(cr.ModelFileError, match="parameters only"):
        Model.load(tmp_path / "p")
    small = Model([Dense(2, 4), ReLU(), Dense(4, 3), Softmax()])
    before = small.get_parameters()
    with pytest.raises(ValueError, match="shape"):
        small.load_parameters(tmp_path / "p")
    assert_same_parameters(small, before)


def test_a_refused_parameters_file_changes_nothing(tmp_path):
    model, _, _ = trained_model()
    model.save_parameters(tmp_path / "p")
    # The second Dense's biases get the wrong shape: the first Dense must stay as it was.
    replace_array(tmp_path / "p", "arrays/layers/3/biases.npy", np.zeros((1, 4), np.float32))
    target = Model([Dense(2, 8, rng=9), ReLU(), Dropout(0.1), Dense(8, 3, rng=9), Softmax()])
    before = target.get_parameters()
    with pytest.raises(ValueError, match="shape"):
        target.load_parameters(tmp_path / "p")
    assert_same_parameters(target, before)


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


def write_members(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)


def rewrite_member(path, member, data):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = data
    write_members(path, members)


def replace_array(path, member, array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    rewrite_member(path, member, buffer.getvalue())


@pytest.mark.parametrize(
    "damage, message",
    [
        pytest.param(lambda b: b[: len(b) // 2], "end record", id="truncated"),
        pytest.param(lambda b: b"", "ZIP", id="empty"),
        pytest.param(lambda b: b"hello world", "ZIP", id="text"),
        pytest.param(lambda b: b[:200] + bytes([b[200] ^ 0xFF]) + b[201:], "chainrule",
                     id="bit-flip"),
        pytest.param(lambda b: b + b"appended", "end record", id="appended"),
        pytest.param(lambda b: b"prefix" + b, "ZIP", id="prefixed"),
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
    with pytest.raises(cr.ModelFileError, match=r"extra field|missing chainrule\.json"):
        Model.load(tmp_path / "numpy.npz")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("chainrule.json", json.dumps({"format": "something-else"}))
    with pytest.raises(cr.ModelFileError, match="format"):
        Model.load(tmp_path / "other.zip")
    with zipfile.ZipFile(tmp_path / "deflated.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("chainrule.json", "{}" * 100)
    with pytest.raises(cr.ModelFileError, match="compressed"):
        Model.load(tmp_path / "deflated.zip")


POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="FIFOs, /dev/zero and kill(pid, 0)")


@POSIX_ONLY
def test_files_that_are_not_regular_files_are_refused_without_reading(tmp_path):
    with pytest.raises(cr.ModelFileError, match="not a regular file"):
        Model.load("/dev/zero")
    with pytest.raises(IsADirectoryError):
        Model.load(tmp_path)
    # A FIFO with no writer: opening it must not wait. A child process, so a hang fails.
    os.mkfifo(tmp_path / "fifo")
    script = ("import chainrule, sys\ntry:\n    chainrule.Model.load(sys.argv[1])\n"
              "except chainrule.ModelFileError as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "fifo")],
                            capture_output=True, text=True, timeout=60)
    assert "not a regular file" in result.stdout, result.stderr


def test_a_huge_file_is_refused_by_its_first_and_last_bytes(tmp_path):
    # Sparse files of 4 GiB: reading either would take far longer than the test allows.
    for start in (b"hello", b"PK\x03\x04"):
        path = tmp_path / "huge"
        with open(path, "wb") as f:
            f.write(start)
            f.truncate(4 * 2**30)
        with pytest.raises(cr.ModelFileError, match="ZIP"):
            Model.load(path)


def test_too_many_members_are_refused_before_reading_the_central_directory(tmp_path):
    with zipfile.ZipFile(tmp_path / "many", "w") as archive:
        for k in range(10_001):
            archive.writestr(zipfile.ZipInfo(f"arrays/m/{k}.npy"), b"")
    assert (tmp_path / "many").stat().st_size > 500_000
    assert refused_within(tmp_path / "many", "10001 members") < 100_000


def test_an_array_no_part_of_the_model_uses_is_refused(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    replace_array(tmp_path / "m", "arrays/layers/1/weights.npy", np.zeros((2, 8), np.float32))
    with pytest.raises(cr.ModelFileError, match=r"no part of the model uses.*layers/1/weights"):
        Model.load(tmp_path / "m")


def test_a_huge_central_directory_is_refused_before_it_is_read(tmp_path):
    # One member declared, a central directory of 64 MiB (sparse zeros) before the end record.
    path, size = tmp_path / "big", 64 * 2**20
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, size, 4096, 0)
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04")
        f.seek(4096 + size)
        f.write(end)
    assert refused_within(path, "cannot hold 1 entries") < 2**20


def test_a_local_header_cut_short_is_refused(tmp_path):
    # The only member's local header names 200 bytes where the file has fewer.
    name = b"chainrule.json"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 33, 0, 0, 0, 200, 0)
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 33, 0, 0, 0,
                          len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    (tmp_path / "short").write_bytes(local + central + end)
    with pytest.raises(cr.ModelFileError, match="truncated"):
        Model.load(tmp_path / "short")


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


def saved_with_header_edit(tmp_path, edit, checkpoint=False):
    """A saved model whose chainrule.json was changed by ``edit(header)``."""
    model, _, _ = trained_model()
    path = tmp_path / "m"
    model.save_checkpoint(path) if checkpoint else model.save(path)
    return edit_header(path, edit)


def edit_header(path, edit):
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


def set_in(header, path, value):
    target = header
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


ABSURD = [
    pytest.param(("optimizer", "iterations"), 10**400, "at most 128 are allowed",
                 id="iterations-10**400"),
    pytest.param(("optimizer", "iterations"), 2**60, r"2\*\*53", id="iterations-2**60"),
    pytest.param(("epoch",), 2**62, r"2\*\*53", id="epoch-2**62"),
    pytest.param(("epoch",), -1, r"2\*\*53", id="epoch-negative"),
    pytest.param(("epoch",), 2.5, r"2\*\*53", id="epoch-fraction"),
    pytest.param(("optimizer", "current_learning_rate"), -1.0, ">= 0", id="rate-negative"),
    pytest.param(("optimizer", "config", "learning_rate"), 0.0, "learning_rate", id="lr-zero"),
    pytest.param(("optimizer", "config", "beta_1"), 5.0, "beta_1", id="beta-out-of-range"),
    pytest.param(("layers", 2, "config", "rate"), 1.0, "rate", id="dropout-rate-1"),
    pytest.param(("layers", 0, "config", "n_inputs"), 10**30, "shape", id="n-inputs-10**30"),
    pytest.param(("layers", 0, "config", "init"), "x" * 5000, "5000 characters",
                 id="huge-string"),
    pytest.param(("training_state",), json.loads("[" * 40 + "]" * 40), "deeper",
                 id="deep-nesting"),
    pytest.param(("training_state",), {"values": list(range(200_000))}, "more than",
                 id="too-many-values"),
    pytest.param(("random", "model", "state", "pos"), 10**6, "MT19937 position",
                 id="mt19937-position"),
    pytest.param(("random", "global", "pos"), 10**6, "position", id="global-position"),
    pytest.param(("random", "global", "has_gauss"), 7, "position", id="global-gauss-flag"),
    pytest.param(("random", "model", "state", "key"), [1] * 10, "624 integers",
                 id="mt19937-short-key"),
    pytest.param(("random", "model", "bit_generator"), "os.system", "unknown random",
                 id="unknown-generator"),
    pytest.param(("history",), ["loss"] * 2, "distinct", id="history-duplicate-names"),
    pytest.param(("history",), "loss", "history must be a list of names", id="history-string"),
    pytest.param(("training_arrays",), ["best"], "missing", id="training-array-missing"),
    pytest.param(("training_arrays",), "best", "list of distinct names",
                 id="training-arrays-string"),
    pytest.param(("training_state",), [1, 2], "training_state must be an object",
                 id="training-state-list"),
    pytest.param(("random",), None, "no random-generator state", id="random-missing"),
    pytest.param(("random", "layers", "0"), {"bit_generator": "PCG64"}, "which has no rng",
                 id="rng-for-a-dense-layer"),
    pytest.param(("random", "layers", "2", "state", "inc"), -1, r"\[0, 2\*\*128\)",
                 id="pcg64-negative"),
    pytest.param(("random", "layers", "2", "state", "extra"), 1, "wrong fields",
                 id="pcg64-extra-field"),
    pytest.param(("random", "layers", "2", "has_uint32"), 2, "32-bit cache",
                 id="pcg64-cache-flag"),
    pytest.param(("random", "global", "name"), "PCG64", "must name MT19937",
                 id="global-not-mt19937"),
    pytest.param(("loss",), "CategoricalCrossentropy", "object with 'class' and 'config'",
                 id="loss-not-an-object"),
    pytest.param(("accuracy", "config", "binary"), [1, 2], "does not rebuild as itself",
                 id="coerced-config"),
    pytest.param(("version",), 99, "unsupported file version 99", id="version-99"),
    pytest.param(("kind",), "weights", "unknown file kind", id="unknown-kind"),
    pytest.param(("layers",), [], "non-empty list", id="no-layers"),
    pytest.param(("metadata",), ["labels"], "metadata must be an object", id="metadata-list"),
]


@pytest.mark.parametrize("where, value, message", ABSURD)
def test_absurd_saved_values_are_refused_at_load(tmp_path, where, value, message):
    model, _, _ = trained_model()
    model.rng = np.random.Generator(np.random.MT19937(3))  # a state with a position
    model.save_checkpoint(tmp_path / "c")
    edit_header(tmp_path / "c", lambda header: set_in(header, where, value))
    with pytest.raises(cr.ModelFileError, match=message):
        Model.load(tmp_path / "c")


def test_a_philox_position_outside_its_buffer_is_refused(tmp_path):
    model, _, _ = trained_model()
    model.rng = np.random.Generator(np.random.Philox(3))
    model.save_checkpoint(tmp_path / "c")
    edit_header(tmp_path / "c", lambda h: h["random"]["model"].update(buffer_pos=5))
    with pytest.raises(cr.ModelFileError, match="Philox buffer position"):
        Model.load(tmp_path / "c")


def test_global_random_keys_of_the_wrong_shape_are_refused(tmp_path):
    model, _, _ = trained_model()
    model.save_checkpoint(tmp_path / "c")
    replace_array(tmp_path / "c", "arrays/random/global_keys.npy", np.zeros(10, np.uint32))
    with pytest.raises(cr.ModelFileError, match="624 uint32 words"):
        Model.load(tmp_path / "c")


def test_normalization_statistics_of_the_wrong_shape_are_refused(tmp_path):
    model = Model([cr.Normalization().adapt(np.arange(12.0).reshape(4, 3)), Dense(3, 2)])
    model.save(tmp_path / "m")
    replace_array(tmp_path / "m", "arrays/layers/0/mean.npy", np.zeros((1, 5)))
    with pytest.raises(cr.ModelFileError, match=r"mean: expected a float array of shape \(1, 3\)"):
        Model.load(tmp_path / "m")


def test_a_parameter_of_another_dtype_is_refused_not_cast(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    replace_array(tmp_path / "m", "arrays/layers/0/weights.npy", np.zeros((2, 8), np.float64))
    with pytest.raises(cr.ModelFileError, match="holds float64, the layer is float32"):
        Model.load(tmp_path / "m")


def test_layers_that_do_not_fit_together_are_refused(tmp_path):
    model = Model([Dense(2, 8), ReLU(), Dense(8, 3)])
    model.save(tmp_path / "m")
    edit_header(tmp_path / "m", lambda h: h["layers"][2]["config"].update(n_inputs=5))
    replace_array(tmp_path / "m", "arrays/layers/2/weights.npy", np.zeros((5, 3), np.float32))
    with pytest.raises(cr.ModelFileError, match="do not fit together"):
        Model.load(tmp_path / "m")


@pytest.mark.parametrize("member, array, message", [
    pytest.param("arrays/optimizer/0/weights/extra.npy", np.zeros((2, 8), np.float32),
                 "must be the float arrays", id="extra-slot"),
    pytest.param("arrays/optimizer/9/weights/cache.npy", np.zeros((2, 8), np.float32),
                 "parameters the model lacks", id="state-of-no-layer"),
    pytest.param("arrays/optimizer/0/weights/cache.npy", np.zeros((2, 8), np.int32),
                 "must be the float arrays", id="integer-state"),
])
def test_optimizer_state_that_fits_no_parameter_is_refused(tmp_path, member, array, message):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    replace_array(tmp_path / "m", member, array)
    with pytest.raises(cr.ModelFileError, match=message):
        Model.load(tmp_path / "m")


def test_npy_version_3_and_unexpected_members_are_refused(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros((2, 8), np.float32), version=(3, 0))
    rewrite_member(tmp_path / "m", "arrays/layers/0/weights.npy", buffer.getvalue())
    with pytest.raises(cr.ModelFileError, match=r"unsupported \.npy version \(3, 0\)"):
        Model.load(tmp_path / "m")
    model.save(tmp_path / "m")
    rewrite_member(tmp_path / "m", "notes.txt", b"hello")
    with pytest.raises(cr.ModelFileError, match=r"unexpected archive member 'notes\.txt'"):
        Model.load(tmp_path / "m")


def test_a_header_beyond_16_mib_is_refused_before_it_is_read(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    rewrite_member(tmp_path / "m", "chainrule.json", b" " * (16 * 2**20 + 1))
    assert refused_within(tmp_path / "m", "too large") < 2**20


@pytest.mark.parametrize("history, message", [
    pytest.param([1.0, 2.0], "object of lists", id="a-list"),
    pytest.param({"loss": [1.0, "2"]}, "list of numbers", id="a-string"),
    pytest.param({"loss": [1.0, True]}, "list of numbers", id="a-bool"),
    pytest.param({"loss": 1.0}, "list of numbers", id="not-a-list"),
    pytest.param({"loss": [1.0, 10**400]}, "too large for a float", id="huge-integer"),
])
def test_a_bad_version_1_history_is_refused(tmp_path, history, message):
    model, _, _ = trained_model()
    version_1_file(tmp_path / "old", model)
    edit_header(tmp_path / "old", lambda h: h.update(history=history))
    with pytest.raises(cr.ModelFileError, match=message):
        Model.load(tmp_path / "old")


def test_a_bad_parameters_file_is_a_model_file_error(tmp_path):
    model, _, _ = trained_model()
    model.save_parameters(tmp_path / "p")
    replace_array(tmp_path / "p", "arrays/layers/0/weights.npy", np.zeros((2, 8), np.int32))
    fresh = Model([Dense(2, 8), ReLU(), Dropout(0.1), Dense(8, 3), Softmax()])
    with pytest.raises(cr.ModelFileError, match="lacks its float arrays"):
        fresh.load_parameters(tmp_path / "p")


def test_memory_errors_pass_through_loading(tmp_path, monkeypatch):
    from chainrule.files import _build

    model, _, _ = trained_model()
    model.save(tmp_path / "m")

    def exhausted(*args):
        raise MemoryError

    monkeypatch.setattr(_build, "build_model", exhausted)
    with pytest.raises(MemoryError):
        Model.load(tmp_path / "m")


class UnknownBitGenerator(np.random.PCG64):
    pass


def bad_history(model):
    model.history = {1: [1.0]}


SAVE_REFUSALS = [
    pytest.param(lambda m: setattr(m, "history", [1.0]), TypeError, "history must be a dict",
                 id="history-a-list"),
    pytest.param(bad_history, TypeError, "history keys", id="history-int-key"),
    pytest.param(lambda m: m.history.update(loss=3.0), TypeError, "list of numbers",
                 id="history-not-a-list"),
    pytest.param(lambda m: m.history.update(loss=[1.0, None]), TypeError, "list of numbers",
                 id="history-none"),
    pytest.param(lambda m: m.history.update(loss=[True]), TypeError, "list of numbers",
                 id="history-bool"),
    pytest.param(lambda m: m.history.update(loss=[10**400]), ValueError, "too large",
                 id="history-huge-integer"),
    pytest.param(lambda m: setattr(m, "epoch", 2**60), ValueError, "epoch", id="epoch-2**60"),
    pytest.param(lambda m: setattr(m.optimizer, "iterations", -1), ValueError, "iterations",
                 id="iterations-negative"),
    pytest.param(lambda m: setattr(m.optimizer, "current_learning_rate", math.nan), ValueError,
                 "current_learning_rate", id="rate-nan"),
    pytest.param(lambda m: setattr(m.optimizer, "current_learning_rate", -0.5), ValueError,
                 "current_learning_rate must be finite and >= 0", id="rate-negative"),
    pytest.param(lambda m: setattr(m, "metadata", ["labels"]), TypeError,
                 "metadata must be a dict", id="metadata-a-list"),
    pytest.param(lambda m: m.layers.insert(0, cr.Normalization()), ValueError,
                 "adapt", id="normalization-not-adapted"),
    pytest.param(lambda m: m.optimizer.get_state(m.layers[0], "weights")["cache"].fill(np.inf),
                 ValueError, "NaN or inf", id="state-inf"),
    pytest.param(lambda m: setattr(m, "rng", np.random.Generator(UnknownBitGenerator(1))),
                 TypeError, "UnknownBitGenerator", id="unknown-generator"),
    pytest.param(lambda m: setattr(m, "training_arrays", [np.zeros(2)]), TypeError,
                 "training_arrays", id="training-arrays-list"),
    pytest.param(lambda m: setattr(m, "training_arrays", {"z": np.zeros(2, complex)}),
                 TypeError, "complex128", id="complex-array"),
    pytest.param(lambda m: setattr(m, "training_arrays", {str(i): np.zeros(1)
                                                          for i in range(10_000)}),
                 ValueError, "too large", id="too-many-arrays"),
    pytest.param(lambda m: m.layers.clear(), ValueError, "no layers", id="no-layers"),
]


@pytest.mark.parametrize("spoil, error, message", SAVE_REFUSALS)
def test_what_the_reader_would_refuse_is_refused_at_save(tmp_path, spoil, error, message):
    model, _, _ = trained_model()
    model.save_checkpoint(tmp_path / "c")
    before = (tmp_path / "c").read_bytes()
    spoil(model)
    with pytest.raises(error, match=message):
        model.save_checkpoint(tmp_path / "c")
    assert (tmp_path / "c").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_the_header_are_refused(tmp_path, token):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m") as archive:
        text = archive.read("chainrule.json").decode()
    text = text.replace('"learning_rate": 0.01', f'"learning_rate": {token}', 1)
    assert token in text
    rewrite_member(tmp_path / "m", "chainrule.json", text.encode())
    with pytest.raises(cr.ModelFileError, match="numbers in a file must be finite"):
        Model.load(tmp_path / "m")


@pytest.mark.parametrize("state, error", [
    pytest.param({"best": np.float32(1.0)}, TypeError, id="numpy-scalar"),
    pytest.param({"shape": (2, 3)}, TypeError, id="tuple"),
    pytest.param({"best": math.nan}, ValueError, id="nan"),
    pytest.param({1: "a"}, TypeError, id="int-key"),
    pytest.param(["not", "a", "dict"], TypeError, id="list"),
])
def test_a_training_state_json_cannot_hold_is_refused_at_save(tmp_path, state, error):
    model, _, _ = trained_model()
    model.save_checkpoint(tmp_path / "c")
    before = (tmp_path / "c").read_bytes()
    model.training_state = state
    with pytest.raises(error, match="training_state"):
        model.save_checkpoint(tmp_path / "c")
    assert (tmp_path / "c").read_bytes() == before


def test_training_state_and_arrays_round_trip_in_checkpoints(tmp_path):
    model, _, _ = trained_model()
    model.training_state = {"batch_size": 16, "n_samples": 60, "shuffle": True,
                            "callbacks": [{"class": "EarlyStopping",
                                           "state": {"best": 0.25, "wait": 2, "x": None}}]}
    best = np.arange(6, dtype=np.float32).reshape(2, 3)
    model.training_arrays = {"callbacks/0/0.0": best, "odd name ✓": np.arange(3)}
    model.save_checkpoint(tmp_path / "c")
    loaded = Model.load(tmp_path / "c")
    assert loaded.training_state == model.training_state
    assert list(loaded.training_arrays) == list(model.training_arrays)
    np.testing.assert_array_equal(loaded.training_arrays["callbacks/0/0.0"], best)
    assert loaded.training_arrays["callbacks/0/0.0"].dtype == np.float32
    np.testing.assert_array_equal(loaded.training_arrays["odd name ✓"], np.arange(3))
    # A plain model file keeps neither.
    model.save(tmp_path / "m")
    plain = Model.load(tmp_path / "m")
    assert plain.training_state is None and plain.training_arrays == {}


@pytest.mark.parametrize("generator", ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"])
def test_every_numpy_generator_round_trips_in_checkpoints(tmp_path, generator):
    model, _, _ = trained_model()
    bit_generator = getattr(np.random, generator)(11)
    model.rng = np.random.Generator(bit_generator)
    model.rng.random(3)  # not at the start of its stream
    model.layers[2].rng = np.random.Generator(getattr(np.random, generator)(12))
    model.save_checkpoint(tmp_path / "c")
    loaded = Model.load(tmp_path / "c")
    np.testing.assert_array_equal(loaded.rng.random(5), model.rng.random(5))
    np.testing.assert_array_equal(loaded.layers[2].rng.random(5), model.layers[2].rng.random(5))


def test_loading_a_checkpoint_keeps_numpy_global_state_on_the_model(tmp_path):
    model, _, _ = trained_model()
    np.random.seed(21)
    model.save_checkpoint(tmp_path / "c")
    saved = np.random.get_state()
    np.random.seed(4)
    expected = np.random.get_state()
    loaded = Model.load(tmp_path / "c")
    after = np.random.get_state()
    assert after[0] == expected[0] and np.array_equal(after[1], expected[1])
    assert after[2:] == expected[2:]
    state = loaded.global_random_state
    assert state[0] == "MT19937" and np.array_equal(state[1], saved[1])
    assert state[2:] == saved[2:]


def test_loading_does_not_touch_the_global_random_state(tmp_path):
    model, _, _ = trained_model()
    model.save(tmp_path / "m")
    np.random.seed(4)
    expected = np.random.rand()
    np.random.seed(4)
    Model.load(tmp_path / "m")
    assert np.random.rand() == expected


def test_a_refused_load_leaves_the_global_random_state_alone(tmp_path):
    path = saved_with_header_edit(tmp_path, lambda h: h["optimizer"].update(iterations=-5),
                                  checkpoint=True)
    np.random.seed(4)
    expected = np.random.rand()
    np.random.seed(4)
    with pytest.raises(cr.ModelFileError, match="iterations"):
        Model.load(path)
    assert np.random.rand() == expected


def test_zip64_archives_as_zipfile_writes_them_for_huge_models_load(tmp_path, monkeypatch):
    # Beyond 2 GiB zipfile adds ZIP64 records; a lower threshold writes them for a small model.
    model, X, _ = trained_model()
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 200)
    model.save_checkpoint(tmp_path / "c")
    monkeypatch.undo()
    blob = (tmp_path / "c").read_bytes()
    assert b"PK\x06\x06" in blob and b"PK\x06\x07" in blob  # the ZIP64 end records
    loaded = Model.load(tmp_path / "c")
    assert_same_parameters(loaded, model)
    assert loaded.history == model.history
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


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


@POSIX_ONLY
def test_orphan_clean_up_keeps_a_live_writers_temporary_file(tmp_path):
    model, _, _ = trained_model()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        writing = tmp_path / f".m.{live.pid}.1.tmp"  # another process, still writing
        orphan = tmp_path / f".m.{dead.pid}.1.tmp"  # left by a writer that was killed
        other = tmp_path / f".other.{dead.pid}.1.tmp"  # another file's: not ours to remove
        for path in (writing, orphan, other):
            path.write_bytes(b"partial")
        model.save(tmp_path / "m")
        assert writing.read_bytes() == b"partial"
        assert not orphan.exists()
        assert other.exists()
    finally:
        live.kill()
        live.wait()


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        Model.load(tmp_path / "nothing-here")


def test_model_file_error_is_a_value_error():
    assert issubclass(cr.ModelFileError, ValueError)


@pytest.mark.parametrize("uinteger, refused", [(2**32 - 1, False), (2**32, True), (2**33, True)])
def test_a_generators_32_bit_cache_must_hold_32_bits(uinteger, refused):
    # NumPy keeps one spare 32-bit draw; a file claiming a larger one is damaged.
    from chainrule.files._values import generator_from_state, generator_state

    state = generator_state(np.random.default_rng(0))
    state.update(has_uint32=1, uinteger=uinteger)
    if refused:
        with pytest.raises(cr.ModelFileError, match="32-bit cache"):
            generator_from_state(state, "the file")
    else:
        assert generator_from_state(state, "the file").bit_generator.state["uinteger"] == uinteger

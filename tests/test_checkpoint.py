import numpy as np
import pytest

from chainrule import Adam, CategoricalCrossentropy, Dense, Dropout, Model, ReLU, Softmax
from chainrule.datasets import spiral_data


def build(global_rng=False):
    rng = None if global_rng else 0
    model = Model([Dense(2, 16, init="he", rng=rng), ReLU(), Dropout(0.2, rng=rng),
                   Dense(16, 3, rng=rng), Softmax()])
    model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01, decay=1e-3))
    return model


@pytest.mark.parametrize("global_rng", [False, True], ids=["generators", "global-state"])
def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, global_rng):
    X, y = spiral_data(30, 3, rng=0)
    shuffle_rng = None if global_rng else 7

    np.random.seed(123)
    straight = build(global_rng)
    straight.train(X, y, epochs=6, batch_size=16, rng=shuffle_rng, print_every=None)

    np.random.seed(123)
    first = build(global_rng)
    first.train(X, y, epochs=3, batch_size=16, rng=shuffle_rng, print_every=None,
                checkpoint=tmp_path / "run.ckpt")
    np.random.seed(999)  # whatever happens in between, the checkpoint restores the streams
    resumed = Model.load(tmp_path / "run.ckpt")
    assert resumed.epoch == 3
    resumed.train(X, y, epochs=6, batch_size=16, print_every=None)

    assert resumed.epoch == 6
    for a, b in zip(resumed.get_parameters(), straight.get_parameters(), strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert resumed.history == straight.history
    assert resumed.optimizer.iterations == straight.optimizer.iterations


def test_checkpoint_is_rewritten_every_epoch(tmp_path):
    X, y = spiral_data(10, 3, rng=0)
    model = build()
    path = tmp_path / "run.ckpt"
    model.train(X, y, epochs=2, print_every=None, checkpoint=path)
    assert Model.load(path).epoch == 2
    model.train(X, y, epochs=1, print_every=None, checkpoint=path)
    assert Model.load(path).epoch == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]


def test_a_plain_model_file_trains_further_not_up_to(tmp_path):
    X, y = spiral_data(10, 3, rng=0)
    model = build()
    model.train(X, y, epochs=2, print_every=None)
    model.save(tmp_path / "m")
    loaded = Model.load(tmp_path / "m")
    loaded.train(X, y, epochs=2, print_every=None)
    assert loaded.epoch == 4 and len(loaded.history["loss"]) == 4


def straight_run(X, y, epochs, **kwargs):
    np.random.seed(123)
    model = build()
    model.train(X, y, epochs=epochs, batch_size=16, rng=7, print_every=None, **kwargs)
    return model


def test_running_the_same_script_again_resumes_exactly(tmp_path):
    X, y = spiral_data(30, 3, rng=0)
    path = tmp_path / "run.ckpt"
    straight = straight_run(X, y, 6)

    # The script: build the model and train with a checkpoint. Its first run stops after
    # epoch 3 (as if killed); the second run is the very same code with epochs=6.
    np.random.seed(123)
    build().train(X, y, epochs=3, batch_size=16, rng=7, print_every=None, checkpoint=path)
    np.random.seed(555)  # whatever the global state is when the script starts again
    model = build()
    model.train(X, y, epochs=6, batch_size=16, rng=7, print_every=None, checkpoint=path)

    assert model.epoch == 6 and model.history == straight.history
    for a, b in zip(model.get_parameters(), straight.get_parameters(), strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_the_checkpoints_random_streams_take_precedence_over_rng(tmp_path):
    X, y = spiral_data(30, 3, rng=0)
    path = tmp_path / "run.ckpt"
    straight = straight_run(X, y, 5)
    np.random.seed(123)
    build().train(X, y, epochs=2, batch_size=16, rng=7, print_every=None, checkpoint=path)
    resumed = Model.load(path)
    resumed.train(X, y, epochs=5, batch_size=16, rng=7, print_every=None)  # rng=7 again
    assert resumed.history == straight.history


@pytest.mark.parametrize("change, words", [
    ({"batch_size": 8}, ["batch_size=16", "batch_size=8"]),
    ({"X": "fewer rows"}, ["n_samples=90", "n_samples=60"]),
    ({"shuffle": False}, ["shuffle"]),
])
def test_resuming_with_other_batches_or_data_is_refused(tmp_path, change, words):
    X, y = spiral_data(30, 3, rng=0)
    path = tmp_path / "run.ckpt"
    build().train(X, y, epochs=2, batch_size=16, rng=7, print_every=None, checkpoint=path)
    saved = path.read_bytes()
    kwargs = {"batch_size": 16, "shuffle": True, **change}
    data = (X[:60], y[:60]) if kwargs.pop("X", None) else (X, y)
    model = build()
    before = model.get_parameters()
    with pytest.raises(ValueError) as raised:
        model.train(*data, epochs=4, rng=7, print_every=None, checkpoint=path, **kwargs)
    for word in [f"checkpoint {str(path)!r} was trained with", *words]:
        assert word in str(raised.value)
    assert path.read_bytes() == saved and model.epoch == 0
    for a, b in zip(before, model.get_parameters(), strict=True):
        np.testing.assert_array_equal(a[0], b[0])


def test_a_loaded_checkpoint_refuses_other_batches_and_says_which_checkpoint(tmp_path):
    X, y = spiral_data(30, 3, rng=0)
    build().train(X, y, epochs=2, batch_size=16, rng=7, print_every=None,
                  checkpoint=tmp_path / "run.ckpt")
    loaded = Model.load(tmp_path / "run.ckpt")
    with pytest.raises(ValueError, match=r"^the loaded checkpoint was trained with "
                                         r"batch_size=16; this call has batch_size=8"):
        loaded.train(X, y, epochs=4, batch_size=8, rng=7, print_every=None)
    assert loaded.epoch == 2


def test_a_checkpoint_of_another_model_is_refused_and_left_alone(tmp_path):
    X, y = spiral_data(30, 3, rng=0)
    path = tmp_path / "run.ckpt"
    build().train(X, y, epochs=2, print_every=None, checkpoint=path)
    saved = path.read_bytes()
    other = Model([Dense(2, 8, rng=0), ReLU(), Dense(8, 3, rng=0), Softmax()])
    other.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.01, decay=1e-3))
    with pytest.raises(ValueError, match="another model"):
        other.train(X, y, epochs=3, print_every=None, checkpoint=path)
    plain = tmp_path / "plain.model"
    build().save(plain)
    with pytest.raises(ValueError, match="not a checkpoint"):
        build().train(X, y, epochs=1, print_every=None, checkpoint=plain)
    assert path.read_bytes() == saved


def test_loading_never_touches_numpys_global_random_state(tmp_path):
    X, y = spiral_data(30, 3, rng=0)
    path = tmp_path / "run.ckpt"
    build(global_rng=True).train(X, y, epochs=2, batch_size=16, print_every=None,
                                 checkpoint=path)
    np.random.seed(42)
    expected = np.random.get_state()[1].copy(), np.random.get_state()[2]
    Model.load(path)
    state = np.random.get_state()
    np.testing.assert_array_equal(state[1], expected[0])
    assert state[2] == expected[1]


def test_a_finished_checkpoint_says_there_is_nothing_to_train(tmp_path):
    X, y = spiral_data(30, 3, rng=0)
    path = tmp_path / "run.ckpt"
    build().train(X, y, epochs=3, print_every=None, checkpoint=path)
    model = build()
    with pytest.warns(UserWarning, match="already reached epoch 3"):
        model.train(X, y, epochs=3, print_every=None, checkpoint=path)
    assert model.epoch == 3  # the run's state is loaded all the same

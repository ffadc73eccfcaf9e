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

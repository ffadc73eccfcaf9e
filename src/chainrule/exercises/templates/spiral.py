"""Exercise 13 of 13 — spiral: your own classes train the book's spiral to ≥ 0.9 accuracy.

What to do: write ``build_model``: a ``chainrule.Model`` made of *your* classes — ``Dense``
(dense_backward.py), ``ReLU`` (relu_backward.py), ``Softmax`` (softmax_backward.py) and an
optimizer (adam.py or sgd.py) — with chainrule's ``CategoricalCrossentropy`` as the loss.
The check trains it for ``EPOCHS`` epochs on 300 spiral points (3 classes) and wants a
training accuracy of at least 0.9. Your Softmax's backward carries the loss's −y/ŷ
to the logits: chainrule fuses the two only for its own Softmax.

Shapes: inputs (300, 2) → Dense(2, H) → ReLU → Dense(H, 3) → Softmax → (300, 3).

The book's choice: H = 64, Adam(learning_rate=0.05, decay=5e-7), 10 000 epochs (about a
minute with the per-sample Softmax loop; H = 64 with 3000 epochs stops near 0.87). H = 128
with the same Adam reaches 0.9 within the default 3000 epochs (about 20 s). EPOCHS may be
at most 10 000.
"""

from adam import Adam  # noqa: F401 (yours; or: from sgd import SGD)
from dense_backward import Dense  # noqa: F401
from relu_backward import ReLU  # noqa: F401
from softmax_backward import Softmax  # noqa: F401

from chainrule.nn import CategoricalCrossentropy  # noqa: F401
from chainrule.training import Model  # noqa: F401

EPOCHS = 3000


def build_model():
    # TODO: model = Model([...your layers...]); model.set(loss=CategoricalCrossentropy(),
    # optimizer=...); return model
    raise NotImplementedError("build_model")


__all__ = ["build_model"]

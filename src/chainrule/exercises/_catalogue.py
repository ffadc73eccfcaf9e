"""The exercises, in order: each one's file, the name it defines, its check and its hints.

The templates are the files in ``templates/`` (shipped with the package); a learner's
folder gets a copy of one when they start it. The references are chainrule's own classes,
used by the checks in ``_cases``: nothing here or in the templates holds a solution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import _cases

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Exercise:
    """One exercise: the file ``name.py``, the class or function it ``defines``, a ``title``
    and ``hints``, each more specific than the last."""

    name: str
    defines: str  # the class or function the learner's file defines
    title: str
    hints: tuple[str, ...]  # each more specific than the last

    @property
    def filename(self) -> str:
        """The learner's file: ``<name>.py``."""
        return f"{self.name}.py"

    @property
    def template(self) -> Path:
        """The template the learner's file starts as (shipped in ``templates/``)."""
        return TEMPLATES / self.filename

    def check(self, obj) -> list[str]:
        """Run ``obj`` against chainrule's own classes; return the names of the cases.

        Raises at the first case that differs; :func:`chainrule.exercises.check` turns that
        into a ``Result`` that names the mistake.
        """
        return getattr(_cases, f"check_{self.name}")(obj)


#: Every ``Exercise``, in the order a learner takes them.
EXERCISES = (
    Exercise("neuron", "neuron", "one neuron, forward and backward, by hand", (
        "Forward first: z = np.dot(weights, inputs) + bias, a = max(0, z), loss = (a − target)².",
        "Backward is a product of three local derivatives: 2(a − target), then 1 if z > 0 "
        "else 0, then x_i (or 1 for the bias).",
        "dloss_dlinear = 2 * (output - target) * (1.0 if linear_output > 0 else 0.0); "
        "dweights = dloss_dlinear * inputs; dbias = dloss_dlinear.")),
    Exercise("dense_backward", "Dense", "a Dense layer's gradients for a batch", (
        "Each gradient has the shape of its parameter: dweights like weights (n_inputs, "
        "n_neurons), dbiases like biases (1, n_neurons), dinputs like inputs.",
        "∂z/∂W is the inputs, ∂z/∂b is 1, ∂z/∂x is W: multiply each by dvalues so the shapes "
        "fit, summing over the samples for the parameters.",
        "self.dweights = self.inputs.T @ dvalues; self.dbiases = np.sum(dvalues, axis=0, "
        "keepdims=True); self.dinputs = dvalues @ self.weights.T")),
    Exercise("relu_backward", "ReLU", "the ReLU's gradient", (
        "The gradient passes where the layer's input was positive and stops elsewhere.",
        "Look at self.inputs, not at dvalues: the sign of the gradient says nothing about "
        "the ReLU.",
        "self.dinputs = dvalues.copy(); self.dinputs[self.inputs <= 0] = 0")),
    Exercise("softmax_backward", "Softmax", "the softmax Jacobian, per sample", (
        "One Jacobian per sample, of shape (n_classes, n_classes): loop over the rows of "
        "self.output and dvalues together.",
        "For one sample's output s as a column: J = np.diagflat(s) − s @ s.T.",
        "self.dinputs = np.empty_like(dvalues); for i, (s, d) in enumerate(zip(self.output, "
        "dvalues)): s = s.reshape(-1, 1); self.dinputs[i] = (np.diagflat(s) - s @ s.T) @ d")),
    Exercise("cce_backward", "CategoricalCrossentropy", "the cross-entropy's gradient", (
        "The loss is the mean over the samples, so the gradient carries 1/n once.",
        "With class indices, one-hot them first: y_true = np.eye(n_classes)[y_true].",
        "self.dinputs = -y_true / dvalues / len(dvalues)")),
    Exercise("softmax_cce_backward", "SoftmaxCategoricalCrossentropy",
             "softmax and cross-entropy together", (
        "The fused gradient is the probabilities minus the one-hot targets, over n.",
        "Copy first: self.dinputs = dvalues.copy(); with one-hot rows take "
        "y_true = np.argmax(y_true, axis=1).",
        "self.dinputs[range(len(dvalues)), y_true] -= 1; self.dinputs /= len(dvalues)")),
    Exercise("sgd", "SGD", "SGD with decay and momentum", (
        "pre_update_params sets the rate, update_params moves the parameters, "
        "post_update_params adds 1 to self.iterations.",
        "Keep one momentum array per parameter, zeros at first; the update is "
        "momentum·u − lr·g, and the parameter moves by +u.",
        "self.current_learning_rate = self.learning_rate * (1 / (1 + self.decay * "
        "self.iterations)); u = self.momentums.setdefault((id(layer), name), "
        "np.zeros_like(param)); u[...] = self.momentum * u - self.current_learning_rate * "
        "grad; param += u")),
    Exercise("adam", "Adam", "Adam with bias-corrected moments", (
        "Two arrays per parameter, m and v, zeros at first; t = self.iterations + 1.",
        "Without the correction the first steps are far too small: m̂ = m / (1 − β₁ᵗ), "
        "v̂ = v / (1 − β₂ᵗ).",
        "m[...] = b1 * m + (1 - b1) * grad; v[...] = b2 * v + (1 - b2) * grad**2; param -= "
        "lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + self.epsilon)")),
    Exercise("regularization", "Dense", "L1 and L2 penalties", (
        "The penalty adds λ₁·Σ|w| + λ₂·Σw² to the loss; its gradient adds to dweights.",
        "sign(w) with +1 at 0: np.where(self.weights < 0, -1, 1), not np.sign.",
        "self.dweights += self.weight_regularizer_l1 * np.where(self.weights < 0, -1, 1) + "
        "2 * self.weight_regularizer_l2 * self.weights (and the same for the biases)")),
    Exercise("dropout", "Dropout", "inverted dropout", (
        "Keep each unit with probability 1 − rate; scale the kept ones so the mean is kept.",
        "self.binary_mask = np.random.binomial(1, 1 - self.rate, size=inputs.shape) / "
        "(1 - self.rate); with training=False the output is the input.",
        "forward: self.output = self.inputs * self.binary_mask; backward: self.dinputs = "
        "dvalues * self.binary_mask")),
    Exercise("sigmoid_bce", "SigmoidBinaryCrossentropy", "sigmoid with binary cross-entropy", (
        "forward: σ = 1 / (1 + np.exp(-inputs)), then the clipped loss, averaged twice.",
        "backward: σ − y, divided by the number of outputs and of samples.",
        "samples, outputs = dvalues.shape; self.dinputs = (dvalues - y_true) / outputs / "
        "samples")),
    Exercise("mse", "MeanSquaredError", "the mean squared error's gradient", (
        "The loss averages over the outputs and over the samples: divide by both.",
        "∂(y − ŷ)²/∂ŷ = −2(y − ŷ).",
        "samples, outputs = dvalues.shape; self.dinputs = -2 * (y_true - dvalues) / outputs "
        "/ samples")),
    Exercise("spiral", "build_model", "the capstone: your classes train the spiral", (
        "Every class you plug in must pass its own exercise first (chainrule exercises list).",
        "model = Model([Dense(2, 64), ReLU(), Dense(64, 3), Softmax()]); "
        "model.set(loss=CategoricalCrossentropy(), optimizer=Adam(...))",
        "Adam(learning_rate=0.05, decay=5e-7) trains to ≥ 0.9 within a few thousand epochs; "
        "raise EPOCHS or the layer's width if it falls short.")),
)

BY_NAME = {exercise.name: exercise for exercise in EXERCISES}


def find(name: str) -> Exercise:
    """The exercise called ``name``; an unknown name lists the valid ones."""
    try:
        return BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"no exercise named {name!r}; the exercises are: "
                         f"{', '.join(BY_NAME)}") from None

"""The peers of the benchmark: each trains the same MLP from the same initial weights.

A peer is built from ``(params, learning_rate)`` — params a list of
``(weights (n_in, n_out), biases (1, n_out))`` float32 arrays — and offers
``train(X, y, epochs, batch_size)`` and ``parameters()``; ``prepare(X, y,
batch_size)``, where a peer has it, is untimed set-up (JAX compiles its step
there). All use Adam (β₁ 0.9, β₂ 0.999, ε 1e-7), no decay, no shuffling,
softmax + cross-entropy, and compute the loss and accuracy of every step.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path

import lean
import numpy as np
from booknumpy import BookNetwork

import chainrule as cr


class ChainrulePeer:
    """chainrule on the path that is active (numba's kernels when installed)."""

    name = "chainrule"
    path: str | None = None  # None: whichever path is active

    def __init__(self, params, learning_rate):
        layers = []
        for i, (w, b) in enumerate(params):
            dense = cr.Dense(*w.shape)
            dense.weights[...] = w
            dense.biases[...] = b
            layers.append(dense)
            layers.append(cr.ReLU() if i < len(params) - 1 else cr.Softmax())
        self.model = cr.Model(layers)
        self.model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(learning_rate))

    @staticmethod
    def warm_up():
        """Load numba's kernels (if that path is active): a step of a tiny network, and
        one update large enough for the parallel loop."""
        model = cr.Model([cr.Dense(2, 4), cr.ReLU(), cr.Dense(4, 2), cr.Softmax()])
        model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
        model.train(np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1]), print_every=None,
                    progress=False)
        layer = cr.Dense(512, 256)
        layer.dweights, layer.dbiases = np.zeros_like(layer.weights), np.zeros_like(layer.biases)
        cr.Adam().step([layer])

    def train(self, X, y, epochs, batch_size):
        previous = cr.use_kernels(self.path) if self.path else None
        try:
            self.model.train(X, y, epochs=epochs, batch_size=batch_size, shuffle=False,
                             print_every=None, progress=False)
        finally:
            if previous:
                cr.use_kernels(previous)

    def parameters(self):
        return self.model.get_parameters()


class ChainruleNumpyPeer(ChainrulePeer):
    """chainrule with the NumPy path forced (``chainrule.use_kernels("numpy")``)."""

    name = "chainrule-numpy"
    path = "numpy"


class LeanPeer:
    name = "lean-numpy"

    def __init__(self, params, learning_rate):
        self.weights = [w.copy() for w, _ in params]
        self.biases = [b.copy() for _, b in params]
        self.learning_rate = learning_rate

    def train(self, X, y, epochs, batch_size):
        lean.train(self.weights, self.biases, X, y, epochs, batch_size, self.learning_rate)

    def parameters(self):
        return list(zip(self.weights, self.biases, strict=True))


class BookPeer:
    name = "book-numpy"

    def __init__(self, params, learning_rate):
        self.network = BookNetwork(params, learning_rate)

    def train(self, X, y, epochs, batch_size):
        self.network.train(X, y, epochs, batch_size)

    def parameters(self):
        return self.network.parameters()


class TorchPeer:
    name = "pytorch"

    def __init__(self, params, learning_rate):
        import torch

        self.torch = torch
        layers = []
        for i, (w, b) in enumerate(params):
            linear = torch.nn.Linear(*w.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                linear.bias.copy_(torch.from_numpy(b.ravel()))
            layers.append(linear)
            if i < len(params) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate, eps=1e-7)
        self.loss_fn = torch.nn.CrossEntropyLoss()

    def train(self, X, y, epochs, batch_size):
        torch = self.torch
        X, y = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        n = len(X)
        size = n if batch_size is None else batch_size
        for _ in range(epochs):
            for start in range(0, n, size):
                xb, yb = X[start:start + size], y[start:start + size]
                output = self.model(xb)
                loss = self.loss_fn(output, yb)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                # The same per-step metrics the other peers keep.
                loss.item()
                (output.argmax(dim=1) == yb).float().mean().item()

    def parameters(self):
        linears = [m for m in self.model if isinstance(m, self.torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy()[None, :].copy())
                for m in linears]


class SklearnPeer:
    name = "scikit-learn"

    def __init__(self, params, learning_rate):
        self.params = params
        self.learning_rate = learning_rate
        self.clf = None

    def _classifier(self, X, y, batch_size):
        from sklearn.neural_network import MLPClassifier

        hidden = tuple(w.shape[1] for w, _ in self.params[:-1])
        clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="adam",
                            alpha=0.0, batch_size=len(X) if batch_size is None else batch_size,
                            learning_rate_init=self.learning_rate, max_iter=1, shuffle=False,
                            tol=0.0, n_iter_no_change=10**9, epsilon=1e-7, warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)  # builds the attributes; the weights are replaced below
        clf.coefs_ = [w.copy() for w, _ in self.params]
        clf.intercepts_ = [b.ravel().copy() for _, b in self.params]
        return clf

    def prepare(self, X, y, batch_size):
        self.clf = self._classifier(X, y, batch_size)

    def train(self, X, y, epochs, batch_size):
        if self.clf is None:
            self.prepare(X, y, batch_size)
        self.clf.max_iter = epochs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: we stop on purpose
            self.clf.fit(X, y)

    def parameters(self):
        return [(w, b[None, :]) for w, b in zip(self.clf.coefs_, self.clf.intercepts_,
                                                  strict=True)]


def baseline_peer(folder: Path):
    """A peer running ``chainrule_base``: chainrule's code at an earlier commit, from
    ``folder`` (see ``run.extract_baseline``), on its own (NumPy) path."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    import chainrule_base

    revision = (folder / "REVISION").read_text().strip()

    class BaselinePeer(ChainrulePeer):
        name = f"chainrule@{revision}"

        def __init__(self, params, learning_rate):
            layers = []
            for i, (w, b) in enumerate(params):
                dense = chainrule_base.Dense(*w.shape)
                dense.weights[...] = w
                dense.biases[...] = b
                layers.append(dense)
                layers.append(chainrule_base.ReLU() if i < len(params) - 1
                              else chainrule_base.Softmax())
            self.model = chainrule_base.Model(layers)
            self.model.set(loss=chainrule_base.CategoricalCrossentropy(),
                           optimizer=chainrule_base.Adam(learning_rate))

        @staticmethod
        def warm_up():
            pass

    return BaselinePeer


def _jax_step(learning_rate, params, state, x, y, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One whole training step — forward, backward, Adam — as one function for jax.jit."""
    import jax
    import jax.numpy as jnp

    def loss_fn(params):
        out = x
        for w, b in params[:-1]:
            out = jax.nn.relu(out @ w + b)
        w, b = params[-1]
        logits = out @ w + b
        log_probs = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1)), logits

    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    accuracy = jnp.mean(jnp.argmax(logits, axis=1) == y)
    m, v, t, sums = state
    # Running sums of the step's loss and accuracy, fetched once per epoch.
    sums = sums + jnp.stack([loss, accuracy])
    t = t + 1
    correction_1, correction_2 = 1 - beta_1**t, 1 - beta_2**t
    m = jax.tree_util.tree_map(lambda m, g: beta_1 * m + (1 - beta_1) * g, m, grads)
    v = jax.tree_util.tree_map(lambda v, g: beta_2 * v + (1 - beta_2) * g * g, v, grads)
    params = jax.tree_util.tree_map(
        lambda p, m, v: p - learning_rate * (m / correction_1)
        / (jnp.sqrt(v / correction_2) + epsilon), params, m, v)
    return params, (m, v, t, sums)


class JaxPeer:
    """JAX: the whole step jit-compiled by XLA, batches staged on the device beforehand,
    compilation done in ``prepare`` (untimed). The step adds its loss and accuracy to
    running sums it carries on the device; they are fetched once per epoch, so no step
    waits for the host."""

    name = "jax"

    def __init__(self, params, learning_rate):
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        self.params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in params]
        zeros = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.state = (zeros, jax.tree_util.tree_map(jnp.zeros_like, self.params),
                      jnp.zeros((), jnp.float32), jnp.zeros(2, jnp.float32))
        # The parameters and state are donated: XLA updates them in place.
        self.step = jax.jit(functools.partial(_jax_step, learning_rate), donate_argnums=(0, 1))
        self.batches = None

    def prepare(self, X, y, batch_size):
        jax, jnp = self.jax, self.jnp
        size = len(X) if batch_size is None else batch_size
        self.batches = [(jax.device_put(X[s:s + size]),
                         jax.device_put(y[s:s + size].astype(np.int32)))
                        for s in range(0, len(X), size)]
        # Compile for every batch shape on copies (the originals must survive donation).
        for xb, yb in {tuple(xb.shape): (xb, yb) for xb, yb in self.batches}.values():
            copies = jax.tree_util.tree_map(jnp.copy, (self.params, self.state))
            jax.block_until_ready(self.step(*copies, xb, yb))

    def train(self, X, y, epochs, batch_size):
        if self.batches is None:
            self.prepare(X, y, batch_size)
        params, state = self.params, self.state
        sums = np.array(state[3])  # a copy: the device buffer is donated to the next step
        for _ in range(epochs):
            for xb, yb in self.batches:
                params, state = self.step(params, state, xb, yb)
            # The epoch's mean loss and accuracy, on the host as the other peers' histories.
            previous, sums = sums, np.array(state[3])
            self.epoch_figures = (sums - previous) / len(self.batches)
        self.jax.block_until_ready(params)
        self.params, self.state = params, state

    def parameters(self):
        return [(np.asarray(w), np.asarray(b)) for w, b in self.params]


PEERS = {peer.name: peer for peer in (ChainrulePeer, ChainruleNumpyPeer, BookPeer, LeanPeer,
                                      TorchPeer, JaxPeer, SklearnPeer)}

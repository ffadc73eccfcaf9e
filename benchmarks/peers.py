"""The peers of the benchmark: each trains the same MLP from the same initial weights.

A peer is built from ``(params, learning_rate)`` — params a list of
``(weights (n_in, n_out), biases (1, n_out))`` float32 arrays — and offers
``train(X, y, epochs, batch_size)`` and ``parameters()``. All use Adam
(β₁ 0.9, β₂ 0.999, ε 1e-7), no decay, no shuffling, softmax + cross-entropy,
and compute the loss and accuracy of every step.
"""

from __future__ import annotations

import warnings

import numpy as np
from booknumpy import BookNetwork

import chainrule as cr


class ChainrulePeer:
    name = "chainrule"

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

    def train(self, X, y, epochs, batch_size):
        self.model.train(X, y, epochs=epochs, batch_size=batch_size, shuffle=False,
                         print_every=None, progress=False)

    def parameters(self):
        return self.model.get_parameters()


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


PEERS = {peer.name: peer for peer in (ChainrulePeer, BookPeer, TorchPeer, SklearnPeer)}

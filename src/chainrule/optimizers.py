"""Optimizers: move each parameter against its gradient.

An optimizer sees only ``(layer, name)`` pairs — a layer's ``params`` and the
matching ``"d" + name`` gradients — never layer types. Per-parameter state
(momentums, caches) is kept in ``self.state[layer][name]``.

The book's call sequence is kept::

    optimizer.pre_update_params()      # learning-rate decay
    optimizer.update_params(layer)     # for each trainable layer
    optimizer.post_update_params()     # iterations += 1

Updates are written in place with ``out=`` so a training step allocates nothing.
"""

from __future__ import annotations

import weakref

import numpy as np

from ._checks import check_fraction, check_nonnegative, check_positive


class Optimizer:
    """Base class: learning-rate decay, the iteration count and per-parameter state."""

    #: names of the per-parameter state arrays a subclass keeps
    slots: tuple[str, ...] = ()

    def __init__(self, learning_rate: float, decay: float = 0.0):
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.decay = check_nonnegative("decay", decay)
        self.current_learning_rate = self.learning_rate
        self.iterations = 0
        self.state: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def pre_update_params(self) -> None:
        """Decay the learning rate: lr / (1 + decay · iterations)."""
        if self.decay:
            self.current_learning_rate = self.learning_rate / (1.0 + self.decay * self.iterations)

    def update_params(self, layer) -> None:
        """Update every parameter listed in ``layer.params`` from its gradient."""
        layer_state = self.state.get(layer)
        if layer_state is None:
            layer_state = self.state[layer] = {}
        for name in layer.params:
            param = getattr(layer, name)
            slots = layer_state.get(name)
            if slots is None:
                # One scratch array per parameter keeps the update allocation-free.
                slots = {slot: np.zeros_like(param) for slot in (*self.slots, "scratch")}
                layer_state[name] = slots
            self._update(param, getattr(layer, "d" + name), slots)

    def get_state(self, layer, name: str) -> dict[str, np.ndarray]:
        """The state arrays kept for ``layer``'s parameter ``name`` (empty before a step)."""
        slots = self.state.get(layer, {}).get(name, {})
        return {slot: slots[slot] for slot in self.slots if slot in slots}

    def set_state(self, layer, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Restore state saved with ``get_state`` (used when loading a checkpoint)."""
        param = getattr(layer, name)
        slots = {"scratch": np.zeros_like(param)}
        for slot in self.slots:
            value = arrays.get(slot)
            if value is None or value.shape != param.shape:
                raise ValueError(f"{self!r} state {slot!r} for {layer!r}.{name} must have shape "
                                 f"{param.shape}")
            slots[slot] = value.astype(param.dtype)
        self.state.setdefault(layer, {})[name] = slots

    def post_update_params(self) -> None:
        """Count the step (Adam's bias correction and the decay use it)."""
        self.iterations += 1

    def step(self, layers) -> None:
        """One whole step: pre, update every layer that has parameters, post."""
        self.pre_update_params()
        for layer in layers:
            if layer.params:
                self.update_params(layer)
        self.post_update_params()

    def _update(self, param: np.ndarray, grad: np.ndarray, slots: dict) -> None:
        raise NotImplementedError

    def config(self) -> dict:
        return {"learning_rate": self.learning_rate, "decay": self.decay}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum.

    Without momentum: p ← p − lr·g. With momentum: u ← momentum·u − lr·g; p ← p + u,
    so a step keeps part of the previous step's direction.
    """

    slots = ("momentums",)

    def __init__(self, learning_rate: float = 1.0, decay: float = 0.0, momentum: float = 0.0):
        super().__init__(learning_rate, decay)
        self.momentum = check_fraction("momentum", momentum)

    def _update(self, param, grad, slots):
        step = slots["scratch"]
        np.multiply(grad, -self.current_learning_rate, out=step)
        if self.momentum:
            u = slots["momentums"]
            u *= self.momentum
            u += step
            step = u
        param += step

    def config(self) -> dict:
        return {**super().config(), "momentum": self.momentum}


class Adagrad(Optimizer):
    """Per-parameter learning rates: cache ← cache + g²; p ← p − lr·g / (√cache + ε)."""

    slots = ("cache",)

    def __init__(self, learning_rate: float = 1.0, decay: float = 0.0, epsilon: float = 1e-7):
        super().__init__(learning_rate, decay)
        self.epsilon = check_positive("epsilon", epsilon)

    def _update(self, param, grad, slots):
        cache, tmp = slots["cache"], slots["scratch"]
        np.multiply(grad, grad, out=tmp)
        cache += tmp
        _apply_scaled_step(param, grad, cache, self.epsilon, self.current_learning_rate, tmp)

    def config(self) -> dict:
        return {**super().config(), "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """A decaying average of g²: cache ← ρ·cache + (1 − ρ)·g²; p ← p − lr·g / (√cache + ε)."""

    slots = ("cache",)

    def __init__(
        self,
        learning_rate: float = 0.001,
        decay: float = 0.0,
        epsilon: float = 1e-7,
        rho: float = 0.9,
    ):
        super().__init__(learning_rate, decay)
        self.epsilon = check_positive("epsilon", epsilon)
        self.rho = check_fraction("rho", rho)

    def _update(self, param, grad, slots):
        cache, tmp = slots["cache"], slots["scratch"]
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.rho
        cache *= self.rho
        cache += tmp
        _apply_scaled_step(param, grad, cache, self.epsilon, self.current_learning_rate, tmp)

    def config(self) -> dict:
        return {**super().config(), "epsilon": self.epsilon, "rho": self.rho}


def _apply_scaled_step(param, grad, cache, epsilon, learning_rate, tmp) -> None:
    """p ← p − lr·g / (√cache + ε), in place through ``tmp``."""
    np.sqrt(cache, out=tmp)
    tmp += epsilon
    np.divide(grad, tmp, out=tmp)
    tmp *= learning_rate
    param -= tmp


class Adam(Optimizer):
    """Adaptive moments with bias correction.

    m ← β₁·m + (1 − β₁)·g and v ← β₂·v + (1 − β₂)·g² (running mean of g and g²);
    m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ) undo their bias towards zero early on;
    p ← p − lr·m̂ / (√v̂ + ε), with t = iterations + 1.
    """

    slots = ("momentums", "cache")

    def __init__(
        self,
        learning_rate: float = 0.001,
        decay: float = 0.0,
        epsilon: float = 1e-7,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
    ):
        super().__init__(learning_rate, decay)
        self.epsilon = check_positive("epsilon", epsilon)
        self.beta_1 = check_fraction("beta_1", beta_1)
        self.beta_2 = check_fraction("beta_2", beta_2)

    def _update(self, param, grad, slots):
        m, v, tmp = slots["momentums"], slots["cache"], slots["scratch"]
        t = self.iterations + 1
        np.multiply(grad, 1 - self.beta_1, out=tmp)
        m *= self.beta_1
        m += tmp
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.beta_2
        v *= self.beta_2
        v += tmp
        # tmp ← √v̂ + ε, then the step lr·m̂ / tmp.
        np.divide(v, 1 - self.beta_2**t, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= self.current_learning_rate / (1 - self.beta_1**t)
        param -= tmp

    def config(self) -> dict:
        return {
            **super().config(),
            "epsilon": self.epsilon,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
        }

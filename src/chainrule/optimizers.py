"""Optimizers: move each parameter against its gradient.

An optimizer sees only ``(layer, name)`` pairs — a layer's ``params`` and the
matching ``"d" + name`` gradients — never layer types. Per-parameter state
(momentums, caches) is kept in ``self.state[layer][name]``.

The book's call sequence is kept::

    optimizer.pre_update_params()      # learning-rate decay
    optimizer.update_params(layer)     # for each trainable layer
    optimizer.post_update_params()     # iterations += 1

``step(layers)`` does all three, and faster: on its first call it moves every
parameter of those layers into one flat array (the layers keep views into it),
so the update is a handful of in-place NumPy operations over all parameters at
once, taken a cache-sized chunk at a time. Updates never allocate.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from ._checks import check_fraction, check_nonnegative, check_positive

# Elements per chunk of the flat update: the chunk of every array the update
# touches fits in a core's L2 cache, so its ~12 passes read main memory once.
CHUNK = 65_536


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
        self._flat: _FlatParameters | None = None

    def pre_update_params(self) -> None:
        """Decay the learning rate: lr / (1 + decay · iterations)."""
        if self.decay:
            self.current_learning_rate = self.learning_rate / (1.0 + self.decay * self.iterations)

    def update_params(self, layer) -> None:
        """Update every parameter listed in ``layer.params`` from its gradient."""
        for name in layer.params:
            self._update(getattr(layer, name), getattr(layer, "d" + name),
                         self._slots(layer, name))

    def _slots(self, layer, name: str) -> dict[str, np.ndarray]:
        slots = self.state.setdefault(layer, {}).setdefault(name, {})
        # Missing on first use, and in state the flat update made (its chunks share one
        # scratch). One scratch array per parameter keeps this update allocation-free.
        if "scratch" not in slots:
            for slot in (*self.slots, "scratch"):
                if slot not in slots:
                    slots[slot] = np.zeros_like(getattr(layer, name))
        return slots

    def get_state(self, layer, name: str) -> dict[str, np.ndarray]:
        """The state arrays kept for ``layer``'s parameter ``name`` (empty before a step)."""
        slots = self.state.get(layer, {}).get(name, {})
        return {slot: slots[slot] for slot in self.slots if slot in slots}

    def set_state(self, layer, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Restore state saved with ``get_state`` (used when loading a checkpoint)."""
        param = getattr(layer, name)
        for slot in self.slots:
            value = arrays.get(slot)
            if value is None or value.shape != param.shape:
                raise ValueError(f"{self!r} state {slot!r} for {layer!r}.{name} must have shape "
                                 f"{param.shape}")
        slots = self._slots(layer, name)
        for slot in self.slots:
            slots[slot][...] = arrays[slot]

    def post_update_params(self) -> None:
        """Count the step (Adam's bias correction and the decay use it)."""
        self.iterations += 1

    def step(self, layers) -> None:
        """One whole step over ``layers``: decay, update every parameter, count the step.

        Raises ``FloatingPointError``, changing nothing, if a gradient holds NaN or inf.
        """
        if self._flat is None or not self._flat.holds(layers):
            self._flat = _FlatParameters.pack(self, layers)
        trainable = [layer for layer in layers if layer.params]
        if self._flat is None:  # parameters of different dtypes: one update each
            gradients = [getattr(layer, "d" + name) for layer in trainable for name in layer.params]
        else:
            self._flat.gather_gradients()
            gradients = [self._flat.grads]
        # The squared norm ‖g‖² is one fast BLAS pass, and NaN or infinite if any element
        # is (or if the norm overflows, which is divergence as well).
        for gradient in gradients:
            if not math.isfinite(np.vdot(gradient, gradient)):
                raise FloatingPointError("a gradient holds NaN or infinite values")
        self.pre_update_params()
        if self._flat is None:
            for layer in trainable:
                self.update_params(layer)
        else:
            for param, grad, slots in self._flat.chunks:
                self._update(param, grad, slots)
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
        # cache ← ρ·cache + (1 − ρ)·g², written as ρ·(cache − g²) + g² to need no temporary.
        cache -= tmp
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

    The state arrays hold M = m/(1 − β₁) and V = v/(1 − β₂), whose updates
    M ← β₁·M + g and V ← β₂·V + g² take one pass fewer each; the constant
    factors move into the step's scalars. ``get_state`` returns M and V as kept.
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
        M, V, tmp = slots["momentums"], slots["cache"], slots["scratch"]
        t = self.iterations + 1
        # M ← β₁·M + g and V ← β₂·V + g²: m and v without their constant factors.
        M *= self.beta_1
        M += grad
        np.multiply(grad, grad, out=tmp)
        V *= self.beta_2
        V += tmp
        # With m = (1 − β₁)·M, c₁ = 1 − β₁ᵗ, √v̂ = √((1 − β₂)·V)/c₂ and c₂ = √(1 − β₂ᵗ),
        # the step lr·m̂/(√v̂ + ε) is exactly k·M/(√V + ε′) with the scalars
        # k = lr·(1 − β₁)·c₂/(c₁·√(1 − β₂)) and ε′ = ε·c₂/√(1 − β₂).
        c1 = 1 - self.beta_1**t
        c2 = math.sqrt(1 - self.beta_2**t)
        root = math.sqrt(1 - self.beta_2)
        np.sqrt(V, out=tmp)
        tmp += self.epsilon * c2 / root
        np.divide(M, tmp, out=tmp)
        tmp *= self.current_learning_rate * (1 - self.beta_1) * c2 / (c1 * root)
        param -= tmp

    def config(self) -> dict:
        return {
            **super().config(),
            "epsilon": self.epsilon,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
        }


class _FlatParameters:
    """Every parameter of some layers in one contiguous array, and likewise their
    gradients and the optimizer's state; the layers' attributes become views into
    them. ``chunks`` cuts all of it into cache-sized pieces for the update.
    """

    def __init__(self, source, layers, entries, params, grads, slots):
        self.source = source  # the list step() was given, to recognise it cheaply
        self.layers = layers
        self.entries = entries  # (layer, name, parameter view, gradient view)
        self.params, self.grads, self.slots = params, grads, slots
        # Every chunk shares one chunk-sized scratch array: it stays in cache from one
        # chunk to the next, where a full-sized one would stream through memory.
        scratch = np.empty(min(CHUNK, len(params)), params.dtype)
        self.chunks = []
        for i in range(0, len(params), CHUNK):
            part = slice(i, i + CHUNK)
            chunk_slots = {slot: array[part] for slot, array in slots.items()}
            chunk_slots["scratch"] = scratch[:len(params[part])]
            self.chunks.append((params[part], grads[part], chunk_slots))

    @classmethod
    def pack(cls, optimizer: Optimizer, source) -> _FlatParameters | None:
        layers = [layer for layer in source if layer.params]
        pairs = [(layer, name) for layer in layers for name in layer.params]
        arrays = [getattr(layer, name) for layer, name in pairs]
        if not arrays or len({a.dtype for a in arrays}) != 1:
            return None
        dtype = arrays[0].dtype
        total = sum(a.size for a in arrays)
        params, grads = np.empty(total, dtype), np.zeros(total, dtype)
        # np.full writes every page now. np.zeros would map them lazily, and the first
        # update, which reads each page before writing it, would fault every page twice.
        slots = {slot: np.full(total, 0, dtype) for slot in optimizer.slots}
        entries, start = [], 0
        for (layer, name), array in zip(pairs, arrays, strict=True):
            part = slice(start, start + array.size)
            start += array.size
            view = params[part].reshape(array.shape)
            view[...] = array
            grad_view = grads[part].reshape(array.shape)
            grad = getattr(layer, "d" + name, None)
            if isinstance(grad, np.ndarray) and grad.shape == array.shape:
                grad_view[...] = grad
            old = optimizer.state.get(layer, {}).get(name, {})
            new = {slot: flat[part].reshape(array.shape) for slot, flat in slots.items()}
            for slot in optimizer.slots:  # carry over state from update_params/set_state
                if slot in old:
                    new[slot][...] = old[slot]
            optimizer.state.setdefault(layer, {})[name] = new
            setattr(layer, name, view)
            setattr(layer, "d" + name, grad_view)
            entries.append((layer, name, view, grad_view))
        return cls(source, layers, entries, params, grads, slots)

    def holds(self, layers) -> bool:
        """Still the same layers, each parameter still the view into the flat array?"""
        # Layers define no __eq__: the list comparison compares identities.
        if layers is not self.source and [lay for lay in layers if lay.params] != self.layers:
            return False
        for layer, name, view, _ in self.entries:
            if getattr(layer, name) is not view:
                return False
        return True

    def gather_gradients(self) -> None:
        """Copy in any gradient a layer wrote to a new array rather than into its view."""
        for layer, name, _, grad_view in self.entries:
            grad = getattr(layer, "d" + name)
            if grad is not grad_view:
                np.copyto(grad_view, grad)

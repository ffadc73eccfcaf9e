"""Optimizers: move each parameter against its gradient.

An optimizer sees only ``(layer, name)`` pairs — a layer's ``params`` and the
matching ``"d" + name`` gradients — never layer types. Per-parameter state
(momentums, caches) is kept in ``self.state[layer][name]``, and also where the
book keeps it: ``layer.weight_momentums``, ``layer.weight_cache``,
``layer.bias_momentums``, ``layer.bias_cache`` are the same arrays.

The book's call sequence is kept::

    optimizer.pre_update_params()      # learning-rate decay
    optimizer.update_params(layer)     # for each trainable layer
    optimizer.post_update_params()     # iterations += 1

``step(layers)`` does all three, and faster and more safely: a layer whose
parameters lie in one buffer (``Dense`` keeps ``weights`` and ``biases`` that
way) is updated as one flat array, a cache-sized chunk at a time (``_groups.py``
lays those arrays out); updates never allocate, parameters are never moved (an
array you took from ``layer.weights`` stays the parameter), and a step that would
make a parameter NaN or infinite is undone and reported.

float16 parameters are trained as mixed-precision trainers train them: the
optimizer keeps a float32 ``master`` copy of each one (a state slot beside the
others, saved with them) and float32 state, updates the master in float32 from
the float16 gradient, and writes it back rounded to float16. A float16 state would
fail at once: Adam's g² underflows to 0, ε = 1e-7 rounds to a subnormal, and the
first step divides by it; and an update smaller than half a float16 step (1e-3 on
a weight of 1) would be rounded away every time instead of adding up.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _kernels
from .._checks import check_fraction, check_nonnegative, check_positive, describe
from ._groups import MASTER, _Groups, adopt_changes, round_into, work_dtype


class Optimizer:
    """Base class: learning-rate decay, the iteration count and per-parameter state."""

    #: names of the per-parameter state arrays a subclass keeps
    slots: tuple[str, ...] = ()

    def __init__(self, learning_rate: float, decay: float = 0.0):
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.decay = check_nonnegative("decay", decay)
        self.current_learning_rate = self.learning_rate
        #: set by learning-rate callbacks (schedules, ReduceLROnPlateau); 1 without them
        self.learning_rate_factor = 1.0
        self.iterations = 0
        self.state: dict = {}  # {layer: {name: {slot: array}}}
        self._groups: _Groups | None = None
        self._scratch: dict = {}

    def pre_update_params(self) -> None:
        """Decay the learning rate: lr / (1 + decay · iterations), times
        ``learning_rate_factor`` (what a learning-rate callback sets; 1 without one)."""
        if self.decay or self.learning_rate_factor != 1.0:
            # Written as the book does, lr · (1 / (1 + decay · t)): the printed rate then
            # matches the book's to the last digit (lr / (1 + …) rounds differently).
            self.current_learning_rate = self.learning_rate * (
                1.0 / (1.0 + self.decay * self.iterations))
            if self.learning_rate_factor != 1.0:
                self.current_learning_rate *= self.learning_rate_factor

    def update_params(self, layer) -> None:
        """Update every parameter listed in ``layer.params`` from its gradient (the book's call)."""
        for name in layer.params:
            param, grad = getattr(layer, name), getattr(layer, "d" + name)
            state = self._state_of(layer, name)
            work = param
            if MASTER in state:  # float16: update the float32 master, then round it into param
                work = state[MASTER]
                adopt_changes(work, param)
                grad = np.asarray(grad, dtype=work.dtype)
            scratch = self.scratch(work.size, work.dtype).reshape(work.shape)
            kernels = self._kernels(work, grad)
            if kernels is not None:  # the same update, compiled (the scratch is its backup)
                flat = {slot: array.reshape(-1) for slot, array in state.items()}
                self._fused_update(kernels, work.reshape(-1), grad.reshape(-1), flat,
                                   scratch.reshape(-1))
            else:
                self._update(work, grad, state, scratch)
            if work is not param:
                round_into(param, work)

    def post_update_params(self) -> None:
        """Count the step (Adam's bias correction and the decay use it)."""
        self.iterations += 1

    def step(self, layers) -> None:
        """One whole step over ``layers``: decay, update every parameter, count the step.

        Raises ``FloatingPointError`` if a gradient holds NaN or infinity (nothing
        changes), or if the update would make a parameter NaN or infinite: then every
        parameter is put back as it was before the step.
        """
        if self._groups is None or not self._groups.holds(layers):
            self._groups = _Groups(self, layers)
        groups = self._groups.groups
        for group in groups:
            group.gather_gradients()
            # ‖g‖² is one fast BLAS pass, and NaN or infinite if any element is (or if the
            # norm overflows, which is divergence as well). float16 gradients are summed
            # in their float32 copy, where ‖g‖² of ordinary values cannot overflow.
            if not math.isfinite(np.vdot(group.work_grads, group.work_grads)):
                raise FloatingPointError("a gradient holds NaN or infinite values")
        self.pre_update_params()
        for group in groups:
            # ``work`` is the parameters themselves, or the float32 master of float16 ones.
            if group.mixed:
                group.adopt_changes()
            kernels = self._kernels(group.work)
            if kernels is not None:
                # _update below, the backup copy and the check in one compiled pass.
                if not self._fused_update(kernels, *group.whole):
                    self._groups.undo(group, len(group.chunks) - 1)
                    raise _diverged()
            else:
                for i, (param, grad, state, backup, tmp, ones) in enumerate(group.chunks):
                    np.copyto(backup, param)
                    self._update(param, grad, state, tmp)
                    # The sum is NaN or infinite if any element is (or if it overflows, which
                    # only parameters near float's limit can make it do): one BLAS pass.
                    if not math.isfinite(np.vdot(ones, param)):
                        self._groups.undo(group, i)
                        raise _diverged()
            if group.mixed and not group.round_into_params():  # beyond float16's range
                self._groups.undo(group, len(group.chunks) - 1)
                raise _diverged()
        self.post_update_params()

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, tmp: np.ndarray):
        """Update ``param`` in place from ``grad`` and its ``state``; ``tmp`` is scratch."""
        raise NotImplementedError

    #: ``_update`` as a compiled kernel (``_kernels``), in subclasses that have one:
    #: ``(kernels, param, grad, state, backup) -> all new parameters finite``, 1-D arrays
    _fused_update = None

    def _kernels(self, *arrays):
        """The compiled kernels if they apply: a ``_fused_update`` that belongs to the
        class defining ``_update`` (a subclass that rewrites the math gets NumPy), and
        float32 C-contiguous ``arrays`` on the numba path."""
        if self._fused_update is None:
            return None
        for cls in type(self).__mro__:
            if "_update" in cls.__dict__:
                if "_fused_update" not in cls.__dict__:
                    return None
                break
        return _kernels.fast(*arrays)

    # -- state ------------------------------------------------------------------------------

    def state_slots(self, param: np.ndarray) -> tuple[str, ...]:
        """The state arrays kept for ``param``: ``slots``, and ``"master"`` (its float32
        copy) for a float16 parameter."""
        return self.slots + ((MASTER,) if work_dtype(param.dtype) != param.dtype else ())

    def _state_of(self, layer, name: str) -> dict[str, np.ndarray]:
        """The state arrays of ``layer``'s parameter ``name``: zeros on first use, and for a
        float16 parameter float32 zeros and a float32 master copy of it."""
        state = self.state.setdefault(layer, {}).setdefault(name, {})
        param = getattr(layer, name)
        dtype = work_dtype(param.dtype)
        for slot in self.state_slots(param):
            old = state.get(slot)
            if old is None or old.shape != param.shape:
                value = param.astype(dtype) if slot == MASTER else np.zeros(param.shape, dtype)
                self._keep_state(layer, name, slot, value)
            elif old.dtype != dtype:  # float16 state from before float32 state existed
                self._keep_state(layer, name, slot, old.astype(dtype))
        return state

    def _keep_state(self, layer, name: str, slot: str, array: np.ndarray) -> None:
        """Store a state array here and where the book keeps it (``layer.weight_cache``);
        a master copy has no place in the book."""
        self.state.setdefault(layer, {}).setdefault(name, {})[slot] = array
        if slot != MASTER:
            setattr(layer, book_state_name(name, slot), array)

    def get_state(self, layer, name: str) -> dict[str, np.ndarray]:
        """The state arrays kept for ``layer``'s parameter ``name`` (empty before a step)."""
        state = self.state.get(layer, {}).get(name, {})
        return {slot: state[slot] for slot in self.state_slots(getattr(layer, name))
                if slot in state}

    def set_state(self, layer, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Restore state saved with ``get_state`` (used when loading a checkpoint).

        Every array is checked before anything is written. A float16 parameter's
        ``"master"`` may be left out (files written before it existed): the master
        then starts from the parameter itself.
        """
        param = getattr(layer, name)
        checked = {}
        for slot in self.state_slots(param):
            value = arrays.get(slot) if isinstance(arrays, dict) else None
            if value is None and slot == MASTER:
                continue
            value = None if value is None else np.asarray(value)
            if value is None or value.shape != param.shape or value.dtype.kind not in "fiu":
                raise ValueError(f"{self!r} state {slot!r} for {layer!r}.{name} must be a "
                                 f"numeric array of shape {param.shape}; got {describe(value)}")
            if not np.isfinite(value).all():
                raise ValueError(f"{self!r} state {slot!r} for {layer!r}.{name} must be finite")
            checked[slot] = value
        state = self._state_of(layer, name)
        for slot, value in checked.items():
            state[slot][...] = value
        if MASTER in state and MASTER not in checked:
            state[MASTER][...] = param

    def scratch(self, size: int, dtype) -> np.ndarray:
        """A reusable 1-D work array of ``size`` elements (contents undefined)."""
        buffer = self._scratch.get(np.dtype(dtype))
        if buffer is None or buffer.size < size:
            buffer = self._scratch[np.dtype(dtype)] = np.empty(max(size, 1), dtype)
        return buffer[:size]

    def __getstate__(self) -> dict:
        # The packing and the scratch are rebuilt on the next step; the state is kept.
        return {**self.__dict__, "_groups": None, "_scratch": {}}

    def config(self) -> dict:
        """Hyper-parameters that rebuild this optimizer: ``type(opt)(**opt.config())``."""
        return {"learning_rate": self.learning_rate, "decay": self.decay}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def _diverged() -> FloatingPointError:
    return FloatingPointError("the update would make parameters NaN or infinite; they are as "
                              "they were before this step")


def book_state_name(name: str, slot: str) -> str:
    """Where the book keeps a state array: ``("weights", "cache")`` → ``"weight_cache"``."""
    return {"weights": "weight", "biases": "bias"}.get(name, name) + "_" + slot


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum.

    Without momentum: p ← p − lr·g. With momentum: u ← momentum·u − lr·g; p ← p + u,
    so a step keeps part of the previous step's direction.
    """

    slots = ("momentums",)

    def __init__(self, learning_rate: float = 1.0, decay: float = 0.0, momentum: float = 0.0):
        super().__init__(learning_rate, decay)
        self.momentum = check_fraction("momentum", momentum)

    def _update(self, param, grad, state, tmp):
        step = tmp
        np.multiply(grad, -self.current_learning_rate, out=step)
        if self.momentum:
            u = state["momentums"]
            u *= self.momentum
            u += step
            step = u
        param += step

    def _fused_update(self, kernels, param, grad, state, backup) -> bool:
        if self.momentum:
            return kernels.sgd_momentum(param, grad, state["momentums"], backup, self.momentum,
                                        self.current_learning_rate)
        return kernels.sgd(param, grad, backup, self.current_learning_rate)

    def config(self) -> dict:
        return {**super().config(), "momentum": self.momentum}


class Adagrad(Optimizer):
    """Per-parameter learning rates: cache ← cache + g²; p ← p − lr·g / (√cache + ε)."""

    slots = ("cache",)

    def __init__(self, learning_rate: float = 1.0, decay: float = 0.0, epsilon: float = 1e-7):
        super().__init__(learning_rate, decay)
        self.epsilon = check_positive("epsilon", epsilon)

    def _update(self, param, grad, state, tmp):
        cache = state["cache"]
        np.multiply(grad, grad, out=tmp)
        cache += tmp
        _apply_scaled_step(param, grad, cache, self.epsilon, self.current_learning_rate, tmp)

    def _fused_update(self, kernels, param, grad, state, backup) -> bool:
        return kernels.adagrad(param, grad, state["cache"], backup, self.epsilon,
                               self.current_learning_rate)

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

    def _update(self, param, grad, state, tmp):
        cache = state["cache"]
        np.multiply(grad, grad, out=tmp)
        # cache ← ρ·cache + (1 − ρ)·g², written as ρ·(cache − g²) + g² to need no temporary.
        cache -= tmp
        cache *= self.rho
        cache += tmp
        _apply_scaled_step(param, grad, cache, self.epsilon, self.current_learning_rate, tmp)

    def _fused_update(self, kernels, param, grad, state, backup) -> bool:
        return kernels.rmsprop(param, grad, state["cache"], backup, self.rho, self.epsilon,
                               self.current_learning_rate)

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

    m ← β₁·m + (1 − β₁)·g and v ← β₂·v + (1 − β₂)·g² (running means of g and g²);
    m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ) undo their bias towards zero early on;
    p ← p − lr·m̂ / (√v̂ + ε), with t = iterations + 1. The state holds m and v
    themselves (``layer.weight_momentums``, ``layer.weight_cache``), as in the book.
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

    def _update(self, param, grad, state, tmp):
        m, v = state["momentums"], state["cache"]
        t = self.iterations + 1
        # m ← β₁·m + (1 − β₁)·g
        m *= self.beta_1
        np.multiply(grad, 1 - self.beta_1, out=tmp)
        m += tmp
        # v ← β₂·v + (1 − β₂)·g²
        v *= self.beta_2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.beta_2
        v += tmp
        # lr·m̂/(√v̂ + ε) with m̂ = m/c₁, √v̂ = √v/c₂ (c₁ = 1 − β₁ᵗ, c₂ = √(1 − β₂ᵗ)) is
        # exactly k·m/(√v + ε·c₂) with the scalar k = lr·c₂/c₁: two passes fewer.
        c1 = 1 - self.beta_1**t
        c2 = math.sqrt(1 - self.beta_2**t)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon * c2
        np.divide(m, tmp, out=tmp)
        tmp *= self.current_learning_rate * c2 / c1
        param -= tmp

    def _fused_update(self, kernels, param, grad, state, backup) -> bool:
        t = self.iterations + 1
        c1 = 1 - self.beta_1**t
        c2 = math.sqrt(1 - self.beta_2**t)
        return kernels.adam(param, grad, state["momentums"], state["cache"], backup,
                            self.beta_1, self.beta_2, self.epsilon * c2,
                            self.current_learning_rate * c2 / c1)

    def config(self) -> dict:
        return {
            **super().config(),
            "epsilon": self.epsilon,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
        }

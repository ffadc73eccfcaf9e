"""Where a training step's time goes: per phase, for chainrule (both paths), PyTorch and JAX.

    python benchmarks/step_profile.py                 # W1 and W4
    python benchmarks/step_profile.py --workloads W1,W2,W3,W4

1. Each workload's step split into phases (median milliseconds over many steps,
   cycling through the batches):
   * chainrule, on the numba path and with the NumPy path forced: forward, loss and
     metrics, backward, optimizer step, and the training loop's own bookkeeping
     (``Model.train``'s time per step minus the phases);
   * PyTorch: forward and loss, backward, optimizer step;
   * JAX: three jit-compiled functions — the loss, the loss and its gradient, the
     whole step — give forward, backward (the difference) and the Adam update; a
     jit-compiled function that does nothing measures the cost of one call.
2. (W4) CPU seconds the process burns while it sleeps right after a matrix product:
   OpenBLAS's worker busy-waits and holds the second core.
3. (W4) Adam's update of 1.9 M parameters right after a matrix product: NumPy's chunked
   passes, the numba kernel (one pass, one thread), and that loop split over both cores
   with numba's ``parallel=True``.
4. (W4) Whole training with the one-thread kernel and with the parallel one in its place:
   what a parallel pool (and its waiting threads) does to the matrix products around it.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import run
from peers import ChainrulePeer, JaxPeer, TorchPeer, _jax_step

import chainrule as cr
from chainrule import _kernels
from chainrule.training import _loop as training

STEPS = 200


def _median_ms(samples) -> float:
    return 1e3 * statistics.median(list(samples))


def _batches(X, y, batch_size):
    size = len(X) if batch_size is None else batch_size
    return [(X[s:s + size], y[s:s + size]) for s in range(0, len(X) - size + 1, size)]


def _phase_medians(step, batches, steps) -> dict[str, float]:
    """Median ms of each phase of ``step(X, y)``, a generator yielding a phase's name as
    that phase ends, over ``steps`` steps cycling through ``batches``."""
    times: dict[str, list[float]] = {}
    for i in range(steps):
        start = time.perf_counter()
        for phase in step(*batches[i % len(batches)]):
            now = time.perf_counter()
            times.setdefault(phase, []).append(now - start)
            start = now
    return {phase: _median_ms(samples) for phase, samples in times.items()}


def chainrule_parts(workload, path, steps) -> dict[str, float]:
    X, y, params = run.workload_data(workload, quick=False)
    batch_size = run.WORKLOADS[workload][2]
    previous = cr.use_kernels(path)
    try:
        model = ChainrulePeer(params, run.LEARNING_RATE[workload]).model
        model.train(X, y, epochs=1, batch_size=batch_size, shuffle=False, print_every=None,
                    progress=False)
        one_hot = np.eye(model.layers[-2].n_neurons, dtype=np.float32)[y]
        batches = _batches(X, np.arange(len(y)), batch_size)
        loss, accuracy = model.loss, model.accuracy

        def step(Xb, rows):
            targets, labels = one_hot[rows], y[rows]
            output = model.forward(Xb, training=True)
            yield "forward"
            loss.accumulate(loss.sample_losses(output, targets))
            accuracy.calculate(model.output_layer_activation.predictions(output), labels)
            yield "loss and metrics"
            model.backward(output, targets)
            yield "backward"
            model.optimizer.step(model.trainable_layers)
            yield "optimizer step"

        with training._reusing_buffers(model), np.errstate(all="ignore"):
            figures = _phase_medians(step, batches, steps)
        # The whole loop, as Model.train runs it (median epoch over its steps): what the
        # phases leave is the loop's own bookkeeping.
        ends = []

        class Clock(cr.Callback):
            def on_epoch_end(self, epoch, logs):
                ends.append(time.perf_counter())

        model.train(X, y, epochs=max(3, steps // len(batches)), batch_size=batch_size,
                    shuffle=False, print_every=None, progress=False, callbacks=[Clock()])
        epoch_ms = _median_ms(b - a for a, b in itertools.pairwise(ends))
        per_step = epoch_ms / -(-len(X) // (batch_size or len(X)))
        figures["training loop"] = per_step - sum(figures.values())
        return figures
    finally:
        cr.use_kernels(previous)


def torch_parts(workload, steps) -> dict[str, float]:
    import torch

    X, y, params = run.workload_data(workload, quick=False)
    batch_size = run.WORKLOADS[workload][2]
    peer = TorchPeer(params, run.LEARNING_RATE[workload])
    peer.train(X, y, 1, batch_size)
    batches = _batches(torch.from_numpy(X), torch.from_numpy(y), batch_size)

    def step(Xb, yb):
        loss = peer.loss_fn(peer.model(Xb), yb)
        loss.item()
        yield "forward"
        peer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        yield "backward"
        peer.optimizer.step()
        yield "optimizer step"

    return _phase_medians(step, batches, steps)


def jax_parts(workload, steps) -> dict[str, float]:
    import functools

    import jax
    import jax.numpy as jnp

    X, y, params = run.workload_data(workload, quick=False)
    batch_size = run.WORKLOADS[workload][2]
    peer = JaxPeer(params, run.LEARNING_RATE[workload])
    peer.prepare(X, y, batch_size)
    batches = [b for b in peer.batches if b[0].shape == peer.batches[0][0].shape]

    def loss_of(params, x, y):
        out = x
        for w, b in params[:-1]:
            out = jax.nn.relu(out @ w + b)
        w, b = params[-1]
        log_probs = jax.nn.log_softmax(out @ w + b)
        return -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))

    forward = jax.jit(loss_of)
    gradient = jax.jit(jax.value_and_grad(loss_of))
    whole = jax.jit(functools.partial(_jax_step, run.LEARNING_RATE[workload]))
    nothing = jax.jit(lambda params, x, y: 0.0)
    state = peer.state
    # Not donated here, so every function can be called again on the same arrays.
    calls = {"call (nothing)": lambda x, yb: nothing(peer.params, x, yb),
             "forward": lambda x, yb: forward(peer.params, x, yb),
             "forward + backward": lambda x, yb: gradient(peer.params, x, yb),
             "whole step": lambda x, yb: whole(peer.params, state, x, yb)}
    medians = {}
    for name, call in calls.items():
        jax.block_until_ready(call(*batches[0]))  # compile
        samples = []
        for i in range(steps):
            start = time.perf_counter()
            jax.block_until_ready(call(*batches[i % len(batches)]))
            samples.append(time.perf_counter() - start)
        medians[name] = _median_ms(samples)
    return {"forward": medians["forward"],
            "backward": medians["forward + backward"] - medians["forward"],
            "optimizer step": medians["whole step"] - medians["forward + backward"],
            "(of which one call)": medians["call (nothing)"]}


def cpu_while_sleeping_after_a_product(seconds: float = 0.5) -> float:
    a = np.ones((512, 512), np.float32)
    a @ a
    before = time.process_time()
    time.sleep(seconds)
    return time.process_time() - before


def _parallel_adam():
    """The Adam kernel split over the cores with numba's ``parallel=True`` (``prange`` over
    blocks): the variant the library does not ship, kept here to measure it."""
    import numba

    block = _kernels._adam  # the compiled single-pass loop

    @numba.njit(parallel=True, error_model="numpy")
    def adam_parallel(param, grad, m, v, backup, b1, omb1, b2, omb2, eps, k):
        bad = 0
        size = 1 << 14
        for b in numba.prange((param.size + size - 1) // size):
            s, e = b * size, min(param.size, (b + 1) * size)
            bad += block(param[s:e], grad[s:e], m[s:e], v[s:e], backup[s:e], b1, omb1, b2,
                         omb2, eps, k)
        return bad

    return adam_parallel


def adam_after_a_product(steps: int = 40) -> dict[str, float]:
    """Median ms of one Adam update of W4's 1.9 M parameters, right after a product."""
    sizes = run.WORKLOADS["W4"][1]
    layers = [cr.Dense(n_in, n_out) for n_in, n_out in itertools.pairwise(sizes)]
    for layer in layers:
        layer.dweights = np.full_like(layer.weights, 1e-3)
        layer.dbiases = np.full_like(layer.biases, 1e-3)
    a, b = np.ones((256, 1024), np.float32), np.ones((1024, 1024), np.float32)
    out = np.empty((256, 1024), np.float32)
    cr.use_kernels("numba")
    serial, parallel = _kernels._adam, _parallel_adam()
    variants = {"NumPy, chunked passes": ("numpy", serial),
                "numba kernel (one pass, one thread)": ("numba", serial),
                "the same, parallel=True over both cores": ("numba", parallel)}
    times = {name: [] for name in variants}
    optimizers = {name: cr.Adam(1e-3) for name in variants}
    try:
        for _ in range(steps):
            for name, (path, loop) in variants.items():  # interleaved
                cr.use_kernels(path)
                _kernels._adam = loop
                np.matmul(a, b, out=out)  # the BLAS worker now spins, as it does in training
                start = time.perf_counter()
                optimizers[name].step(layers)
                times[name].append(time.perf_counter() - start)
    finally:
        _kernels._adam = serial
        cr.use_kernels("auto")
    return {name: _median_ms(samples) for name, samples in times.items()}


def w4_step_with_parallel_adam(rounds: int = 6) -> dict[str, float]:
    """Samples/s of W4 training (one epoch per round, interleaved) with the shipped kernel
    and with the parallel variant in its place: what the parallel pool does to a step."""
    X, y, params = run.workload_data("W4", quick=False)
    batch_size = run.WORKLOADS["W4"][2]
    cr.use_kernels("numba")
    serial, parallel = _kernels._adam, _parallel_adam()
    rates = {"one thread": [], "parallel=True": []}
    try:
        for _ in range(rounds):
            for name, loop in (("one thread", serial), ("parallel=True", parallel)):
                _kernels._adam = loop
                peer = ChainrulePeer(params, 1e-3)
                time.sleep(run.SETTLE_SECONDS)
                start = time.perf_counter()
                peer.train(X, y, 1, batch_size)
                rates[name].append(len(X) / (time.perf_counter() - start))
    finally:
        _kernels._adam = serial
        cr.use_kernels("auto")
    return {name: statistics.median(r) for name, r in rates.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="W1,W4")
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    run._limit_threads()
    print(f"chainrule's active path: {cr.kernels()}")
    for workload in args.workloads.split(","):
        steps = args.steps if workload != "W4" else min(args.steps, 40)
        print(f"1. {workload} ({run.WORKLOADS[workload][0]}): one step, median of {steps} (ms)")
        parts = {"chainrule (numba)": lambda w=workload, s=steps: chainrule_parts(w, "numba", s),
                 "chainrule (numpy)": lambda w=workload, s=steps: chainrule_parts(w, "numpy", s),
                 "pytorch": lambda w=workload, s=steps: torch_parts(w, s),
                 "jax": lambda w=workload, s=steps: jax_parts(w, s)}
        for name, measure in parts.items():
            time.sleep(run.SETTLE_SECONDS)
            try:
                figures = measure()
            except ImportError as error:
                print(f"   {name:18s} ({error}; skipped)")
                continue
            total = sum(ms for part, ms in figures.items() if not part.startswith("("))
            detail = ", ".join(f"{part} {ms:.3f}" for part, ms in figures.items())
            print(f"   {name:18s} {detail}; total {total:.3f}")
    if "W4" in args.workloads.split(","):
        time.sleep(run.SETTLE_SECONDS)
        print(f"2. CPU seconds used in 0.5 s of sleep after a matrix product: "
              f"{cpu_while_sleeping_after_a_product():.3f}")
        figures = adam_after_a_product()
        print("3. Adam's update of W4's parameters after a matrix product (ms): "
              + ", ".join(f"{name} {ms:.2f}" for name, ms in figures.items()))
        import numba

        figures = w4_step_with_parallel_adam()
        print(f"4. W4 training, samples/s, Adam kernel on one thread vs parallel=True "
              f"(numba threading layer {numba.threading_layer()}): "
              + ", ".join(f"{name} {rate:,.0f}" for name, rate in figures.items()))


if __name__ == "__main__":
    main()

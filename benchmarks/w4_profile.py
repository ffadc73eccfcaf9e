"""Where W4's training step spends its time, and why a second thread does not help Adam.

    python benchmarks/w4_profile.py

1. One W4 step (784-1024-1024-10, batch 256, Adam) split into forward, backward
   and optimizer step, for chainrule and for PyTorch (medians over many steps).
2. CPU time the process uses while it sleeps right after one matrix product:
   OpenBLAS's worker thread busy-waits for a while and holds the second core.
3. Adam's flat update right after a matrix product, on one thread and split
   over two: the split gains nothing while that worker spins.
"""

from __future__ import annotations

import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import run
from peers import ChainrulePeer, TorchPeer

STEPS = 40


def _median_ms(samples) -> float:
    return 1e3 * statistics.median(samples)


def _phase_medians(step) -> dict[str, float]:
    """Median ms of each phase of ``step(rows)``, a generator yielding a phase's name
    as that phase ends, over STEPS steps cycling through the 8 batches."""
    times: dict[str, list[float]] = {}
    for i in range(STEPS):
        rows = slice(256 * (i % 8), 256 * (i % 8 + 1))
        start = time.perf_counter()
        for phase in step(rows):
            now = time.perf_counter()
            times.setdefault(phase, []).append(now - start)
            start = now
    return {phase: _median_ms(samples) for phase, samples in times.items()}


def chainrule_parts(X, y, params) -> dict[str, float]:
    model = ChainrulePeer(params, 1e-3).model
    model.train(X, y, epochs=1, batch_size=256, shuffle=False, print_every=None, progress=False)
    one_hot = np.eye(10, dtype=np.float32)[y]

    def step(rows):
        output = model.forward(X[rows], training=True)
        yield "forward"
        model.backward(output, one_hot[rows])
        yield "backward"
        model.optimizer.step(model.trainable_layers)
        yield "optimizer step"

    with model._reusing_buffers():
        return _phase_medians(step)


def torch_parts(X, y, params) -> dict[str, float]:
    import torch

    peer = TorchPeer(params, 1e-3)
    peer.train(X, y, 1, 256)
    X, y = torch.from_numpy(X), torch.from_numpy(y)

    def step(rows):
        loss = peer.loss_fn(peer.model(X[rows]), y[rows])
        yield "forward"
        peer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        yield "backward"
        peer.optimizer.step()
        yield "optimizer step"

    return _phase_medians(step)


def cpu_while_sleeping_after_a_product(seconds: float = 0.5) -> float:
    a = np.ones((512, 512), np.float32)
    a @ a
    before = time.process_time()
    time.sleep(seconds)
    return time.process_time() - before


def adam_one_and_two_threads(params) -> tuple[float, float]:
    import chainrule as cr

    layers = [cr.Dense(*w.shape) for w, _ in params]
    for layer in layers:
        layer.dweights = np.full_like(layer.weights, 1e-3)
        layer.dbiases = np.full_like(layer.biases, 1e-3)
    optimizer = cr.Adam(1e-3)
    optimizer.step(layers)
    chunks = optimizer._flat.chunks
    first = chunks[: len(chunks) // 2]
    # The chunks share one scratch array; the second thread needs its own.
    own = np.empty_like(chunks[0][2]["scratch"])
    second = [(param, grad, {**slots, "scratch": own[:len(param)]})
              for param, grad, slots in chunks[len(chunks) // 2:]]
    pool = ThreadPoolExecutor(1)

    def update(part):
        for param, grad, slots in part:
            optimizer._update(param, grad, slots)

    def split():
        future = pool.submit(update, second)
        update(first)
        future.result()

    a, b = np.ones((256, 1024), np.float32), np.ones((1024, 1024), np.float32)
    out = np.empty((256, 1024), np.float32)
    times = {"one": [], "two": []}
    for _ in range(STEPS):
        for name, fn in (("one", lambda: update(chunks)), ("two", split)):
            np.matmul(a, b, out=out)  # the BLAS worker now spins, as it does in training
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return _median_ms(times["one"]), _median_ms(times["two"])


def main() -> None:
    run._limit_threads()
    X, y, params = run.workload_data("W4", quick=False)
    print(f"1. one W4 step, median of {STEPS} (ms)")
    peers = {"chainrule": chainrule_parts}
    try:
        import torch  # noqa: F401

        peers["pytorch"] = torch_parts
    except ImportError:
        print("   (PyTorch not installed: pip install 'chainrule[bench]')")
    for name, parts in peers.items():
        time.sleep(run.SETTLE_SECONDS)
        figures = parts(X, y, params)
        detail = ", ".join(f"{part} {ms:.2f}" for part, ms in figures.items())
        print(f"   {name:10s} {detail}; total {sum(figures.values()):.2f}")
    time.sleep(run.SETTLE_SECONDS)
    print(f"2. CPU seconds used in 0.5 s of sleep after a matrix product: "
          f"{cpu_while_sleeping_after_a_product():.3f}")
    one, two = adam_one_and_two_threads(params)
    print(f"3. Adam's flat update after a matrix product: one thread {one:.2f} ms, "
          f"two threads {two:.2f} ms")


if __name__ == "__main__":
    main()

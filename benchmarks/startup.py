"""Time to first step: from a fresh process's start to the end of its first training step.

The numba path imports numba and loads its kernels on first use; ``cache=True``
keeps their machine code on disk, so only the very first process compiles. Three
figures per network, each a fresh ``python -c``:

* ``numpy``: ``CHAINRULE_KERNELS=numpy``;
* ``numba``: the kernels loaded from a warm on-disk cache (what every later run pays);
* ``numba, cold cache``: an empty ``NUMBA_CACHE_DIR``, so the kernels compile; minus the
  warm figure, that is the first-call compile cost.

    python benchmarks/startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

# The network and batch of each measured workload (random data: the start-up is the point).
NETWORKS = {"W1": ((2, 64, 3), 300), "W4": ((784, 1024, 1024, 10), 256)}

CHILD = """
import time
start = time.perf_counter()
import numpy as np
import chainrule as cr
sizes, batch = {sizes!r}, {batch!r}
rng = np.random.default_rng(0)
X = rng.standard_normal((batch, sizes[0])).astype(np.float32)
y = rng.integers(0, sizes[-1], batch)
layers = []
for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
    layers += [cr.Dense(n_in, n_out, init="he", rng=i),
               cr.ReLU() if i < len(sizes) - 2 else cr.Softmax()]
model = cr.Model(layers)
model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(1e-3))
model.train(X, y, epochs=1, print_every=None, progress=False)
print(time.perf_counter() - start, cr.kernels())
"""


def first_step_seconds(workload: str, path: str, cache_dir: str | None = None) -> float:
    """Seconds from the start of a fresh process to the end of its first training step."""
    sizes, batch = NETWORKS[workload]
    env = {**os.environ, "CHAINRULE_KERNELS": path, "PYTHONWARNINGS": "ignore"}
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    result = subprocess.run([sys.executable, "-c", CHILD.format(sizes=sizes, batch=batch)],
                            capture_output=True, text=True, check=True, env=env)
    seconds, active = result.stdout.split()
    if active != path:
        raise RuntimeError(f"asked for the {path} path, the child ran on {active}")
    return float(seconds)


def measure(workloads=tuple(NETWORKS), repeats: int = 3) -> dict:
    """Median time to first step per workload and path; ``{}`` for numba when it is missing."""
    try:
        import numba  # noqa: F401
    except ImportError:
        numba_there = False
    else:
        numba_there = True
    figures = {}
    for workload in workloads:
        numpy = [first_step_seconds(workload, "numpy") for _ in range(repeats)]
        entry = {"numpy": statistics.median(numpy)}
        if numba_there:
            with tempfile.TemporaryDirectory() as cache:
                cold = first_step_seconds(workload, "numba", cache)  # compiles, fills the cache
                warm = [first_step_seconds(workload, "numba", cache) for _ in range(repeats)]
            entry.update({"numba": statistics.median(warm), "numba_cold": cold,
                          "compile": cold - statistics.median(warm)})
        figures[workload] = entry
    return figures


def markdown(figures: dict) -> str:
    lines = ["| network | NumPy path | numba path (cached kernels) | numba − NumPy | "
             "numba, cold cache | first-call compile |",
             "|---|---:|---:|---:|---:|---:|"]
    for workload, entry in figures.items():
        sizes = "-".join(map(str, NETWORKS[workload][0]))
        if "numba" not in entry:
            lines.append(f"| {workload} {sizes} | {entry['numpy']:.2f} s | — | — | — | — |")
            continue
        lines.append(f"| {workload} {sizes} | {entry['numpy']:.2f} s | {entry['numba']:.2f} s | "
                     f"+{entry['numba'] - entry['numpy']:.2f} s | {entry['numba_cold']:.2f} s | "
                     f"{entry['compile']:.2f} s |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(measure()))

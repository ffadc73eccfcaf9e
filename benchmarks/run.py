"""chainrule's benchmark: training throughput against JAX, PyTorch, scikit-learn and two
plain NumPy loops, in one process, with interleaved repetitions and medians.

    python benchmarks/run.py            # the full run (several minutes); writes results/
    python benchmarks/run.py --quick    # a smoke run for CI: seconds, no timing claims

Every peer trains the same network from the same initial weights on the same
batches (no shuffling), and the run checks that they end at the same loss.
Throughput is samples per second; GFLOP/s counts 6 FLOPs per weight per sample
(forward, and the two matrix products of the backward pass). chainrule runs on the
path that is active (numba's kernels when installed) and, as ``chainrule-numpy``,
with the NumPy path forced; ``chainrule@REV`` is the code of an earlier commit
(``--baseline``), so "the NumPy path is not slower than before" is measured in the
same run. Each workload starts with an untimed warm-up round (JAX compiles, numba
loads its kernels); the start-up itself is measured apart (``startup.py``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import startup  # noqa: E402
import tables  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "2"))  # per peer: BLAS, PyTorch, XLA
if THREADS == 1 and hasattr(os, "sched_setaffinity"):
    # One core for the whole process (and its children): every peer, JAX's thread pool
    # included, then computes on a single core, which other processes disturb far less than
    # two threads that wait for each other.
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
# Pause between peers: PyTorch's OpenMP threads spin for a while after its last step and
# would otherwise take a core from whichever peer runs next in the interleaved order.
SETTLE_SECONDS = 0.3

# name: (description, layer sizes, batch size, epochs, quick epochs)
WORKLOADS = {
    "W1": ("spiral 2-64-3, 300 points, full batch", (2, 64, 3), None, 1000, 5),
    "W2": ("784-128-128-10, batch 128", (784, 128, 128, 10), 128, 3, 1),
    "W3": ("digits 64-64-10, batch 32", (64, 64, 10), 32, 10, 1),
    "W4": ("784-1024-1024-10, batch 256", (784, 1024, 1024, 10), 256, 4, 1),
}
LEARNING_RATE = {"W1": 0.003, "W2": 1e-3, "W3": 1e-3, "W4": 1e-3}
# The code whose numbers the previous results (and the README before issue 15) quote.
BASELINE = "5fd2798"


def workload_data(name: str, quick: bool):
    """(X float32, y int64, initial params) for a workload — the same for every peer."""
    rng = np.random.default_rng(0)
    sizes = WORKLOADS[name][1]
    if name == "W1":
        from chainrule.datasets import spiral_data

        X, y = spiral_data(100, 3, rng=rng)
    elif name == "W3":
        from chainrule.datasets import load_digits

        X, y = load_digits()
    else:
        n = 512 if quick else (4096 if name == "W2" else 2048)
        X = rng.standard_normal((n, sizes[0]))
        teacher = rng.standard_normal((sizes[0], sizes[-1]))
        y = np.argmax(X @ teacher, axis=1)  # learnable labels
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        scale = np.sqrt(2.0 / n_in)  # He initialisation
        params.append(((scale * rng.standard_normal((n_in, n_out))).astype(np.float32),
                       np.zeros((1, n_out), np.float32)))
    return X.astype(np.float32), y.astype(np.int64), params


def mean_loss(params, X, y) -> float:
    """Cross-entropy of the final parameters, computed the same way for every peer (float64)."""
    out = X.astype(np.float64)
    for i, (w, b) in enumerate(params):
        out = out @ w.astype(np.float64) + b.astype(np.float64)
        if i < len(params) - 1:
            out = np.maximum(out, 0)
    out -= out.max(axis=1, keepdims=True)
    log_probs = out - np.log(np.exp(out).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def gemm_ceiling(size: int = 1024, repeats: int = 5) -> float:
    """Best float32 GFLOP/s of a size³ matrix product with NumPy's BLAS."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def available_peers(baseline: Path | None = None):
    """The peers to run: {name: class}. ``baseline``: a folder holding ``chainrule_base``."""
    from peers import PEERS, baseline_peer

    names = ["chainrule", "chainrule-numpy", "book-numpy", "lean-numpy"]
    for name, module in (("pytorch", "torch"), ("jax", "jax"), ("scikit-learn", "sklearn")):
        try:
            __import__(module)
            names.append(name)
        except ImportError:
            print(f"({name} not installed: pip install 'chainrule[bench]'; skipped)")
    peers = {name: PEERS[name] for name in names}
    if baseline is not None:
        peer = baseline_peer(baseline)
        peers = {"chainrule": peers.pop("chainrule"), "chainrule-numpy": peers.pop(
            "chainrule-numpy"), peer.name: peer, **peers}
    return peers


def extract_baseline(revision: str, folder: Path) -> Path | None:
    """``src/chainrule`` of a git ``revision``, as the package ``chainrule_base`` in ``folder``."""
    try:
        archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", revision,
                                  "src/chainrule"],
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"(baseline {revision} not available: {error}; skipped)")
        return None
    archive_path = folder / "base.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(folder, filter="data")
    shutil.move(folder / "src" / "chainrule", folder / "chainrule_base")
    (folder / "REVISION").write_text(revision)
    return folder


def run_workload(name: str, peers: dict, repeats: int, quick: bool) -> dict:
    description, sizes, batch_size, epochs, quick_epochs = WORKLOADS[name]
    epochs = quick_epochs if quick else epochs
    X, y, params = workload_data(name, quick)
    times = {peer: [] for peer in peers}
    finals = {}
    for repeat in range(-1, repeats):  # round -1: the untimed warm-up
        for peer_name, peer_class in peers.items():  # interleaved: A B C D A B C D ...
            time.sleep(0 if quick else SETTLE_SECONDS)
            peer = peer_class(params, LEARNING_RATE[name])
            if hasattr(peer, "prepare"):
                peer.prepare(X, y, batch_size)  # untimed set-up (JAX compiles here)
            if repeat < 0:
                peer.train(X, y, max(1, epochs // 10), batch_size)
                continue
            times[peer_name].append(_timed(lambda p=peer: p.train(X, y, epochs, batch_size)))
            finals[peer_name] = mean_loss(peer.parameters(), X, y)
    weights = sum(a * b for a, b in itertools.pairwise(sizes))
    samples = epochs * len(X)
    result = {"description": description, "epochs": epochs, "samples": len(X),
              "batch_size": batch_size, "weights": weights, "peers": {}}
    for peer_name in peers:
        seconds = statistics.median(times[peer_name])
        rate = samples / seconds
        result["peers"][peer_name] = {
            "median_seconds": seconds, "samples_per_second": rate,
            "gflops": 6 * weights * rate / 1e9, "final_loss": finals[peer_name],
            "times": times[peer_name],
        }
    return result


def peak_memory(workload: str, peer: str, quick: bool, baseline: Path | None) -> float:
    """MiB a fresh process grows by while it trains (peak RSS minus RSS before training).

    numba's kernels (``warm_up``) and JAX's compiled step (``prepare``) are loaded before
    the "before" figure: what is measured is what training adds.
    """
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import run; "
            f"run._memory_child({workload!r}, {peer!r}, {quick!r}, "
            f"{None if baseline is None else str(baseline)!r})")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return float(result.stdout.strip().splitlines()[-1])


def _memory_child(workload: str, peer: str, quick: bool, baseline: str | None) -> None:
    from peers import PEERS, baseline_peer

    _limit_threads(torch=peer == "pytorch")
    _, _, batch_size, epochs, _ = WORKLOADS[workload]
    X, y, params = workload_data(workload, quick)
    peer_class = PEERS.get(peer) or baseline_peer(Path(baseline))
    if hasattr(peer_class, "warm_up"):
        peer_class.warm_up()
    model = peer_class(params, LEARNING_RATE[workload])
    if hasattr(model, "prepare"):
        model.prepare(X, y, batch_size)
    before = _memory_mib("VmRSS")
    model.train(X, y, 1 if quick else min(epochs, 2), batch_size)
    print(_memory_mib("VmHWM") - before)


def _memory_mib(field: str) -> float:
    """A memory figure of this process from /proc (VmRSS now, VmHWM its peak), in MiB.

    (getrusage's ru_maxrss would do, but Linux carries it over from the parent across exec.)
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def _limit_threads(torch: bool = True) -> None:
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(THREADS)
    except ImportError:
        pass
    if torch:
        try:
            import torch as torch_module

            torch_module.set_num_threads(THREADS)
        except ImportError:
            pass


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = f"{THREADS} BLAS threads" if THREADS > 1 else "pinned to 1 core"
    return (f"{cpu}, {os.cpu_count()} cores, {threads}, "
            f"Python {platform.python_version()}")


def check_same_loss(report: dict, tolerance: float) -> list[str]:
    problems = []
    for name, result in report["workloads"].items():
        ours = result["peers"]["chainrule"]["final_loss"]
        for peer, r in result["peers"].items():
            if abs(r["final_loss"] - ours) > tolerance * max(abs(ours), 1e-3):
                problems.append(f"{name}: {peer} ends at loss {r['final_loss']:.5f}, "
                                f"chainrule at {ours:.5f}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny, one repetition")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--output", type=Path, default=HERE / "results")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--no-startup", action="store_true", help="skip time to first step")
    parser.add_argument("--threads", type=int, choices=(1, 2), default=THREADS,
                        help="threads per peer (2); 1 pins the run to one core, which a "
                             "busy machine disturbs less")
    parser.add_argument("--baseline", default=BASELINE,
                        help=f"git revision run as chainrule@REV ('none' to skip; {BASELINE})")
    args = parser.parse_args(argv)
    if args.threads != THREADS:  # the setting must reach this process before JAX loads, and
        os.environ["BENCH_THREADS"] = str(args.threads)  # the memory children
        return subprocess.run([sys.executable, __file__, *(argv or sys.argv[1:])]).returncode
    _limit_threads()
    with tempfile.TemporaryDirectory() as folder:
        baseline = None
        if args.baseline != "none":
            baseline = extract_baseline(args.baseline, Path(folder))
        peers = available_peers(baseline)
        report = measure(args, peers, baseline)
    table = tables.markdown(report)
    print(table)
    # Same data, same weights, same batches: the peers must agree (float32, different
    # summation orders and scikit-learn's slightly different Adam ε placement allow 2 %).
    problems = check_same_loss(report, tolerance=0.02)
    for problem in problems:
        print("LOSS MISMATCH: " + problem)
    args.output.mkdir(parents=True, exist_ok=True)
    stem = ("quick" if args.quick else "latest") + ("" if THREADS == 2 else "-1core")
    (args.output / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (args.output / f"{stem}.md").write_text(table)
    print(f"wrote {args.output / (stem + '.json')} and {args.output / (stem + '.md')}")
    return 1 if problems else 0


def measure(args, peers: dict, baseline: Path | None) -> dict:
    """Every workload, interleaved, plus memory and start-up: the report as a dict."""
    import chainrule

    repeats = 1 if args.quick else args.repeats
    report = {"date": date.today().isoformat(), "machine": machine(), "numpy": np.__version__,
              "kernels": chainrule.kernels(), "load": os.getloadavg()[0], "quick": args.quick,
              "repeats": repeats, "workloads": {}}
    for module in ("numba", "jax", "torch", "sklearn"):
        try:
            report[module] = __import__(module).__version__
        except ImportError:
            pass
    # The machine's speed drifts, so the ceiling is measured before every workload and
    # the highest of those best-of-5 figures is the one the table divides by.
    ceilings = []
    for name in args.workloads.split(","):
        print(f"{name}: {WORKLOADS[name][0]} ...", flush=True)
        ceilings.append(gemm_ceiling())
        report["workloads"][name] = run_workload(name, peers, repeats, args.quick)
        if not args.no_memory:
            for peer in peers:
                report["workloads"][name]["peers"][peer]["peak_mib"] = peak_memory(
                    name, peer, args.quick, baseline)
    report["gemm_gflops_each"] = ceilings
    report["gemm_gflops"] = max(ceilings)
    if not args.no_startup:
        print("time to first step ...", flush=True)
        report["startup"] = startup.measure(("W1",) if args.quick else startup.NETWORKS,
                                            repeats=1 if args.quick else 3)
    return report


if __name__ == "__main__":
    sys.exit(main())

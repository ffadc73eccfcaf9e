"""chainrule's benchmark: training throughput against a book-style NumPy loop, PyTorch
and scikit-learn, in one process, with interleaved repetitions and medians.

    python benchmarks/run.py            # the full run (a few minutes); writes results/
    python benchmarks/run.py --quick    # a smoke run for CI: seconds, no timing claims

Every peer trains the same network from the same initial weights on the same
batches (no shuffling), and the run checks that they end at the same loss.
Throughput is samples per second; GFLOP/s counts 6 FLOPs per weight per sample
(forward, and the two matrix products of the backward pass).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

THREADS = 2
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


def available_peers():
    from peers import PEERS

    names = ["chainrule", "book-numpy"]
    for name, module in (("pytorch", "torch"), ("scikit-learn", "sklearn")):
        try:
            __import__(module)
            names.append(name)
        except ImportError:
            print(f"({name} not installed: pip install 'chainrule[bench]'; skipped)")
    return {name: PEERS[name] for name in names}


def run_workload(name: str, peers: dict, repeats: int, quick: bool) -> dict:
    description, sizes, batch_size, epochs, quick_epochs = WORKLOADS[name]
    epochs = quick_epochs if quick else epochs
    X, y, params = workload_data(name, quick)
    times = {peer: [] for peer in peers}
    finals = {}
    for _ in range(repeats):
        for peer_name, peer_class in peers.items():  # interleaved: A B C D A B C D ...
            time.sleep(0 if quick else SETTLE_SECONDS)
            peer = peer_class(params, LEARNING_RATE[name])
            if hasattr(peer, "prepare"):
                peer.prepare(X, y, batch_size)  # untimed set-up (scikit-learn's first fit)
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


def peak_memory(workload: str, peer: str, quick: bool) -> float:
    """MiB a fresh process grows by while it trains (peak RSS minus RSS before training)."""
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import run; "
            f"run._memory_child({workload!r}, {peer!r}, {quick!r})")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return float(result.stdout.strip().splitlines()[-1])


def _memory_child(workload: str, peer: str, quick: bool) -> None:
    from peers import PEERS

    _limit_threads(torch=peer == "pytorch")
    _, _, batch_size, epochs, _ = WORKLOADS[workload]
    X, y, params = workload_data(workload, quick)
    model = PEERS[peer](params, LEARNING_RATE[workload])
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
    return (f"{cpu}, {os.cpu_count()} cores, {THREADS} BLAS threads, "
            f"Python {platform.python_version()}")


def markdown(report: dict) -> str:
    peers = [p for p in ("chainrule", "book-numpy", "pytorch", "scikit-learn")
             if p in next(iter(report["workloads"].values()))["peers"]]
    lines = [f"Measured {report['date']} on {report['machine']}; NumPy {report['numpy']}"
             + (f", PyTorch {report['torch']}" if report.get("torch") else "")
             + (f", scikit-learn {report['sklearn']}" if report.get("sklearn") else "")
             + f". float32 GEMM ceiling (1024³, best of 5 before each workload, highest): "
             f"{report['gemm_gflops']:.1f} GFLOP/s.",
             "",
             "| workload | peer | samples/s | chainrule ÷ peer | GFLOP/s | % of GEMM | "
             "training MiB | final loss |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, result in report["workloads"].items():
        ours = result["peers"]["chainrule"]["samples_per_second"]
        for peer in peers:
            r = result["peers"][peer]
            ratio = ours / r["samples_per_second"]
            memory = r.get("peak_mib")
            lines.append(
                f"| {name} {result['description']} | {peer} | {r['samples_per_second']:,.0f} | "
                f"{'—' if peer == 'chainrule' else f'{ratio:.2f}×'} | {r['gflops']:.1f} | "
                f"{100 * r['gflops'] / report['gemm_gflops']:.0f} % | "
                f"{'—' if memory is None else f'{memory:.1f}'} | {r['final_loss']:.4f} |")
    return "\n".join(lines) + "\n"


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
    args = parser.parse_args(argv)
    _limit_threads()
    peers = available_peers()
    repeats = 1 if args.quick else args.repeats
    report = {"date": date.today().isoformat(), "machine": machine(), "numpy": np.__version__,
              "quick": args.quick, "repeats": repeats, "workloads": {}}
    # The machine's speed drifts, so the ceiling is measured before every workload and
    # the highest of those best-of-5 figures is the one the table divides by.
    ceilings = []
    for module in ("torch", "sklearn"):
        try:
            report[module] = __import__(module).__version__
        except ImportError:
            pass
    for name in args.workloads.split(","):
        print(f"{name}: {WORKLOADS[name][0]} ...", flush=True)
        ceilings.append(gemm_ceiling())
        report["workloads"][name] = run_workload(name, peers, repeats, args.quick)
        if not args.no_memory:
            for peer in peers:
                report["workloads"][name]["peers"][peer]["peak_mib"] = peak_memory(
                    name, peer, args.quick)
    report["gemm_gflops_each"] = ceilings
    report["gemm_gflops"] = max(ceilings)
    table = markdown(report)
    print(table)
    # Same data, same weights, same batches: the peers must agree (float32, different
    # summation orders and scikit-learn's slightly different Adam ε placement allow 2 %).
    problems = check_same_loss(report, tolerance=0.02)
    for problem in problems:
        print("LOSS MISMATCH: " + problem)
    args.output.mkdir(parents=True, exist_ok=True)
    stem = "quick" if args.quick else "latest"
    (args.output / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (args.output / f"{stem}.md").write_text(table)
    print(f"wrote {args.output / (stem + '.json')} and {args.output / (stem + '.md')}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

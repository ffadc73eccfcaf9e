"""The hyper-parameter sweep of ``examples/sweep_dask.py``: one process against a local
Dask cluster, and the ratio of their wall times.

    python benchmarks/sweep.py                 # 2 worker processes, 3 repetitions
    python benchmarks/sweep.py --workers 4 --repeats 5

The serial run is GridSearchCV (``n_jobs=None``) in this process, NumPy's BLAS
with its default threads; the cluster run is the same search under
``joblib.parallel_config(backend="dask")`` on ``--workers`` processes of one
thread each. The two alternate, so that both meet the same load from whatever
else runs on the machine, and must find the same best candidate with the same
scores. The cluster's start-up and its first run (workers importing NumPy,
scikit-learn and chainrule, and receiving the data) are reported apart from the
warm runs, whose medians give the ratio. Writes ``results/sweep.json`` and ``results/sweep.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))

from sweep_dask import GRID, sweep  # noqa: E402

from chainrule.files import atomic_write  # noqa: E402


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def run(n_workers: int, repeats: int, max_iter: int) -> dict:
    load_before = os.getloadavg()[0]
    X, y = load_digits(return_X_y=True)
    serial_times, cluster_times = [], []
    start_seconds, (cluster, client) = timed(lambda: _start(n_workers))
    with cluster, client:
        with joblib.parallel_config(backend="dask"):
            first_seconds, remote = timed(lambda: sweep(X, y, GRID, max_iter))
        # Interleaved, so that both see the same load from whatever else runs on the machine.
        for _ in range(repeats):
            seconds, serial = timed(lambda: sweep(X, y, GRID, max_iter))
            serial_times.append(seconds)
            with joblib.parallel_config(backend="dask"):
                seconds, remote = timed(lambda: sweep(X, y, GRID, max_iter))
            cluster_times.append(seconds)
    same = (remote.best_params_ == serial.best_params_ and np.array_equal(
        remote.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]))
    serial_median, cluster_median = statistics.median(serial_times), statistics.median(
        cluster_times)
    return {
        "date": date.today().isoformat(),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
        "fits": len(serial.cv_results_["params"]) * serial.n_splits_,
        "max_iter": max_iter, "workers": n_workers, "repeats": repeats,
        "serial_seconds": serial_times, "cluster_seconds": cluster_times,
        "cluster_start_seconds": start_seconds, "cluster_first_run_seconds": first_seconds,
        "serial_median": serial_median, "cluster_median": cluster_median,
        "speedup": serial_median / cluster_median, "same_results": bool(same),
        "best_params": {k.split("__")[1]: str(v) for k, v in serial.best_params_.items()},
    }


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _start(n_workers: int):
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0")
    return cluster, Client(cluster)


def table(report: dict) -> str:
    return "\n".join([
        f"Measured {report['date']} on {report['machine']}: GridSearchCV on digits, "
        f"{report['fits']} fits of {report['max_iter']} epochs, medians of "
        f"{report['repeats']} runs; load average {report['load_average_before']:.1f} before, "
        f"{report['load_average_after']:.1f} after (other processes share these cores).",
        "",
        "| run | seconds | serial ÷ run |",
        "|---|---:|---:|",
        f"| 1 process | {report['serial_median']:.2f} | 1.00× |",
        f"| local cluster, {report['workers']} processes × 1 thread | "
        f"{report['cluster_median']:.2f} | {report['speedup']:.2f}× |",
        f"| cluster start-up | {report['cluster_start_seconds']:.2f} | — |",
        f"| cluster's first run (workers import, data sent) | "
        f"{report['cluster_first_run_seconds']:.2f} | — |",
        "",
        f"Same best candidate and scores on both: {report['same_results']}.",
    ]) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--output", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    report = run(args.workers, args.repeats, args.max_iter)
    args.output.mkdir(parents=True, exist_ok=True)
    for name, text in (("sweep.json", json.dumps(report, indent=2) + "\n"),
                       ("sweep.md", table(report))):
        atomic_write(args.output / name, lambda file, text=text: file.write(text.encode()))
    print(table(report))
    return 0 if report["same_results"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""A smoke run of the benchmark suite: it runs, peers agree, files are written.

No timing is asserted here; the numbers live in benchmarks/results and the README.
"""

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def run_module(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("run", None)
    import run

    return run


def test_quick_benchmark_runs_and_the_peers_agree(run_module, tmp_path):
    code = run_module.main(["--quick", "--output", str(tmp_path), "--workloads", "W1"])
    assert code == 0  # non-zero means two peers ended at different losses
    report = json.loads((tmp_path / "quick.json").read_text())
    assert report["gemm_gflops"] == max(report["gemm_gflops_each"])
    assert len(report["gemm_gflops_each"]) == 1  # one ceiling per workload
    for name in ("W1",):
        workload = report["workloads"][name]
        peers = workload["peers"]
        assert {"chainrule", "book-numpy"} <= set(peers)
        for result in peers.values():
            # every figure follows from the measured time, and the peers trained
            assert result["median_seconds"] == statistics.median(result["times"])
            assert result["samples_per_second"] == pytest.approx(
                workload["epochs"] * workload["samples"] / result["median_seconds"], rel=1e-12)
            assert result["final_loss"] < math.log(3)  # below the loss of a uniform guess
            # MiB (not KiB or bytes) grown by a fresh process training 300 points
            assert 0 <= result["peak_mib"] < 256
    table = (tmp_path / "quick.md").read_text()
    assert "| W1 spiral" in table and "chainrule ÷ peer" in table


def test_every_peer_starts_from_the_same_weights(run_module):
    X, y, params = run_module.workload_data("W1", quick=True)
    losses = set()
    for peer_class in run_module.available_peers().values():
        peer = peer_class(params, 0.01)
        if hasattr(peer, "prepare"):
            peer.prepare(X, y, None)
        losses.add(round(run_module.mean_loss(peer.parameters(), X, y), 6))
    assert len(losses) == 1


def test_reported_figures_follow_from_the_measured_times(run_module, monkeypatch):
    """With the clock replaced by known durations every figure of a workload is exact."""
    durations = iter([3.0, 1.0, 2.0])

    def timed(fn):
        fn()
        return next(durations)

    monkeypatch.setattr(run_module, "_timed", timed)
    from peers import PEERS  # beside run.py, on the path the fixture set

    peers = {"chainrule": PEERS["chainrule"]}
    result = run_module.run_workload("W1", peers, repeats=3, quick=True)
    ours = result["peers"]["chainrule"]
    assert (result["epochs"], result["samples"], result["weights"]) == (5, 300, 2 * 64 + 64 * 3)
    assert ours["times"] == [3.0, 1.0, 2.0] and ours["median_seconds"] == 2.0
    assert ours["samples_per_second"] == 5 * 300 / 2.0
    assert ours["gflops"] == pytest.approx(6 * 320 * 750 / 1e9, rel=1e-15)
    X, y, params = run_module.workload_data("W1", quick=True)
    assert ours["final_loss"] < run_module.mean_loss(params, X, y) - 1e-3  # it did train


def test_gemm_ceiling_is_the_best_of_its_repeats(run_module, monkeypatch):
    durations = iter([0.5, 0.25, 1.0])
    monkeypatch.setattr(run_module, "_timed", lambda fn: (fn(), next(durations))[1])
    assert run_module.gemm_ceiling(size=8, repeats=3) == 2 * 8**3 / 0.25 / 1e9


def test_peak_memory_sees_an_allocation_of_known_size():
    """The method behind ``peak_mib`` (peak RSS minus RSS before, in a fresh process)
    measures 64 MiB written after the first reading as about 64 MiB."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import run, numpy as np; "
            "before = run._memory_mib('VmRSS'); block = np.ones(2**23); "
            "print(run._memory_mib('VmHWM') - before)")
    out = subprocess.run([sys.executable, "-c", code, str(BENCHMARKS)], capture_output=True,
                         text=True, check=True).stdout
    assert 60 <= float(out) < 80

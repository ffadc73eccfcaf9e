"""A smoke run of the benchmark suite: it runs, peers agree, files are written.

No timing is asserted here; the numbers live in benchmarks/results and the README.
"""

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("run", "peers", "startup", "tables", "lean", "booknumpy"):
        sys.modules.pop(name, None)
    import run

    return run


def test_quick_benchmark_runs_and_the_peers_agree(bench, tmp_path):
    code = bench.main(["--quick", "--output", str(tmp_path), "--workloads", "W1",
                       "--no-startup"])
    assert code == 0  # non-zero means two peers ended at different losses
    report = json.loads((tmp_path / "quick.json").read_text())
    assert report["gemm_gflops"] == max(report["gemm_gflops_each"])
    assert len(report["gemm_gflops_each"]) == 1 and report["kernels"] in ("numba", "numpy")
    workload = report["workloads"]["W1"]
    peers = workload["peers"]
    assert {"chainrule", "chainrule-numpy", "book-numpy", "lean-numpy"} <= set(peers)
    # The code of the previous results runs too, as chainrule@<revision> (git is there).
    assert any(name.startswith("chainrule@") for name in peers)
    X, y, params = bench.workload_data("W1", quick=True)
    start = bench.mean_loss(params, X, y)
    for result in peers.values():
        # every figure follows from the measured times, and every peer trained
        assert result["median_seconds"] == statistics.median(result["times"])
        assert result["samples_per_second"] == pytest.approx(
            workload["epochs"] * workload["samples"] / result["median_seconds"], rel=1e-12)
        assert result["final_loss"] < start - 1e-3
        # MiB (not KiB) grown by a fresh process training 300 points for one epoch
        assert 0 <= result["peak_mib"] < 1024
    table = (tmp_path / "quick.md").read_text()
    assert "| W1 spiral" in table and "chainrule ÷ peer" in table
    assert "W1 ÷ lean NumPy loop" in table and "NumPy path forced" in table


def test_every_peer_starts_from_the_same_weights(bench):
    X, y, params = bench.workload_data("W1", quick=True)
    losses = set()
    for peer_class in bench.available_peers().values():
        peer = peer_class(params, 0.01)
        if hasattr(peer, "prepare"):
            peer.prepare(X, y, None)
        losses.add(round(bench.mean_loss(peer.parameters(), X, y), 6))
    assert len(losses) == 1


@pytest.mark.parametrize("batch_size", [None, 32])
def test_the_lean_loop_trains_like_chainrule(bench, batch_size):
    import numpy as np
    from peers import ChainruleNumpyPeer, LeanPeer

    X, y, params = bench.workload_data("W3", quick=True)
    finals = []
    for peer_class in (ChainruleNumpyPeer, LeanPeer):
        peer = peer_class(params, 1e-3)
        peer.train(X, y, 2, batch_size)
        finals.append(peer.parameters())
    for (w1, b1), (w2, b2) in zip(*finals, strict=True):
        np.testing.assert_allclose(w1, w2, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(b1, b2, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("path", ["numpy", "numba"])
def test_time_to_first_step_runs_a_fresh_process_on_the_asked_path(bench, path):
    if path == "numba":
        pytest.importorskip("numba")
    import startup

    seconds = startup.first_step_seconds("W1", path)  # raises if the child ran another path
    assert 0 < seconds < 120


def test_reported_figures_follow_from_the_measured_times(bench, monkeypatch):
    """With the clock replaced by known durations every figure of a workload is exact."""
    from peers import PEERS  # beside run.py, on the path the fixture set

    durations = iter([3.0, 1.0, 2.0])

    def timed(fn):
        fn()
        return next(durations)

    monkeypatch.setattr(bench, "_timed", timed)
    result = bench.run_workload("W1", {"chainrule-numpy": PEERS["chainrule-numpy"]},
                                repeats=3, quick=True)
    ours = result["peers"]["chainrule-numpy"]
    assert (result["epochs"], result["samples"], result["weights"]) == (5, 300, 2 * 64 + 64 * 3)
    assert ours["times"] == [3.0, 1.0, 2.0] and ours["median_seconds"] == 2.0
    assert ours["samples_per_second"] == 5 * 300 / 2.0
    assert ours["gflops"] == pytest.approx(6 * 320 * 750 / 1e9, rel=1e-15)
    X, y, params = bench.workload_data("W1", quick=True)
    assert ours["final_loss"] < bench.mean_loss(params, X, y) - 1e-3  # it did train


def test_gemm_ceiling_is_the_best_of_its_repeats(bench, monkeypatch):
    durations = iter([0.5, 0.25, 1.0])
    monkeypatch.setattr(bench, "_timed", lambda fn: (fn(), next(durations))[1])
    assert bench.gemm_ceiling(size=8, repeats=3) == 2 * 8**3 / 0.25 / 1e9


def test_peak_memory_sees_an_allocation_of_known_size():
    """The method behind ``peak_mib`` (peak RSS minus RSS before, in a fresh process)
    measures 64 MiB written after the first reading as about 64 MiB."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import run, numpy as np; "
            "before = run._memory_mib('VmRSS'); block = np.ones(2**23); "
            "print(run._memory_mib('VmHWM') - before)")
    out = subprocess.run([sys.executable, "-c", code, str(BENCHMARKS)], capture_output=True,
                         text=True, check=True).stdout
    assert 60 <= float(out) < 80

"""A smoke run of the benchmark suite: it runs, peers agree, files are written.

No timing is asserted here; the numbers live in benchmarks/results and the README.
"""

import json
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
    assert report["gemm_gflops"] > 0 and report["kernels"] in ("numba", "numpy")
    peers = report["workloads"]["W1"]["peers"]
    assert {"chainrule", "chainrule-numpy", "book-numpy", "lean-numpy"} <= set(peers)
    # The code of the previous results runs too, as chainrule@<revision> (git is there).
    assert any(name.startswith("chainrule@") for name in peers)
    for result in peers.values():
        assert result["samples_per_second"] > 0 and result["peak_mib"] >= 0
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

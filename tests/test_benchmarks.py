"""A smoke run of the benchmark suite: it runs, peers agree, files are written.

No timing is asserted here; the numbers live in benchmarks/results and the README.
"""

import json
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
    assert report["gemm_gflops"] > 0
    for name in ("W1",):
        peers = report["workloads"][name]["peers"]
        assert {"chainrule", "book-numpy"} <= set(peers)
        for result in peers.values():
            assert result["samples_per_second"] > 0 and result["peak_mib"] >= 0
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

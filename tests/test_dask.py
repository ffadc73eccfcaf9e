"""A hyper-parameter sweep on a Dask cluster gives exactly the serial sweep's results."""

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from chainrule.sklearn import ChainruleClassifier

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

GRID = {"chainruleclassifier__hidden_layer_sizes": [(8,), (32,)],
        "chainruleclassifier__alpha": [1e-4, 1.0],
        "chainruleclassifier__learning_rate": [1e-3, 1e-2]}


def search():
    pipeline = make_pipeline(StandardScaler(), ChainruleClassifier(max_iter=20, batch_size=64,
                                                                   random_state=0))
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    return GridSearchCV(pipeline, GRID, cv=folds)


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes with one thread each, on this machine only."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        yield cluster


@pytest.mark.cluster
def test_grid_search_on_a_local_cluster_equals_the_serial_run(cluster):
    X, y = load_breast_cancer(return_X_y=True)
    serial = search().fit(X, y)
    with (
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_config(backend="dask"),
    ):
        remote = search().fit(X, y)
    # Every fit ran on the cluster, and both worker processes took some.
    assert len({task["worker"] for task in tasks.data}) == 2
    assert remote.best_params_ == serial.best_params_
    scores = [key for key in serial.cv_results_ if key.endswith("test_score")]
    assert len(scores) == 3 + 3  # split0..2, mean, std, rank
    for key in scores:
        np.testing.assert_array_equal(remote.cv_results_[key], serial.cv_results_[key],
                                      err_msg=key)
    assert serial.best_score_ > 0.95
    np.testing.assert_array_equal(remote.predict(X), serial.predict(X))


@pytest.mark.cluster
def test_sweep_example_runs_on_an_existing_scheduler(cluster, capsys):
    example = runpy.run_path(str(EXAMPLES / "sweep_dask.py"))
    result = example["main"](scheduler=cluster.scheduler_address, quick=True)
    assert result["workers"] == 2
    assert result["best_params"] == {"chainruleclassifier__learning_rate": 1e-2}
    assert result["test_accuracy"] > 0.9
    assert "2 candidates × 3 folds on 2 workers" in capsys.readouterr().out


@pytest.mark.cluster
def test_sweep_benchmark_smoke_run(tmp_path, monkeypatch, capsys):
    """The benchmark runs and writes its files; no timing is asserted (they live in the
    README, measured by a full run)."""
    monkeypatch.syspath_prepend(str(EXAMPLES.parent / "benchmarks"))
    sweep = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "sweep.py"))
    assert sweep["main"](["--repeats", "1", "--max-iter", "1", "--output", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert report["fits"] == 24 and report["same_results"] is True
    assert report["serial_median"] > 0 and report["cluster_median"] > 0
    assert "| local cluster, 2 processes × 1 thread |" in (tmp_path / "sweep.md").read_text()

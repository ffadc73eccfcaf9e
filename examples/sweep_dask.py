"""A hyper-parameter sweep on a Dask cluster: GridSearchCV over a chainrule estimator.

    python examples/sweep_dask.py                            # a local cluster, 2 processes
    python examples/sweep_dask.py --scheduler tcp://10.0.0.5:8786   # an existing cluster

scikit-learn hands each (candidate, fold) fit to joblib; inside
``joblib.parallel_config(backend="dask")`` joblib sends them to the cluster's
workers instead of local processes. Needs ``chainrule[sklearn,distributed]``.
"""

from __future__ import annotations

import argparse
import contextlib

import joblib
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from chainrule.sklearn import ChainruleClassifier

GRID = {
    "chainruleclassifier__hidden_layer_sizes": [(32,), (128,)],
    "chainruleclassifier__alpha": [1e-4, 1e-1],
    "chainruleclassifier__learning_rate": [1e-3, 1e-2],
}


@contextlib.contextmanager
def connect(scheduler: str | None, n_workers: int):
    """A client of the scheduler at ``scheduler``, or of a new local cluster."""
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    # One thread per worker process: each fit is single-threaded NumPy, and the
    # processes, not threads, are what run fits side by side.
    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                     host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster,
        Client(cluster) as client,
    ):
        yield client


def sweep(X, y, grid=GRID, max_iter: int = 30) -> GridSearchCV:
    """The search itself: where it runs is decided by the joblib backend around it."""
    pipeline = make_pipeline(StandardScaler(), ChainruleClassifier(
        max_iter=max_iter, batch_size=32, random_state=0))
    return GridSearchCV(pipeline, grid, cv=3).fit(X, y)


def main(scheduler: str | None = None, n_workers: int = 2, quick: bool = False,
         verbose: bool = True) -> dict:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    # quick: two candidates only, for the test suite.
    grid = {"chainruleclassifier__learning_rate": [1e-3, 1e-2]} if quick else GRID
    with connect(scheduler, n_workers) as client, joblib.parallel_config(backend="dask"):
        n_workers = len(client.scheduler_info()["workers"])
        search = sweep(X_train, y_train, grid, max_iter=10 if quick else 30)
    result = {"workers": n_workers, "best_params": search.best_params_,
              "best_cv_accuracy": search.best_score_,
              "test_accuracy": search.score(X_test, y_test)}
    if verbose:
        print(f"{len(search.cv_results_['params'])} candidates × 3 folds on {n_workers} workers")
        for key, value in search.best_params_.items():
            print(f"  {key.split('__')[1]}: {value}")
        print(f"cross-validated accuracy {result['best_cv_accuracy']:.3f}, "
              f"test accuracy {result['test_accuracy']:.3f}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", default=None, help="address of a running scheduler")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    args = parser.parse_args()
    main(args.scheduler, args.workers)

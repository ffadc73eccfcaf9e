"""Training: the Model, its loop, and what runs beside it.

``Model`` holds the layers, the loss, the optimizer and the metric, and only
orchestrates: it contains no calculus. ``_loop`` is the training loop; ``_plan``
checks every argument of ``train`` before anything changes; ``_data_checks``
checks the data ``train``, ``evaluate`` and ``predict`` take. Callbacks
(``EarlyStopping``, ``CSVLogger``, the learning-rate callbacks that apply
``optim``'s schedules), checkpoints and the progress bar run beside the loop;
``_summary`` is the table ``Model.summary`` prints.

May import: ``datasets``, ``files``, ``optim``, ``nn`` and the ground floor. Never
``inspection``, the command line, the playground or the integrations.
"""

from ._callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    GradientMonitor,
    missing_monitor,
    overrides,
    upwards,
)
from ._data_checks import check_X
from ._loop import TrainingDiverged
from ._model import Model
from ._schedulers import LearningRateCallback, LearningRateScheduler, ReduceLROnPlateau

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "GradientMonitor", "LearningRateCallback",
           "LearningRateScheduler", "Model", "ReduceLROnPlateau", "TrainingDiverged", "check_X",
           "missing_monitor", "overrides", "upwards"]

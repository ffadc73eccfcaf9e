"""Files: the model-file format and writing files safely.

A model file is a ZIP archive of a JSON header and ``.npy`` arrays (``_io``), read
without pickle: the archive's layout is checked before any member is read
(``_archive``), every value against its limits (``_values``), and objects are
built only from a fixed registry of classes (``_build``). Every write goes to a
temporary file renamed into place (``_atomic``). Functions here take a model as
an argument and build one through the class they are given: ``files`` never
imports ``training``.

May import: ``nn``, ``optim`` and the ground floor. Imported by ``training`` and above.
"""

from ._archive import ModelFileError
from ._atomic import atomic_write
from ._build import LAYERS, check_same_math, registered_base
from ._io import (
    check_savable,
    load_model,
    load_parameters,
    read_archive,
    save_model,
    save_parameters,
)

__all__ = ["LAYERS", "ModelFileError", "atomic_write", "check_same_math", "check_savable",
           "load_model", "load_parameters", "read_archive", "registered_base", "save_model",
           "save_parameters"]

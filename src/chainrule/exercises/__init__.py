"""Practice for learners: write the backward passes yourself, and see where the chain breaks.

Thirteen exercises follow the seed and the book (``EXERCISES``: ``neuron`` … the ``spiral``
capstone); each is a template file (``templates/``) that defines a class or function with
chainrule's own name and interface. ``check(name, obj)`` runs the learner's object against
chainrule's reference classes on several cases and diagnoses the first difference: which
output, the worst elements, the rule, the chain for that element and, when it recognises
one, the common mistake by name (``_cases``, ``_diagnosis``). ``_runner`` starts, checks,
lists and watches a learner's folder; ``_grade`` checks many folders as untrusted code, each
in its own limited process; ``_cli`` is ``chainrule exercises …``.
May import: ``inspection``, ``training``, ``datasets``, ``optim``, ``nn`` (their public
names) and the ground floor. Imported only by the command line.
"""

from ._catalogue import EXERCISES, Exercise
from ._cli import configure as configure_cli
from ._cli import run as run_cli
from ._diagnosis import Result
from ._grade import grade
from ._runner import check, check_file, hint, progress, start, watch

__all__ = ["EXERCISES", "Exercise", "Result", "check", "check_file", "configure_cli", "grade",
           "hint", "progress", "run_cli", "start", "watch"]

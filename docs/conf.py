"""Sphinx configuration for chainrule's site.

Every page is a MyST notebook or the executed copy of one: myst-nb runs each code cell when the
site is built, and a cell that raises fails the build (`nb_execution_raise_on_error`), so what
the site prints is what the code prints today. `make docs` builds with `-W`: a warning is an
error too.
"""

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# The notebook lives in examples/ (where learners open it); the site shows the same file,
# executed, so it is copied in at build time rather than kept twice in git.
_NOTEBOOK = ROOT / "examples" / "backprop_by_hand.ipynb"
shutil.copyfile(_NOTEBOOK, HERE / "backprop_by_hand.ipynb")

# Cells that run the command line (`chainrule train ...`) find this environment's script.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
# A `%%bash` cell stops at its first failing command (and so fails the build), not just its last.
os.environ["BASH_ENV"] = str(HERE / "strict-bash.sh")
# A page that shows the repository's own files (benchmark results) finds them from here.
os.environ["CHAINRULE_REPOSITORY"] = str(ROOT)


# --- the API reference: one page per public module, written from its __all__ at build time, so
# a name added to __all__ is on the site without anyone remembering to list it. An object
# re-exported under a second name (chainrule.callbacks.EarlyStopping is chainrule.EarlyStopping)
# is documented once and linked from the other page.
PUBLIC_MODULES = [
    ("chainrule", "Layers, activations, losses, optimizers, the Model, explain and gradcheck."),
    ("chainrule.datasets", "The book's generated data and a few small real datasets."),
    ("chainrule.callbacks", "Hooks into `Model.train`: early stopping, logging, learning rates."),
    ("chainrule.schedules", "Learning-rate schedules as functions of the step."),
    ("chainrule.plotting", "Pictures: decision boundaries, learning curves, network drawings."),
    ("chainrule.sklearn", "scikit-learn estimators around a Model (extra `sklearn`)."),
    ("chainrule.onnx", "Export a Model to ONNX (extra `onnx`)."),
    ("chainrule.playground", "The browser playground's server and session (extra `playground`)."),
    ("chainrule.exercises", "Exercises: write the backward passes yourself."),
    ("chainrule.nnfs", "The book's class names, so its chapter code runs on chainrule."),
    ("chainrule.nnfs.datasets", "The `nnfs` package's datasets, under their book names."),
    ("chainrule.cli", "The `chainrule` command."),
]


def _directive(name: str, obj) -> str:
    import inspect

    if inspect.isclass(obj):
        # :members: lists what the class itself defines (a public base documents its own); a
        # public method from a private base (the estimators' fit) would be on no page.
        extra = "".join(f"\n   .. auto{kind}:: {member}\n"
                        for member, kind in _from_private_bases(obj))
        return f"```{{eval-rst}}\n.. autoclass:: {name}\n   :members:\n{extra}```\n"
    if callable(obj):
        return f"```{{eval-rst}}\n.. autofunction:: {name}\n```\n"
    # A constant's docstring is its ``#:`` comment where it is assigned, in a private module;
    # autodata would look in the public module that only re-exports it, and fall back to the
    # docstring of the value's type (str's, dict's).
    body = "".join(f"   {line}\n" for line in _data_comment(obj))
    # Bare name: the page's `.. module::` supplies the module (a full name would be doubled).
    return f"```{{eval-rst}}\n.. py:data:: {name.rpartition('.')[2]}\n\n{body}```\n"


def _from_private_bases(cls) -> list[tuple[str, str]]:
    """(name, "method" or "property") of each public member a chainrule private base defines."""
    found = []
    for member in sorted({n for k in cls.__mro__[1:] for n in vars(k)} - set(vars(cls))):
        owner = next(k for k in cls.__mro__ if member in vars(k))
        value = vars(owner)[member]
        if (member.startswith("_") or not owner.__name__.startswith("_")
                or not owner.__module__.startswith("chainrule")):
            continue
        if isinstance(value, property):
            found.append((member, "property"))
        elif callable(value):
            found.append((member, "method"))
    return found


def _data_comment(obj) -> list[str]:
    """The ``#:`` comment where a chainrule module assigns ``obj``, as lines."""
    from sphinx.pycode import ModuleAnalyzer

    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("chainrule") or module is None:
            continue
        names = [name for name, value in vars(module).items() if value is obj]
        if names:
            docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
            for name in names:
                if ("", name) in docs:
                    return list(docs[("", name)])
    return []


def write_api_pages() -> None:
    """Write docs/api/<module>.md for every public module (the files are build products)."""
    import importlib
    import types

    seen: dict[int, str] = {}
    for module_name, summary in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        lines = [f"# `{module_name}`\n", f"{summary}\n",
                 f"```{{eval-rst}}\n.. module:: {module_name}\n```\n"]
        for name in module.__all__:
            obj = getattr(module, name)
            full = f"{module_name}.{name}"
            if isinstance(obj, types.ModuleType):
                if obj.__name__.startswith("chainrule"):
                    lines.append(f"- `{name}`: the module {{doc}}`{obj.__name__}`\n")
                continue  # `np` in chainrule.nnfs is NumPy itself, as in the book
            if id(obj) in seen and callable(obj):
                lines.append(f"- `{name}` is {{py:obj}}`{seen[id(obj)]}`\n")
                continue
            seen.setdefault(id(obj), full)
            lines.append(_directive(full, obj))
        (HERE / "api" / f"{module_name}.md").write_text("\n".join(lines), encoding="utf-8")


write_api_pages()

project = "chainrule"
author = "the chainrule developers"
copyright = "2026, the chainrule developers"
from chainrule import __version__ as release  # noqa: E402

version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.napoleon",
    # MathJax from the build environment instead of a CDN: the site is read offline.
    "sphinx-mathjax-offline",
]

exclude_patterns = ["_build", "jupyter_execute", ".jupyter_cache", "**.ipynb_checkpoints"]

# --- execution: every example runs at build time; one that fails stops the build --------------
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 600
# Each page runs in a fresh temporary folder: what one page writes, no other page can read.
nb_execution_in_temp = True
nb_merge_streams = True
# An example that writes to stderr unasked (a Python warning, a traceback a command caught, a
# library's complaint) is a warning, so -W fails the build; a shell cell that shows an error
# message on purpose sends it to stdout with 2>&1.
nb_output_stderr = "warn"
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 3

# --- API reference ---------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": False}
# The docstrings are NumPy style ("Parameters", "Returns" with dashes under them).
napoleon_google_docstring = False
napoleon_use_ivar = True  # "Attributes" as fields: a property documented below is not listed twice
napoleon_preprocess_types = True  # so that the alias below applies
napoleon_type_aliases = {"Model": "chainrule.Model"}  # not the book's chainrule.nnfs.Model

# --- HTML --------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"chainrule {release}"
html_static_path = []
html_show_sourcelink = False


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    # scikit-learn writes set_fit_request & co. onto every estimator; their docstrings are
    # scikit-learn's own and point into its documentation, not ours.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def _join_stream_chunks() -> None:
    """Show a `%%bash` cell's output as the command wrote it.

    IPython's `%%bash` forwards the command's output in 100-byte chunks, one stream output
    each; myst-nb's merge (`nb_merge_streams`) strips every chunk's end and adds a newline,
    which cuts lines mid-word. Chunks that follow each other are joined as they came first.
    """
    import copy

    from myst_nb.core import render

    merge = render.coalesce_streams

    def join_then_merge(outputs):
        joined = []
        for output in outputs:
            previous = joined[-1] if joined else None
            if (previous is not None and output["output_type"] == "stream"
                    and previous["output_type"] == "stream"
                    and previous["name"] == output["name"]):
                previous["text"] += output["text"]
            else:
                # A copy: the notebook's own outputs (written to jupyter_execute/) stay as run.
                joined.append(copy.copy(output))
        return merge(joined)

    render.coalesce_streams = join_then_merge


_join_stream_chunks()


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)

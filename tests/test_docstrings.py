"""Every public name has a docstring, and every docstring is valid reStructuredText.

The API reference (docs/api/, written at build time by docs/conf.py from each public module's
``__all__``) shows these docstrings as Sphinx reads them: NumPy-style sections turned into
reStructuredText by napoleon, with the site's napoleon settings. A docstring that is
not valid RST (a list with no blank line before it, ``|x|`` read as a substitution, ``name_``
read as a link target) is a warning that fails ``make docs``, and usually a garbled page. This
module checks the same docstrings with plain docutils, in a fraction of a second, and names the
object and the line of each problem.

Public means: every name in ``__all__`` of the modules docs/conf.py documents (its
``PUBLIC_MODULES``, read from the file), and every public method and property of those classes,
inherited ones from chainrule's own base classes included. A constant's docstring is its ``#:``
comment where it is assigned, which is what the site shows for it. Methods scikit-learn writes
onto its estimators (``set_fit_request`` & co.) are scikit-learn's and are left out, as the site
leaves them out.
"""

import ast
import dataclasses
import importlib
import inspect
import io
import re
import sys
import types
from pathlib import Path

import pytest

docutils_core = pytest.importorskip("docutils.core")
pytest.importorskip("sphinx")  # sphinx.pycode reads the #: comments of constants
from docutils import nodes  # noqa: E402
from docutils.parsers.rst import roles  # noqa: E402
from sphinx.ext.napoleon import Config as NapoleonConfig  # noqa: E402
from sphinx.ext.napoleon.docstring import NumpyDocstring  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "docs" / "conf.py"


def public_modules() -> list[str]:
    """The module names of ``PUBLIC_MODULES`` in docs/conf.py, read without running the file."""
    tree = ast.parse(CONF.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "PUBLIC_MODULES" for t in node.targets):
            return [name for name, _summary in ast.literal_eval(node.value)]
    raise AssertionError("docs/conf.py has no PUBLIC_MODULES list")


def _sphinx_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    # :class:`Dense`, :func:`explain`, ...: Sphinx resolves them to links; for this check
    # they are code.
    return [nodes.literal(rawtext, text)], []


_SPHINX_ROLES = ("class", "func", "meth", "attr", "mod", "obj", "data", "exc", "const", "ref",
                 "doc", "term", "py:class", "py:func", "py:meth", "py:attr", "py:mod", "py:obj",
                 "py:data", "py:exc", "py:const")


def _is_sklearn_plumbing(name: str) -> bool:
    return name.startswith("set_") and name.endswith("_request")


def _data_comment(obj) -> str | None:
    """The ``#:`` comment where a chainrule module assigns ``obj`` (how the site documents it)."""
    from sphinx.pycode import ModuleAnalyzer

    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("chainrule") or module is None:
            continue
        owned = [n for n, v in vars(module).items() if v is obj]
        if not owned:
            continue
        analyzer = ModuleAnalyzer.for_module(module_name)
        analyzer.analyze()
        for name in owned:
            comment = analyzer.attr_docs.get(("", name))
            if comment:
                return "\n".join(comment)
    return None


def documented_objects() -> list[tuple[str, object, str | None]]:
    """(public name, object, docstring) for each public object, each object once."""
    found: list[tuple[str, object, str | None]] = []
    seen: set[int] = set()

    def add(name, obj, doc):
        key = id(getattr(obj, "__func__", obj))
        if key not in seen:
            seen.add(key)
            found.append((name, obj, doc))

    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            full = f"{module_name}.{name}"
            if isinstance(obj, types.ModuleType):
                continue  # chainrule.nnfs.np is NumPy, as in the book
            if not (inspect.isclass(obj) or callable(obj)):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    found.append((full, obj, _data_comment(obj)))
                continue
            if not inspect.isclass(obj):
                add(full, obj, inspect.getdoc(obj))
                continue
            # A class's own docstring: not its base class's, not the signature that
            # @dataclass writes when there is none.
            doc = vars(obj).get("__doc__")
            if dataclasses.is_dataclass(obj) and doc and doc.startswith(obj.__name__ + "("):
                doc = None
            add(full, obj, doc and inspect.cleandoc(doc))
            for member_name in sorted({n for k in obj.__mro__ for n in vars(k)}):
                if member_name.startswith("_") or _is_sklearn_plumbing(member_name):
                    continue
                # The definition a user gets: the first class in the MRO that has the name.
                owner = next(k for k in obj.__mro__ if member_name in vars(k))
                if not owner.__module__.startswith("chainrule"):
                    continue  # object's, scikit-learn's: not ours to document
                member = vars(owner)[member_name]
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if not (inspect.isfunction(member) or isinstance(member, property)):
                    continue
                # An override without a docstring of its own shows its base's (inspect.getdoc
                # and the site both look up the MRO).
                doc = (inspect.getdoc(member) if isinstance(member, property)
                       else inspect.getdoc(getattr(obj, member_name)))
                add(f"{full}.{member_name}", member, doc)
    return found


OBJECTS = documented_objects()
IDS = [name for name, _obj, _doc in OBJECTS]


# A line inside a paragraph that starts like a list item or a ``name : type`` entry: docutils
# reads it as more words of the paragraph, and the page shows one run-on line.
_RUN_ON = re.compile(r"^\s*(?:[-*+] |\d+[.)] |[\w*]+(?:, [\w*]+)* : )")


def _napoleon_config() -> NapoleonConfig:
    """The site's napoleon settings, read from docs/conf.py."""
    settings = {}
    for node in ast.parse(CONF.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id.startswith("napoleon_"):
            settings[node.targets[0].id] = ast.literal_eval(node.value)
    assert settings, "docs/conf.py sets no napoleon_ option"
    return NapoleonConfig(**settings)


def rst_problems(docstring: str) -> list[str]:
    """docutils' warnings and errors for ``docstring`` as reStructuredText (empty if none).

    Also a line that starts a list item or a ``name : type`` entry inside a paragraph: valid
    RST, but it renders run together with the line above (it wants a blank line before it).
    """
    text = str(NumpyDocstring(inspect.cleandoc(docstring), _napoleon_config()))
    stream = io.StringIO()
    registered = dict(roles._roles)  # docutils' role table is global: leave it as found
    try:
        for role in _SPHINX_ROLES:
            roles.register_local_role(role, _sphinx_role)
        tree = docutils_core.publish_doctree(
            text,
            settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": stream})
    finally:
        roles._roles.clear()
        roles._roles.update(registered)
    problems = [line for line in stream.getvalue().splitlines() if line.strip()]
    for paragraph in tree.findall(nodes.paragraph):
        lines = paragraph.rawsource.splitlines()
        problems += [f"run into the paragraph above it (a blank line before it?): {line.strip()!r}"
                     for line in lines[1:] if _RUN_ON.match(line)]
    return problems


def test_the_list_of_public_modules_is_the_sites():
    # Read from docs/conf.py, so a module added there is checked here too.
    modules = public_modules()
    assert "chainrule" in modules and "chainrule.nnfs.datasets" in modules
    assert len(OBJECTS) > 100  # classes, functions, methods, constants


@pytest.mark.parametrize(("name", "obj", "doc"), OBJECTS, ids=IDS)
def test_public_name_has_a_docstring(name, obj, doc):
    what = ("docstring" if inspect.isclass(obj) or callable(obj) or isinstance(obj, property)
            else "#: comment where it is assigned")
    assert doc and doc.strip(), f"{name} has no {what}"


@pytest.mark.parametrize(("name", "obj", "doc"), OBJECTS, ids=IDS)
def test_docstring_is_valid_restructuredtext(name, obj, doc):
    if not doc:
        pytest.skip("no docstring: test_public_name_has_a_docstring fails for it")
    problems = rst_problems(doc)
    assert not problems, f"{name}'s docstring:\n" + "\n".join(problems)


@pytest.mark.parametrize(("docstring", "message"), [
    pytest.param("Shape (n, k).\n\n- one\n  two\n- three", None, id="valid"),
    pytest.param("Two lines\nof text:\n    indented\nback.", "Unexpected indentation", id="indent"),
    pytest.param("Sizes:\n- one\n- two", "run into the paragraph", id="list-no-blank"),
    pytest.param("Returns\n-------\nX : array (n, k)\ny : array (n,)", None,
                 id="numpy-entries"),
    pytest.param("Sizes are\nn_inputs : int\nn_neurons : int", "run into the paragraph",
                 id="entries-in-a-paragraph"),
    pytest.param("Parameters\n----------\nx : int\n    The input\n      indented oddly\n  back.",
                 "", id="numpy-section-bad-indent"),
    pytest.param("The error |a − b|.", "Undefined substitution", id="substitution"),
    pytest.param("The fitted model_ and classes_.", "Unknown target name", id="target"),
    pytest.param("See :class:`Dense`.", None, id="sphinx-role"),
    pytest.param("See :clas:`Dense`.", "Unknown interpreted text role", id="unknown-role"),
])
def test_the_check_catches_what_sphinx_would_warn_about(docstring, message):
    problems = rst_problems(docstring)
    if message is None:
        assert problems == []
    else:
        assert any(message in p for p in problems), problems

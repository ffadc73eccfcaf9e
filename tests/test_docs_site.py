"""The documentation site: built from executed code with no warning, then read in Chromium.

The module builds the site once, the way ``make docs`` does (``sphinx -W``, every example
executed), into a temporary folder. Then headless Chromium opens every page from a local
server with the network cut off: no console error, no failed request, every image drawn,
every internal link (and its ``#anchor``) found, and the search page answering offline.

Set CHAINRULE_DOCS_SITE=site to check a site already built by ``make docs`` instead.
"""

import ast
import html.parser
import http.server
import os
import re
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if os.environ.get("CHAINRULE_DOCS_SITE"):
        return Path(os.environ["CHAINRULE_DOCS_SITE"]).resolve()
    out = tmp_path_factory.mktemp("site")
    started = time.perf_counter()
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / ".doctrees"), str(ROOT / "docs"), str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=900)
    print(f"site built in {time.perf_counter() - started:.0f} s")
    assert build.returncode == 0, f"the site's build failed:\n{build.stderr[-6000:]}"
    return out


FRONT = "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n---\n\n# Example\n\n"


@pytest.mark.parametrize(("cell", "fails"), [
    ("print(6 * 7)", False),
    ("raise ValueError('an example that no longer runs')", True),
    ("import chainrule\nchainrule.Dense(2, 0)", True),
    ("%%bash\necho fine", False),
    ("%%bash\nchainrule evaluate no-such-model.chainrule\necho after", True),
    ("%%bash\nfalse | cat\necho after", True),
    # Written to stderr unasked: a warning fails the build (nb_output_stderr = "warn").
    ("import warnings\nwarnings.warn('a call that is deprecated')\nprint(6 * 7)", True),
    ("import sys\nprint('Traceback (most recent call last): ...', file=sys.stderr)", True),
    # An expected failure, its message on stdout and its status checked, builds.
    ("%%bash\nchainrule evaluate no-such-model.chainrule 2>&1 || status=$?\n"
     'test "${status:-0}" -eq 1\necho fine', False),
])
def test_an_example_that_fails_fails_the_build(tmp_path, cell, fails):
    """The site's own configuration, on a page of one cell: a failing cell stops the build."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "index.md").write_text(FRONT + "```{code-cell} python\n" + cell + "\n```\n",
                                     encoding="utf-8")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", "-c", str(ROOT / "docs"),
         "-D", "exclude_patterns=", "-d", str(tmp_path / "doctrees"), str(source),
         str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert (build.returncode != 0) == fails, build.stderr[-3000:]
    if not fails:
        assert "42" in (tmp_path / "out" / "index.html").read_text() or "fine" in (
            tmp_path / "out" / "index.html").read_text()


def test_a_shell_cell_cannot_hide_a_failure():
    """bash's `set -e` (docs/strict-bash.sh) skips a command before `&&` or `||`: `a && b`
    whose `a` fails goes on, and so does the build. A %%bash cell of the site uses neither,
    except `|| status=$?` followed by a `test` of that status (an expected failure)."""
    hiding = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for code in _code_cells(page):
            if not code.startswith("%%bash"):
                continue
            lines = code.splitlines()
            for i, line in enumerate(lines):
                command = re.sub(r"'[^']*'|\"[^\"]*\"|#.*", "", line)
                checked = re.search(r"\|\| status=\$\?\s*$", command) and any(
                    re.search(r"\btest \"\$\{?status", later) for later in lines[i + 1:])
                if "&&" in command or ("||" in command and not checked):
                    hiding.append(f"{page.name}: {line.strip()}")
    assert not hiding, "a shell command whose failure would not fail the build:\n" + "\n".join(
        hiding)


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if ".doctrees" not in p.parts)


class _Ids(html.parser.HTMLParser):
    """Every id= and name= in one page: the anchors a link's #fragment may point at."""

    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


def anchors(page: Path) -> set:
    parser = _Ids()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.ids


def test_the_site_builds_with_no_warning_and_has_every_page(site):
    names = {p.relative_to(site).as_posix() for p in pages(site)}
    # What the issue asks the site to hold, page by page.
    for page in ["index.html", "getting-started.html", "backprop_by_hand.html", "book.html",
                 "chain-rule.html", "playground.html", "exercises.html", "own-data.html",
                 "ecosystem.html", "performance.html", "reliability.html", "model-files.html",
                 "changelog.html", "search.html", "genindex.html", "api/index.html",
                 "api/chainrule.html"]:
        assert page in names, f"{page} is missing from the built site"


def test_every_public_name_is_in_the_api_reference(site):
    """Each name in a public module's __all__ has an anchor on that module's page."""
    import importlib
    import types

    reference = {}
    for module_name, _ in _public_modules():
        module = importlib.import_module(module_name)
        ids = anchors(site / "api" / f"{module_name}.html")
        text = (site / "api" / f"{module_name}.html").read_text(encoding="utf-8")
        for name in module.__all__:
            if isinstance(getattr(module, name), types.ModuleType):
                continue
            # Its own entry, or (a second name of one object) the line "`name` is <link>"
            # (the link's target is checked in Chromium); a mere mention is not an entry.
            second = (f'<span class="pre">{name}</span></code> is '
                      '<a class="reference internal" href="')
            documented = f"{module_name}.{name}" in ids or second in text
            reference[f"{module_name}.{name}"] = documented
    missing = sorted(k for k, v in reference.items() if not v)
    assert not missing, f"public names without an entry in the API reference: {missing}"
    assert len(reference) > 100


def test_every_public_method_is_in_the_api_reference(site):
    """Each public method and property of a documented class has its entry: on the class's own
    page, or on the page of the public chainrule base class that defines it."""
    import importlib
    import inspect
    import types

    ids, site_name = set(), {}
    for module_name, _ in _public_modules():
        ids |= anchors(site / "api" / f"{module_name}.html")
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and not isinstance(obj, types.ModuleType):
                site_name.setdefault(obj, f"{module_name}.{name}")
    missing = []
    for cls, full in site_name.items():
        for member in sorted({n for k in cls.__mro__ for n in vars(k)}):
            if member.startswith("_") or re.fullmatch(r"set_\w+_request", member):
                continue  # scikit-learn's plumbing, left out as conf.py leaves it out
            owner = next(k for k in cls.__mro__ if member in vars(k))
            value = vars(owner)[member]
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if not owner.__module__.startswith("chainrule") or not (
                    inspect.isfunction(value) or isinstance(value, property)):
                continue  # object's and scikit-learn's are theirs; attributes are in the text
            where = {f"{full}.{member}"} | ({f"{site_name[owner]}.{member}"}
                                             if owner in site_name else set())
            if not where & ids:
                missing.append(f"{full}.{member}")
    assert not missing, f"public methods without an entry in the API reference: {missing}"


def _public_modules():
    import ast

    tree = ast.parse((ROOT / "docs" / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PUBLIC_MODULES":
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py has no PUBLIC_MODULES")



def _code_cells(page: Path) -> list[str]:
    """The code of every executed cell of a page (a MyST notebook, or the .ipynb itself)."""
    if page.suffix == ".ipynb":
        import json

        cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
        return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", page.read_text(encoding="utf-8"),
                      flags=re.S | re.M)


def _imported_modules(code: str) -> set:
    if code.startswith("%%"):
        return set()  # %%bash: the shell's, not Python's
    code = "\n".join("" if line.startswith(("%", "!", ":")) else line
                     for line in code.splitlines())
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _requirements(distribution: str) -> list[str]:
    """A distribution's requirements; chainrule's from pyproject.toml (what a clone installs)."""
    from importlib import metadata

    if distribution != "chainrule":
        return metadata.requires(distribution) or []
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["dependencies"]) + [
        f"{line}; extra == '{extra}'"
        for extra, lines in project["optional-dependencies"].items() for line in lines]


def _installed_by(distribution: str, extras: set) -> set:
    """The distributions ``pip install 'distribution[extras]'`` installs (from their metadata)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    done, todo = set(), [(distribution, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        key = (canonicalize_name(name), wanted)
        if key in done:
            continue
        done.add(key)
        for line in _requirements(name):
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra})
                                     for extra in wanted | {""}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in done}


def test_the_pages_import_only_what_make_docs_installs():
    """`make docs` installs ``.[docs]``: a page that imports more fails on a fresh clone."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    installed = _installed_by("chainrule", {"docs"})
    providers = metadata.packages_distributions()
    sources = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "examples" / "backprop_by_hand.ipynb"]
    missing = set()
    for page in sources:
        for code in _code_cells(page):
            for module in _imported_modules(code) - set(sys.stdlib_module_names):
                names = {canonicalize_name(d) for d in providers.get(module, [module])}
                if not names & installed:
                    missing.add(f"{page.name}: import {module} ({', '.join(sorted(names))})")
    assert not missing, "not installed by `make docs` (the docs extra):\n" + "\n".join(
        sorted(missing))
    assert {"sphinx", "myst-nb", "furo", "matplotlib"} <= installed


# --- in Chromium ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(site):
    handler = partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass



class Visit:
    """A browser tab that refuses every address off the local server and records trouble."""

    def __init__(self, browser, server):
        self.server = server
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.context.route("**/*", self._only_local)
        self.page.on("console", lambda m: m.type == "error"
                     and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"script: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(
            f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400
                     and self.problems.append(f"HTTP {r.status}: {r.url}"))

    def _only_local(self, route):
        url = route.request.url
        if url.startswith(self.server) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.problems.append(f"off-line site asked the network for {url}")
            route.abort()

    def close(self):
        self.context.close()



@pytest.mark.browser
def test_every_page_opens_with_no_error_every_image_loads_every_link_resolves(
        site, server, browser):
    visit = Visit(browser, server)
    problems, links = [], set()
    try:
        for path in pages(site):
            relative = path.relative_to(site).as_posix()
            visit.problems.clear()
            visit.page.goto(f"{server}/{relative}", wait_until="networkidle")
            broken = visit.page.evaluate(
                "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.getAttribute('src'))")
            problems += [f"{relative}: image not drawn: {src}" for src in broken]
            problems += [f"{relative}: {p}" for p in visit.problems]
            for href in visit.page.evaluate("() => [...document.links].map(a => a.href)"):
                links.add((relative, href))
    finally:
        visit.close()
    problems += _unresolved(site, server, links)
    assert not problems, "\n".join(problems[:40])
    assert len(pages(site)) >= 20


def _unresolved(site: Path, server: str, links: set) -> list[str]:
    """Every link into the site names a file that exists and, with #x, an anchor on it."""
    problems, cache = [], {}
    for source, href in sorted(links):
        if not href.startswith(server):
            continue  # mailto:, an outside reference the reader may follow on line
        parts = urlsplit(href)
        target = site / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{source}: link to a missing page {parts.path}")
            continue
        if parts.fragment and target.suffix == ".html":
            ids = cache.setdefault(target, anchors(target))
            if unquote(parts.fragment) not in ids:
                problems.append(f"{source}: link to a missing anchor {parts.path}#{parts.fragment}")
    return problems


@pytest.mark.browser
@pytest.mark.parametrize(("query", "expected"), [("Dense", "api/chainrule.html"),
                                                 ("Normalization", "api/chainrule.html"),
                                                 ("backpropagation", "backprop_by_hand.html")])
def test_search_works_offline(site, server, browser, query, expected):
    visit = Visit(browser, server)
    try:
        visit.page.goto(urljoin(server + "/", f"search.html?q={query}"))
        _wait_for_the_search(visit.page)
        hrefs = visit.page.evaluate(
            "() => [...document.querySelectorAll('#search-results li a')].map(a => a.href)")
        assert not visit.problems, visit.problems
    finally:
        visit.close()
    assert any(expected in href for href in hrefs), hrefs



class _Title(html.parser.HTMLParser):
    """The text of a page's first <h1>."""

    def __init__(self):
        super().__init__()
        self.depth, self.text, self.done = 0, "", False

    def handle_starttag(self, tag, attrs):
        if tag == "h1" and not self.done:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "h1" and self.depth:
            self.depth, self.done = 0, True

    def handle_data(self, data):
        if self.depth:
            self.text += data


@pytest.mark.browser
def _wait_for_the_search(page) -> None:
    """Until Sphinx's search has listed every hit: it adds them one by one, 5 ms apart, then
    says it has finished (a busy machine would otherwise read half a list)."""
    page.wait_for_function(
        "() => /Search finished|did not match/.test("
        "document.querySelector('#search-results .search-summary')?.textContent || '')",
        timeout=30_000)


def test_search_finds_every_page_by_a_word_of_its_title(site, server, browser):
    """Offline search knows every page, not just three words: the longest word of each page's
    title (not the project's name, found everywhere) finds that page."""
    missing, visit = [], Visit(browser, server)
    try:
        for path in sorted(site.glob("*.html")):
            if path.stem in ("index", "search", "genindex", "py-modindex"):
                continue
            parser = _Title()
            parser.feed(path.read_text(encoding="utf-8"))
            words = {w for w in re.findall(r"[A-Za-z]{4,}", parser.text)
                     if w.lower() not in ("chainrule", "your", "with")}
            word = max(sorted(words), key=len)
            visit.page.goto(f"{server}/search.html?q={word}")
            _wait_for_the_search(visit.page)
            hrefs = visit.page.evaluate(
                "() => [...document.querySelectorAll('#search-results li a')].map(a => a.href)")
            if not any(urlsplit(h).path == f"/{path.name}" for h in hrefs):
                missing.append(f"{word!r} does not find {path.name}")
            # The results page fetches each hit for its summary; let it finish before leaving.
            visit.page.wait_for_load_state("networkidle")
            assert not visit.problems, visit.problems
    finally:
        visit.close()
    assert not missing, missing

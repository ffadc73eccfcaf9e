"""The README's code runs as written and prints what the README shows.

Every ```python and ```bash block of README.md is run, in order, each in a fresh process, all
in one empty folder (so a later block may read a file an earlier one wrote, as a reader's
would). A ```text block right after a code block is what that code prints; ``...`` stands for
any text, as in doctest. A block the README marks with ``<!-- not run: why -->`` on the line
before it is a deliberate fragment; there may be only a few, and each says why.
"""

import doctest
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUNNABLE = {"python", "bash"}
MOST_FRAGMENTS = 3
MOST_LINES = 200


@dataclass
class Block:
    language: str
    code: str
    line: int
    expected: str | None = None
    not_run: str | None = None
    prose: str = ""  # the text between the previous block (or heading) and this one
    end: int = 0  # the line of its closing fence (of its output block's, once it has one)


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, each code block with the output block after it."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    after_last = 0  # the line after the previous block's closing fence
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            # A fence this reader would skip, and so never run: indented (in a list), ~~~, or
            # with more than a language after the backticks.
            assert not re.match(r"^\s*(`{3,}|~{3,})", lines[i]), (
                f"README.md line {i + 1}: {lines[i].strip()!r} is a fence this test does not "
                "read; write ```python, ```bash or ```text at the start of a line")
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
        assert end is not None, f"README.md line {i + 1}: a fence that never closes"
        body = "\n".join(lines[i + 1:end]) + "\n"
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = re.match(r"^<!-- not run: (.+) -->$", previous.strip())
        language = fence.group(1)
        if language == "text" and found and found[-1].expected is None and _only_blank_between(
                lines, found[-1], i):
            found[-1].expected = body
        else:
            prose = lines[after_last:i]
            headings = [k for k, line in enumerate(prose) if line.startswith("#")]
            prose = prose[headings[-1] + 1:] if headings else prose
            found.append(Block(language, body, i + 1, not_run=marker and marker.group(1),
                               prose="\n".join(prose)))
        found[-1].end = end
        i = end + 1
        after_last = i
    return found


def _only_blank_between(lines, block, start) -> bool:
    return all(not line.strip() for line in lines[block.end + 1:start])


def _readme_blocks() -> list[Block]:
    return blocks(README.read_text(encoding="utf-8"))


def _runnable() -> list[Block]:
    return [b for b in _readme_blocks() if b.language in RUNNABLE and not b.not_run]


def test_the_readme_is_a_front_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MOST_LINES
    found = _readme_blocks()
    fragments = [b for b in found if b.not_run]
    assert len(fragments) <= MOST_FRAGMENTS, [(b.line, b.not_run) for b in fragments]
    assert all(b.language in RUNNABLE | {"text"} for b in found), \
        [(b.line, b.language) for b in found if b.language not in RUNNABLE | {"text"}]
    # The top of the README shows the two commands: the demo and the tests.
    first = found[0]
    assert first.language == "bash" and "make demo" in first.code and "make test" in first.code
    # Every text block is some code's output; none is a loose picture of what might print.
    assert not [b for b in found if b.language == "text"], "a ```text block follows no code"
    # ... stands for some text; an output that is all ... would match anything.
    assert not [b.line for b in found if b.expected is not None
                and not b.expected.replace("...", "").strip()], "an output block of only ..."


def test_a_block_with_a_wrong_expectation_fails():
    """The checker itself: an expectation that differs from the output is caught."""
    block = Block("python", "print(1 + 1)\n", 1, expected="3\n")
    with pytest.raises(AssertionError, match="prints"):
        _check_output(block, _run(block, Path.cwd(), _environment()))
    block.expected = "2\n"
    _check_output(block, _run(block, Path.cwd(), _environment()))
    block.expected = "...\n"
    _check_output(block, _run(block, Path.cwd(), _environment()))
    warns = Block("python", "import warnings\nwarnings.warn('deprecated')\nprint(2)\n", 1)
    with pytest.raises(AssertionError, match="writes to stderr"):
        _run(warns, Path.cwd(), _environment())


@pytest.mark.parametrize("text", ["- a step:\n\n  ```python\n  print(1)\n  ```\n",
                                  "~~~python\nprint(1)\n~~~\n",
                                  "```python title=x\nprint(1)\n```\n"])
def test_a_fence_the_reader_would_skip_is_refused(text):
    with pytest.raises(AssertionError, match="does not read"):
        blocks(text)


def test_fenced_blocks_are_read_with_their_output_and_markers():
    text = ("x\n<!-- not run: needs a server -->\n```bash\nserve\n```\n\n```python\nprint(2)\n```"
            "\n\n```text\n2\n```\nprose\n```python\nprint(3)\n```\n")
    first, second, third = blocks(text)
    assert (first.language, first.not_run, first.expected) == ("bash", "needs a server", None)
    assert (second.code, second.expected, second.not_run) == ("print(2)\n", "2\n", None)
    assert (third.code, third.expected) == ("print(3)\n", None)


def _environment() -> dict:
    env = dict(os.environ)
    # `chainrule ...` in a shell block is this environment's script, as after
    # `. .venv/bin/activate`.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONPATH", None)
    env["COLUMNS"] = "100"
    return env


def _run(block: Block, folder: Path, env: dict) -> str:
    if block.language == "python":
        command = [sys.executable, "-c", block.code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, (
        f"README.md line {block.line}: the {block.language} block exits {done.returncode}\n"
        f"{block.code}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
    # A warning or a caught traceback is news the README does not show (one it means to show
    # goes to stdout: 2>&1).
    assert not done.stderr, (
        f"README.md line {block.line}: the {block.language} block writes to stderr:\n"
        f"{done.stderr[-3000:]}")
    return done.stdout


def _check_output(block: Block, got: str) -> None:
    if block.expected is None:
        return
    checker = doctest.OutputChecker()
    want = block.expected
    if not checker.check_output(want, got, doctest.ELLIPSIS):
        raise AssertionError(f"README.md line {block.line}: the block prints\n{got}\n"
                             f"where the README shows\n{want}")


# What `make demo` installs: the core and these extras (numba where it comes as a wheel).
DEMO_EXTRAS = ("progress", "plot", "fast")

# Imported first by every Python a block starts (PYTHONPATH): a package `make demo` does not
# install is not there, and nothing is fetched from another machine.
GUARD = """\
import importlib.abc
import os
import socket
import sys

_BLOCKED = set(filter(None, os.environ.get("README_BLOCKED", "").split(",")))


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(
                f"No module named {name!r} (README test: `make demo` does not install it; "
                "the README must name its extra, .[name], in the text before the block)",
                name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
_connect = socket.socket.connect


def _local_only(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in (
            "127.0.0.1", "::1", "localhost"):
        raise OSError(f"README test: a block may not use the network ({address[0]})")
    return _connect(self, address)


socket.socket.connect = _local_only
"""


def _installed_with(extras) -> set[str]:
    """The distributions chainrule with these extras brings, as installed here."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[tuple[str, frozenset]] = set()
    todo = [("chainrule", frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        if (canonicalize_name(name), wanted) in seen:
            continue
        seen.add((canonicalize_name(name), wanted))
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or any(
                    requirement.marker.evaluate({"extra": extra}) for extra in ("", *wanted)):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in seen} | {"pip", "setuptools"}


def _not_installed_by_demo(block: Block) -> set[str]:
    """The top-level modules of this environment that `make demo`, plus the extras the text
    before the block names (``.[data]``, ``chainrule[onnx]``), would not install."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    named = re.findall(r"(?:chainrule|\.)\[([\w,-]+)\]", block.prose)
    extras = {*DEMO_EXTRAS, *(e for group in named for e in group.split(","))}
    allowed = _installed_with(extras)
    return {module for module, dists in metadata.packages_distributions().items()
            if not {canonicalize_name(d) for d in dists} & allowed}


def test_the_guard_refuses_what_the_demo_does_not_install_and_the_network(tmp_path):
    env = _guarded(_environment(), tmp_path, Block("python", "", 1))
    assert "sklearn" in env["README_BLOCKED"].split(",")
    assert not {"numpy", "matplotlib", "tqdm", "chainrule"} & set(env["README_BLOCKED"].split(","))
    code = ("import numpy, matplotlib, tqdm, chainrule\n"
            "try:\n    import sklearn.datasets\nexcept ModuleNotFoundError as e: print(e.name)\n"
            "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
            "except OSError as e: print('README test' in str(e))\n")
    block = Block("python", code, 1, expected="sklearn\nTrue\n")
    _check_output(block, _run(block, tmp_path, env))
    named = Block("python", "import sklearn\n", 1, prose="first: pip install -e '.[data]'")
    _run(named, tmp_path, _guarded(_environment(), tmp_path, named))


def _guarded(env: dict, folder: Path, block: Block) -> dict:
    guard = folder / ".readme-guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    home = folder / ".home"
    home.mkdir(exist_ok=True)
    return {**env, "PYTHONPATH": str(guard), "README_BLOCKED": ",".join(
        sorted(_not_installed_by_demo(block))), "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"), "MPLCONFIGDIR": str(home / ".matplotlib")}


def test_every_block_runs_and_prints_what_the_readme_shows(tmp_path):
    """Each block as a reader runs it after `make demo`: only what the demo installs is there,
    unless the text right before the block names the extra it needs; no network; home is a
    folder of the test's; and the repository is left as it was."""
    runnable = _runnable()
    assert len(runnable) >= 3
    env = _environment()
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(os.listdir(ROOT))
    for block in runnable:
        _check_output(block, _run(block, work, _guarded(env, tmp_path, block)))
    assert sorted(os.listdir(ROOT)) == before, "a README block wrote into the repository"


def test_every_link_and_image_in_the_readme_names_a_file_here():
    text = README.read_text(encoding="utf-8")
    targets = (re.findall(r"\]\(([^)\s]+)\)", text)  # [text](target), ![alt](picture)
               + re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", text, flags=re.M)  # [name]: target
               + re.findall(r"""(?:src|href)=["']([^"']+)["']""", text))  # <img src=...>
    local = [t.split("#")[0] for t in targets if not re.match(r"^[a-z]+:", t)]
    assert len(local) >= 8
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to files that are not here: {missing}"


def test_the_readme_quotes_the_recorded_benchmark():
    """The speed ratios in the README are those of benchmarks/results/latest.json."""
    import json

    run = json.loads((ROOT / "benchmarks" / "results" / "latest.json").read_text())

    def ratio(workload, peer):
        peers = run["workloads"][workload]["peers"]
        return peers["chainrule"]["samples_per_second"] / peers[peer]["samples_per_second"]

    text = " ".join(README.read_text(encoding="utf-8").split())
    quoted = [
        f"trains {ratio('W1', 'pytorch'):.1f}× as many samples per second as PyTorch and "
        f"{ratio('W1', 'scikit-learn'):.1f}× as many as scikit-learn",
        f"batches of 32, {ratio('W3', 'pytorch'):.1f}× and {ratio('W3', 'scikit-learn'):.1f}×",
        f"level with PyTorch ({ratio('W4', 'pytorch'):.2f}×)",
    ]
    for sentence in quoted:
        assert sentence in text, f"the README should say: {sentence}"

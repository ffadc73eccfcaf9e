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


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, each code block with the output block after it."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
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
            found.append(Block(language, body, i + 1, not_run=marker and marker.group(1)))
        found[-1].end = end
        i = end + 1
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


def test_a_block_with_a_wrong_expectation_fails():
    """The checker itself: an expectation that differs from the output is caught."""
    block = Block("python", "print(1 + 1)\n", 1, expected="3\n")
    with pytest.raises(AssertionError, match="prints"):
        _check_output(block, _run(block, Path.cwd(), _environment()))
    block.expected = "2\n"
    _check_output(block, _run(block, Path.cwd(), _environment()))
    block.expected = "...\n"
    _check_output(block, _run(block, Path.cwd(), _environment()))


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
    return done.stdout


def _check_output(block: Block, got: str) -> None:
    if block.expected is None:
        return
    checker = doctest.OutputChecker()
    want = block.expected
    if not checker.check_output(want, got, doctest.ELLIPSIS):
        raise AssertionError(f"README.md line {block.line}: the block prints\n{got}\n"
                             f"where the README shows\n{want}")


def test_every_block_runs_and_prints_what_the_readme_shows(tmp_path):
    runnable = _runnable()
    assert len(runnable) >= 3
    env = _environment()
    for block in runnable:
        _check_output(block, _run(block, tmp_path, env))


def test_every_link_and_image_in_the_readme_names_a_file_here():
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t.split("#")[0] for t in targets if not re.match(r"^[a-z]+:", t)]
    assert len(local) >= 8
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to files that are not here: {missing}"

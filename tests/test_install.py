"""The wheel installs as a user installs it: built from this tree, into a fresh virtual
environment, first alone (the core: NumPy only), then with extras; its command runs the
demo and its playground imports there, outside the repository.

Slow for a test (a wheel build and two installs, mostly from pip's cache): marked
``install`` (deselect with -m 'not install'), and run by default.
"""

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.install


def run(*command, cwd, check=True):
    # Not this environment's: no PYTHONPATH, no virtual environment of the test run's.
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if check:
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


def build_wheel(tmp_path: Path) -> Path:
    """The wheel of this tree, built from a copy of what the package is made of: building in
    the tree itself leaves build/ and *.egg-info there, and setuptools puts build/lib's
    leftovers (a module deleted since the last build) into the wheel."""
    import shutil

    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
        "-w", wheels, source, cwd=tmp_path)
    (wheel,) = wheels.glob("chainrule-*.whl")
    return wheel


def test_the_wheel_installs_with_its_extras_into_a_fresh_environment(tmp_path):
    wheel = build_wheel(tmp_path)
    # The wheel holds this tree's package, every file of it, and nothing else (no module
    # left over from an earlier build, no bytecode or numba cache).
    import zipfile

    in_wheel = {name for name in zipfile.ZipFile(wheel).namelist()
                if name.startswith("chainrule/")}
    in_tree = {path.relative_to(ROOT / "src").as_posix()
               for path in (ROOT / "src" / "chainrule").rglob("*")
               if path.is_file() and "__pycache__" not in path.parts}
    assert in_wheel == in_tree, (sorted(in_wheel - in_tree), sorted(in_tree - in_wheel))
    environment = tmp_path / "env"
    venv.create(environment, with_pip=True)
    python, chainrule = environment / "bin" / "python", environment / "bin" / "chainrule"
    elsewhere = tmp_path / "work"  # not the repository: the installed package runs
    elsewhere.mkdir()

    # The wheel alone: NumPy and nothing else; each extra's absence is said in words.
    run(python, "-m", "pip", "install", "-q", wheel, cwd=elsewhere)
    listed = run(python, "-m", "pip", "list", "--format=freeze", cwd=elsewhere).stdout
    names = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert {"chainrule", "numpy"} <= names and not names & {"matplotlib", "tqdm", "starlette"}
    refused = run(chainrule, "playground", "--no-browser", cwd=elsewhere, check=False)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "the playground needs its extra: pip install 'chainrule[playground]'" \
        in refused.stderr and "pip install -e '.[playground]'" in refused.stderr
    core = run(chainrule, "demo", "--epochs", "10", cwd=elsewhere)
    assert "(no plots: plotting needs matplotlib: pip install 'chainrule[plot]'" in core.stderr
    assert (elsewhere / "chainrule-output" / "demo" / "model.chainrule").is_file()

    # With the extras, as the README says to install them from a wheel.
    run(python, "-m", "pip", "install", "-q", f"{wheel}[playground,plot,progress]",
        cwd=elsewhere)
    done = run(chainrule, "demo", "--epochs", "10", "--no-progress", cwd=elsewhere)
    assert "on 300 spiral points for 10 epochs" in done.stdout
    assert "epoch: 10, acc: " in done.stdout
    test_line = next(line for line in done.stdout.splitlines() if line.startswith("test, acc: "))
    assert 0 < float(test_line.split("acc: ")[1].split(",")[0]) <= 1
    folder = elsewhere / "chainrule-output" / "demo"
    for name in ("model.chainrule", "learning_curves.png", "decision_boundary.png"):
        assert str(Path("chainrule-output") / "demo" / name) in done.stdout
        assert (folder / name).stat().st_size > 1000
    assert (folder / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    imported = run(python, "-c", "import chainrule, chainrule.playground, chainrule.playground."
                   "server; print(chainrule.__file__)", cwd=elsewhere)
    # The installed copy, not this tree's sources.
    assert Path(imported.stdout.strip()).is_relative_to(environment)
    assert not Path(imported.stdout.strip()).is_relative_to(ROOT)


def _fake_environment(folder: Path) -> Path:
    """This Makefile and pyproject.toml in `folder`, with a .venv whose programs only log what
    they are asked to do (to folder/log): make's order, without installing anything."""
    import shutil
    import stat

    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, folder / name)
    log = folder / "log"
    bin_ = folder / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for name in ("python", "chainrule", "ruff", "jupyter", "pip"):
        script = bin_ / name
        script.write_text(f'#!/bin/sh\necho "start {name} $*" >> "{log}"\nsleep 0.5\n'
                          f'echo "end {name} $*" >> "{log}"\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


@pytest.mark.skipif(not __import__("shutil").which("make"), reason="needs make")
def test_make_never_runs_two_installs_into_the_venv_at_once(tmp_path):
    """`make -j2 demo test` (or docs and test): two pips writing one site-packages at once can
    leave it broken, and the tests would start while the demo's set is being installed. The
    Makefile runs its steps one after another, whatever -j says."""
    log = _fake_environment(tmp_path)
    pip = f"{tmp_path}/.venv/bin/pip install"
    for goals in (["demo", "test"], ["docs", "test", "notebook"]):
        log.unlink(missing_ok=True)
        for stamp in (tmp_path / ".venv").glob(".*"):
            stamp.unlink()
        run("make", "-j2", f"PIP={pip}", *goals, cwd=tmp_path)
        lines = log.read_text().splitlines()
        running = 0
        for line in lines:
            running += 1 if line.startswith("start") else -1
            assert running in (0, 1), f"make -j2 {' '.join(goals)} ran two at once:\n" + \
                "\n".join(lines)
        assert any("install" in line for line in lines)

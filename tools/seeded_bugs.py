"""The bugs issues 9 and 18 say the suite once missed, seeded one at a time: each must be caught.

Each bug replaces pieces of source text (each must occur exactly once) in a private
copy of the repository, runs the mutated module's tests there as
``tools/mutants.py`` does, and prints the first test that fails. Usage::

    .venv/bin/python tools/seeded_bugs.py
"""

from __future__ import annotations

import shutil
import sys

from mutants import ROOT, check_imports_the_copy, make_copy, module_path, run_tests

# The loop's per-step mean, kept so that a bug can average the batches' means.
_KEEP_BATCH_MEANS = (
    "        data_loss = loss.accumulate(loss.sample_losses(output, targets))\n",
    "        data_loss = loss.accumulate(loss.sample_losses(output, targets))\n"
    "        batch_means.append((data_loss, accuracy.calculate(\n"
    "            model.output_layer_activation.predictions(output), labels)))\n",
)

#: (what the bug does, module, [(text, replacement), ...])
BUGS = [
    ("shuffling never shuffles", "training._loop", [
        ("    if model.rng is None:\n        return np.random.permutation(n)\n"
         "    return model.rng.permutation(n)\n", "    return np.arange(n)\n")]),
    ("epoch figures are means over batches, not over samples", "training._loop", [
        ("    order = None\n", "    order = None\n    batch_means = []\n"),
        _KEEP_BATCH_MEANS,
        ("    data_loss = loss.calculate_accumulated()\n",
         "    data_loss = float(np.mean([m[0] for m in batch_means]))\n"),
        ('"accuracy": accuracy.calculate_accumulated(),',
         '"accuracy": float(np.mean([m[1] for m in batch_means])),')]),
    ("evaluate(batch_size=k) averages the batches' means", "training._model", [
        ("        self.accuracy.new_pass()\n        for rows",
         "        self.accuracy.new_pass()\n        means = []\n        for rows"),
        ("            self.loss.calculate(output, y[rows])\n",
         "            means.append(self.loss.calculate(output, y[rows]))\n"),
        ('result = {"loss": self.loss.calculate_accumulated(),',
         'result = {"loss": float(np.mean(means)),')]),
    ("a regularised model's reg_loss is always 0", "training._model", [
        ("        self._regularized = any(layer.regularized for layer in self.trainable_layers)",
         "        self._regularized = False")]),
    ("the optimizer's non-finite-gradient check is disabled", "optim._optimizers", [
        ("            if not math.isfinite(np.vdot(group.work_grads, group.work_grads)):",
         "            if False:")]),
    ("orphan clean-up deletes a live writer's temporary file", "files._atomic", [
        ("        if not pid.isdigit() or _alive(int(pid)):", "        if not pid.isdigit():")]),
    ("a binary model trained without accuracy= cannot be evaluated", "training._model", [
        ("    if isinstance(loss, BinaryCrossentropy) or isinstance(last_layer, Sigmoid):\n"
         "        return CategoricalAccuracy(binary=True)\n", "")]),
]

#: The bugs issue 18 says survived the whole suite in the newer modules, seeded the same way.
BUGS_18 = [
    ("ReduceLROnPlateau treats min_lr as a factor", "training._schedulers", [
        ("        floor = self.min_lr / self.model.optimizer.learning_rate\n",
         "        floor = self.min_lr\n")]),
    ("ReduceLROnPlateau loses its wait count in a checkpoint", "training._schedulers", [
        ('"wait": self.wait, "cooldown_counter"', '"cooldown_counter"')]),
    ("a re-adapted Normalization keeps stale statistics", "nn._normalization", [
        ("        self._cast = {}  # σ in each dtype",
         "        self._cast = getattr(self, '_cast', {})  # σ in each dtype")]),
    ("the CLI's fresh held-out spiral is the training data", "cli._data", [
        ("        fresh = make(100, 3, rng=rng)", "        fresh = (X, y)")]),
    ("a CSV changed in place with the same rows is not noticed by evaluate", "cli._data", [
        ('    if data.digest != record.get("sha256") or len(data.X) != record.get("rows"):',
         '    if len(data.X) != record.get("rows"):')]),
    ("a relative --dataset path is not matched with the recorded split", "cli._data", [
        ("        return self.name if self.name in BUILTIN else str(Path(self.name).resolve())",
         "        return self.name")]),
    ("the numba cross-entropy's upper clip is dropped", "_kernels", [
        ("                elif p > high:\n                    p = high\n", "")]),
    ("validation_split takes one-hot classes along the wrong axis", "training._plan", [
        ("np.argmax(y, axis=1) if y.ndim == 2 else y",
         "np.argmax(y, axis=0) if y.ndim == 2 else y")]),
    ("the playground does not re-split when the training share changes",
     "playground.settings", [
        ('"noise", "train_ratio", "seed")', '"noise", "seed")')]),
]


def seeded(source: str, patches: list[tuple[str, str]], what: str) -> str:
    for text, replacement in patches:
        if source.count(text) != 1:
            sys.exit(f"{what}: {text.strip()[:60]!r} no longer occurs exactly once")
        source = source.replace(text, replacement)
    return source


def main() -> int:
    work = make_copy(ROOT)
    missed = 0
    try:
        check_imports_the_copy(work)
        for what, module, patches in [*BUGS, *BUGS_18]:
            path = module_path(work, module)
            original = path.read_text()
            path.write_text(seeded(original, patches, what))
            try:
                status, seconds, test = run_tests(work, module, timeout=900)
            finally:
                path.write_text(original)
            missed += status == "passed"
            verdict = {"passed": "MISSED", "failed": "caught"}.get(status, status)
            print(f"{verdict:7s} {what} ({module}, {seconds:.0f} s): {test}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

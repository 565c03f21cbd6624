"""train.py --steps_per_execution: it reaches compile, the callbacks count steps (not calls), resume stays exact."""

import json
import os
import pathlib

import pytest
from cli_batch import run_batch

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
# ESPCN x3 in batches of 4: milliseconds a step; 2 epochs of 8 steps, 4 steps per execution.
TINY = ["--model=espcn", "--scale=3", "--optimizer=adam", "--learning_rate=1e-3", "--lr_schedule=constant",
        "--reconstruction_lr_multiplier=1", "--batch_size=4", "--epochs=2", "--steps_per_epoch=8", "--verbose=0"]


def _latest(out):
    return json.loads((out / "checkpoints" / "latest.json").read_text())


def test_flag_reaches_compile_and_a_tiny_run_writes_best_keras(data_dir, tmp_path):
    out, refused = tmp_path / "run", tmp_path / "refused"
    t91 = f"--datasets={data_dir / 'T91'}"
    ok, bad = run_batch([
        ["train.py", *TINY, t91, "--steps_per_execution=4", "--checkpoint_every=5", f"--validation_dir={data_dir}",
         f"--output_dir={out}"],
        ["train.py", *TINY, t91, "--steps_per_execution=3", f"--output_dir={refused}"],
    ], cwd=ROOT, env=ENV)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-3000:]
    assert (out / "best.keras").exists() and "Best model:" in ok.stdout
    state = _latest(out)
    assert state["global_step"] == 16 and state["optimizer_iterations"] == 16  # no execution ran past an epoch
    # Checkpoints exist only at execution ends: every 5 steps lands on 8, 12, 16 (one step at a time: 15, 16).
    kept = sorted(int(p.name.split("-")[1].split(".")[0]) for p in (out / "checkpoints").glob("ckpt-*.weights.h5"))
    assert kept == [12, 16]
    assert bad.returncode == 2, bad.stderr[-2000:]
    assert "steps_per_execution=3 must divide steps_per_epoch=8" in bad.stderr
    assert not refused.exists()  # refused before anything was written


def test_resume_between_executions_finishes_the_epoch_one_step_at_a_time(data_dir, tmp_path, monkeypatch, capsys):
    """A checkpoint of a run at another rate (here 1 step per call, stopped at step 3) resumes at 4 steps per call."""
    from sr_zoo import recipes, training
    from sr_zoo.training import callbacks

    recipe = recipes.get("espcn", 3).replace(
        datasets=(str(data_dir / "T91"),), optimizer="adam", learning_rate=1e-3, lr_schedule="constant",
        reconstruction_lr_multiplier=1.0, batch_size=4, epochs=2, steps_per_epoch=8)
    options = dict(validation=None, checkpoint_every=3, verbose=0, dataset_options={"precompute_lr": False})
    out = tmp_path / "run"

    class Stop(Exception):
        pass

    save = callbacks.Checkpointer.save

    def save_then_stop(self):
        save(self)
        if self.global_step == 3:
            raise Stop  # as if killed right after the checkpoint of step 3

    monkeypatch.setattr(callbacks.Checkpointer, "save", save_then_stop)
    with pytest.raises(Stop):
        training.train(recipe, out, steps_per_execution=1, **options)
    assert _latest(out)["global_step"] == 3
    monkeypatch.setattr(callbacks.Checkpointer, "save", save)

    ends = []
    guard_end = callbacks.NonFiniteLossGuard.on_train_batch_end

    def record(self, batch, logs=None):
        ends.append(batch)
        guard_end(self, batch, logs)

    monkeypatch.setattr(callbacks.NonFiniteLossGuard, "on_train_batch_end", record)
    capsys.readouterr()
    result = training.train(recipe, out, steps_per_execution=4, **options)
    assert "the rest of this epoch runs one step per execution" in capsys.readouterr().out
    # steps 4-8 one per call (batch indices 0-4 of the resumed epoch), then the second epoch in two calls of 4
    assert ends == [0, 1, 2, 3, 4, 3, 7]
    assert result.global_step == 16
    state = _latest(out)
    assert state["global_step"] == 16 and state["optimizer_iterations"] == 16


def test_bad_values_are_refused_before_any_work(tmp_path):
    from sr_zoo import recipes, training

    recipe = recipes.get("espcn", 3).replace(steps_per_epoch=10)
    for value, message in ((0, "positive integer"), (4, "steps_per_execution=4 must divide steps_per_epoch=10")):
        with pytest.raises(ValueError, match=message):
            training.train(recipe, tmp_path / "run", steps_per_execution=value, dry_run=True)
    assert not (tmp_path / "run").exists()

"""The callbacks :func:`sr_zoo.training.train` adds to ``fit``: validation (best model), atomic checkpoints,
the NaN guard, the learning-rate log, the time estimate and the int8 range freeze."""

import json
import math
import os
import pathlib
import time

import keras
import numpy as np

from sr_zoo import metrics, models
from sr_zoo.models import range_tuning
from sr_zoo.data import benchmarks
from sr_zoo.training.common import BEST_MODEL, CHECKPOINT_DIR, LATEST, _has_gpu, _tf
from sr_zoo.training.optimizers import current_learning_rate
from sr_zoo.training.saving import _write_atomically, float32_copy, save_inference_model


class Validation(keras.callbacks.Callback):
    """Scores the model on a benchmark after each epoch; keeps the best as ``best.keras``.

    Adds ``val_psnr`` to the epoch logs (for ReduceLROnPlateau / EarlyStopping /
    TensorBoard) and writes bicubic / SR / HR strips of two images to TensorBoard.
    """

    def __init__(self, pairs, scale, output_dir, *, writer=None, label="Set5", build_inference_model=None):
        super().__init__()
        self.build_inference_model = build_inference_model
        self.pairs = pairs
        self.scale = scale
        self.output_dir = pathlib.Path(output_dir)
        self.writer = writer
        self.label = label
        self.best_psnr = -math.inf
        self.curve = []  # [epoch, PSNR] after every epoch: the validation curve the zoo manifest records
        self.bicubic_psnr = float(np.mean([
            metrics.psnr(p.hr, benchmarks.bicubic(p.lr, scale), crop_border=scale) for p in pairs
        ]))

    def score(self):
        from sr_zoo import inference

        model = self.model  # scored in float32 (as best.keras is saved), whatever precision trains it
        # and on one device (a copy), whatever distribution trains it (data_parallel: each process scores alone)
        if models.precision_of(model) != "float32" or keras.distribution.distribution() is not None:
            model = float32_copy(model, build=self.build_inference_model)
        values, strips = [], []
        for pair in self.pairs:
            sr = inference.upscale(model, pair.lr, precision="float32")
            values.append(metrics.psnr(pair.hr, sr, crop_border=self.scale))
            if len(strips) < 2:
                strips.append(_strip(benchmarks.bicubic(pair.lr, self.scale), sr, pair.hr))
        return float(np.mean(values)), strips

    def on_epoch_end(self, epoch, logs=None):
        psnr, strips = self.score()
        if logs is not None:
            logs["val_psnr"] = psnr
        self.curve.append([epoch + 1, round(psnr, 4)])
        improved = psnr > self.best_psnr
        if improved:
            self.best_psnr = psnr
            save_inference_model(self.model, self.output_dir / BEST_MODEL, build=self.build_inference_model)
            _write_atomically(
                self.output_dir / "best.json",
                json.dumps({"epoch": epoch + 1, "psnr": psnr, "bicubic_psnr": self.bicubic_psnr,
                            "benchmark": self.label, "scale": self.scale,
                            "protocol": metrics.describe(self.scale, True)}),
            )
        if self.writer is not None:
            tf = _tf()
            with self.writer.as_default(step=epoch + 1):
                tf.summary.scalar("psnr_y", psnr)
                for i, s in enumerate(strips):
                    tf.summary.image(f"bicubic_sr_hr/{i}", s[None], max_outputs=1)
            self.writer.flush()
        print(
            f"\nepoch {epoch + 1}: {self.label} x{self.scale} PSNR {psnr:.2f} dB "
            f"({metrics.describe(self.scale, True)}; bicubic {self.bicubic_psnr:.2f})"
            + (" - best so far" if improved else "")
        )

    def get_state(self):
        return {"best_psnr": self.best_psnr, "curve": self.curve}

    def set_state(self, state):
        self.best_psnr = state.get("best_psnr", -math.inf)
        self.curve = [list(c) for c in state.get("curve", [])]

def _strip(*images):
    h = min(i.shape[0] for i in images)
    w = min(i.shape[1] for i in images)
    crops = [np.atleast_3d(i)[:h, :w] for i in images]
    crops = [np.repeat(c, 3, axis=-1) if c.shape[-1] == 1 else c for c in crops]
    return np.concatenate(crops, axis=1)

def steps_per_call(model):
    """Training steps behind one ``on_train_batch_end``: Keras calls it once per execution of
    ``steps_per_execution`` steps (``model.compile(steps_per_execution=N)``), with the last step's index."""
    return max(1, int(getattr(model, "steps_per_execution", 1) or 1))

class _StepCounting(keras.callbacks.Callback):
    """A callback that counts training steps, not batch-end calls: ``self.steps_per_call`` steps each
    (read at every ``fit``'s start: :func:`sr_zoo.training.train` may run one fit at another rate)."""

    steps_per_call = 1  # driven by hand (tests), without fit: one step per call

    def on_train_begin(self, logs=None):
        self.steps_per_call = steps_per_call(self.model)

class RangeFreeze(_StepCounting):
    """At ``at_step``, shrinks a quantization-aware model's learnt int8 ranges to the lowest output error on
    ``pairs`` (LR/HR training batches) and freezes them (:mod:`sr_zoo.models.range_tuning`); a run resumed
    past that point finds them frozen in its checkpoint and leaves them. Once done, a step costs a comparison."""

    def __init__(self, pairs, at_step, initial_step=0):
        super().__init__()
        self.pairs = pairs
        self.at_step = int(at_step)
        self.global_step = initial_step
        self.done = False

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += self.steps_per_call
        if self.done or self.global_step < self.at_step:
            return
        self.done = True
        if range_tuning.ranges_frozen(self.model):  # a resumed run: its checkpoint holds the frozen ranges
            return
        result = range_tuning.tighten_ranges(self.model, self.pairs)
        count = range_tuning.freeze_ranges(self.model)
        shrunk = ", ".join(f"{name} x{a:g}/x{b:g}" for name, (a, b) in result.factors.items() if (a, b) != (1, 1))
        psnr = [10 * math.log10(1 / max(e, 1e-12)) for e in (result.error_before, result.error_after)]
        print(f"\nStep {self.global_step}: {count} int8 ranges tightened on {len(self.pairs)} training batches "
              f"(output PSNR {psnr[0]:.3f} -> {psnr[1]:.3f} dB; {shrunk or 'none shrunk'}) and frozen")

class LearningRateLogger(keras.callbacks.Callback):
    """Puts the current learning rate into the logs (progress bar, TensorBoard, history)."""

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)

class NonFiniteLossGuard(_StepCounting):
    """Stops training at the first NaN/Inf loss, before a checkpoint can store the broken weights.

    With several steps per execution the loss is seen once per execution: ``bad_step`` is then its
    last step and ``first_bad_step`` its first (the NaN arose in between).
    """

    def __init__(self):
        super().__init__()
        self.bad_step = None
        self.first_bad_step = None
        self.global_step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += self.steps_per_call
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_step = self.global_step
            self.first_bad_step = self.global_step - self.steps_per_call + 1
            self.model.stop_training = True

class Checkpointer(_StepCounting):
    """Atomic checkpoints: weights (with optimizer state) and a JSON state, then a ``latest.json`` pointer.

    A kill at any moment leaves either the previous pointer or the new one, and
    both name complete files. The last ``keep`` checkpoints are kept. With several
    steps per execution a checkpoint is written at the first execution end at or past
    each multiple of ``every_steps`` (weights exist only there), named by that step.
    """

    def __init__(self, output_dir, *, every_steps, steps_per_epoch, guard, stateful, keep=2, initial_step=0,
                 train_seconds=0.0):
        super().__init__()
        self.train_seconds = float(train_seconds)  # wall time of the earlier sessions of this run
        self.started = time.time()
        self.directory = pathlib.Path(output_dir) / CHECKPOINT_DIR
        self.every_steps = int(every_steps)
        self.steps_per_epoch = int(steps_per_epoch)
        self.guard = guard
        self.stateful = stateful  # name -> object with get_state()/set_state() or keras callback attrs
        self.keep = keep
        self.global_step = initial_step

    def on_train_batch_end(self, batch, logs=None):
        before = self.global_step
        self.global_step += self.steps_per_call
        if self.every_steps and self.global_step // self.every_steps > before // self.every_steps:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.save()

    def save(self):
        if self.guard.bad_step is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"ckpt-{self.global_step}"
        weights = self.directory / f"{name}.weights.h5"
        tmp = self.directory / f".{name}.tmp.weights.h5"
        self.model.save_weights(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, weights)
        state = {
            "weights": weights.name,
            "global_step": self.global_step,
            "epoch": self.global_step // self.steps_per_epoch,
            "step_in_epoch": self.global_step % self.steps_per_epoch,
            "optimizer_iterations": int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)),
            "learning_rate": current_learning_rate(self.model.optimizer),
            "callbacks": {k: _get_state(v) for k, v in self.stateful.items()},
            "time": time.time(),
            "train_seconds": round(self.train_seconds + time.time() - self.started, 1),
        }
        _write_atomically(self.directory / LATEST, json.dumps(state, indent=1))
        for old in sorted(self.directory.glob("ckpt-*.weights.h5"), key=lambda p: int(p.name.split("-")[1].split(".")[0]))[: -self.keep]:
            old.unlink(missing_ok=True)

_CALLBACK_ATTRS = ("wait", "best", "cooldown_counter", "stopped_epoch")

def _get_state(obj):
    if hasattr(obj, "get_state"):
        return obj.get_state()
    return {k: float(getattr(obj, k)) for k in _CALLBACK_ATTRS if isinstance(getattr(obj, k, None), (int, float))}

def _set_state(obj, state):
    if hasattr(obj, "set_state"):
        obj.set_state(state)
        return
    for k, v in state.items():
        setattr(obj, k, v)

class RunTimeEstimate(_StepCounting):
    """Prints the steps ahead at the start and, after the first timed steps, the estimated time to finish.

    The first step compiles, so timing starts at the end of the second; the estimate is printed after
    ``after_steps`` timed steps or ``after_seconds``, whichever comes first (fewer steps in a short run,
    but always one left to estimate), or at the first epoch end before then, before validation runs.
    With several steps per execution the callback sees only their ends: timing starts at the end of the
    second execution and the estimate follows the first execution end with ``after_steps`` steps timed.
    """

    def __init__(self, start_step, total_steps, after_seconds=5.0, after_steps=5, clock=time.monotonic):
        super().__init__()
        self.start_step, self.total_steps = start_step, total_steps
        self.after_seconds, self.after_steps, self.clock = after_seconds, after_steps, clock
        self.steps = 0
        self.calls = 0
        self.t0 = None
        self.done = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.t0 is None:
            left = self.total_steps - self.start_step
            print(f"Training {left:,} steps (total {self.total_steps:,}, from step {self.start_step:,})")

    def _left(self):
        return self.total_steps - self.start_step - self.steps

    def on_train_batch_end(self, batch, logs=None):
        if self.done:
            return
        self.steps += self.steps_per_call
        self.calls += 1
        if self.calls == 2:  # the first execution compiles: time from the end of the second one
            self.t0, self.t_steps = self.clock(), self.steps
            # a short run: leave one execution to estimate
            self.wanted = min(self.after_steps, self._left() - self.steps_per_call)
            self.done = self.wanted < 1
        elif self.t0 is not None:
            counted = self.steps - self.t_steps
            if counted >= self.wanted or self.clock() - self.t0 >= self.after_seconds:
                self._report()

    def on_epoch_end(self, epoch, logs=None):
        # Runs before Validation's on_epoch_end: the time of the steps so far, validation not in it.
        if not self.done and self.t0 is not None and self.steps > self.t_steps and self._left() > 0:
            self._report()

    def _report(self):
        elapsed, counted = self.clock() - self.t0, self.steps - self.t_steps
        per_step, left = elapsed / counted, self._left()
        device = "GPU" if _has_gpu() else f"CPU ({os.cpu_count()} cores)"
        duration = _duration(left * per_step)
        duration = duration if duration.startswith("under") else f"about {duration}"
        print(f"\n{per_step * 1000:.1f} ms/step on {device}: {duration} "
              f"for the {left:,} step{'s' * (left != 1)} left (validation not counted)")
        self.done = True

def _duration(seconds):
    from sr_zoo import text

    return text.duration(seconds)

"""End-to-end training throughput (pipeline + compiled Keras step) beside a PyTorch reference step.

For each recipe (``sr_zoo.recipes.get``: ESPCN x3, FSRCNN x3, LapSRN x4, EDSR-baseline x2)
with its batch and patch sizes, loss, optimizer and degradation, as ``train.py`` builds them:

* ``pipeline``: patches/s of ``sr_zoo.data.train_dataset`` alone (plus LapSRN's pyramid
  targets), pulled inside a ``tf.function`` so Python is not measured;
* ``step``: patches/s of the compiled Keras train step on one fixed batch, with and without
  XLA (``--jit_compile``; the faster one is used end to end and marked "(XLA)" when it is XLA);
* ``end-to-end``: patches/s of ``model.fit`` on the pipeline (what ``train.py`` does);
* ``torch``: patches/s of the same architecture, loss, optimizer and batch in PyTorch
  (``benchmarks/torch_reference.py`` in a subprocess, step only, no data loading).

End to end and PyTorch run alternately ``--repeats`` times and keep their best (other jobs share
the cores). Ratios: ``e2e/torch`` (targets: ESPCN >= 2, EDSR >= 1.5) and ``pipe/step`` (target >= 5).
Images come from ``../shared/data`` (``$SR_ZOO_DATA``): ``t91`` -> T91, ``bsd200`` -> BSD200;
EDSR's ``div2k/hr`` is not there, so the 291 images stand in for it (printed). The machine
is shared: the load average is printed before and after, and only ratios measured in the same
run should be compared.

    python benchmarks/bench_training.py                      # all four, a few minutes on 2 cores
    python benchmarks/bench_training.py --models=espcn,edsr --seconds=5
    python benchmarks/bench_training.py --no-torch --per_patch   # Keras only; per-patch bicubic path
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import sr_zoo.data  # noqa: E402
from sr_zoo import losses, models, paths, recipes, training  # noqa: E402

RECIPES = {"srcnn": 3, "espcn": 3, "fsrcnn": 3, "lapsrn": 4, "edsr": 2}
TORCH_MODELS = ("espcn", "fsrcnn", "lapsrn", "edsr")  # benchmarks/torch_reference.py
FOLDERS = {"t91": ["T91"], "bsd200": ["BSD200"], "div2k/hr": ["T91", "BSD200"], "div2k": ["T91", "BSD200"]}
HERE = os.path.dirname(os.path.abspath(__file__))


def folders(recipe):
    root = paths.shared_data_dir()
    if root is None:
        raise SystemExit("bench_training.py: no ../shared/data (set $SR_ZOO_DATA)")
    names, note = [], ""
    for d in recipe.datasets:
        if d not in FOLDERS:
            raise SystemExit(f"bench_training.py: no folder for dataset {d!r} of the {recipe.model} recipe")
        names += [n for n in FOLDERS[d] if n not in names]
        if d.startswith("div2k"):
            note = f" ({d} not in shared data: T91+BSD200 instead)"
    return [str(root / n) for n in names], note


def make_dataset(recipe, args):
    lr_patch, _ = recipe.patch_sizes()
    src, note = folders(recipe)
    ds = sr_zoo.data.train_dataset(
        src, scale=recipe.scale, lr_patch_size=lr_patch, batch_size=recipe.batch_size,
        degradation=recipe.degradation, channels=recipe.channels, augment=recipe.augment, seed=0,
        rescale=recipe.rescale, precompute_lr=not args.per_patch)
    if recipe.model == "lapsrn":
        ds = training.with_pyramid_targets(ds, recipe.scale)  # what train.py adds for LapSRN
    return ds, note


def pipeline_rate(ds, batch_size, seconds):
    """Patches/s of ``ds`` pulled in graph (no Python per batch), after a warm-up that fills the caches."""
    it = iter(ds)

    @tf.function
    def pull(n):
        for _ in tf.range(n):
            next(it)

    pull(tf.constant(20))
    n, start = 10, time.perf_counter()
    pull(tf.constant(n))
    one = max((time.perf_counter() - start) / n, 1e-6)
    n = int(max(10, seconds / one))
    start = time.perf_counter()
    pull(tf.constant(n))
    return n * batch_size / (time.perf_counter() - start)


def build_model(recipe, jit_compile):
    keras.utils.set_random_seed(0)
    model = models.get(recipe.model, scale=recipe.scale, channels=recipe.channels, preset=recipe.preset,
                       **recipe.model_config)
    outputs = len(model.outputs)
    loss = [losses.get(recipe.loss) for _ in range(outputs)] if outputs > 1 else losses.get(recipe.loss)
    model.compile(optimizer=training.make_optimizer(recipe, model), loss=loss, jit_compile=jit_compile)
    return model


def step_rate(model, batch, batch_size, seconds, min_steps):
    lr, hr = batch
    model.train_on_batch(lr, hr)  # trace + XLA compile
    model.train_on_batch(lr, hr)
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        model.train_on_batch(lr, hr)
        steps += 1
    return steps * batch_size / (time.perf_counter() - start), (time.perf_counter() - start) / steps


class _Clock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def end_to_end_rate(model, ds, batch_size, step_seconds, seconds, min_steps, warmup=3):
    """``model.fit`` on the pipeline; the first ``warmup`` steps (tracing, compiling) are not timed."""
    steps = int(max(min_steps, seconds / step_seconds))
    clock = _Clock()
    model.fit(ds, epochs=1, steps_per_epoch=warmup + steps, verbose=0, callbacks=[clock])
    t = clock.times
    return steps * batch_size / (t[-1] - t[warmup - 1])


def torch_rate(recipe, args, seconds):
    lr_patch, _ = recipe.patch_sizes()
    cmd = [sys.executable, os.path.join(HERE, "torch_reference.py"), f"--model={recipe.model}",
           f"--scale={recipe.scale}", f"--batch_size={recipe.batch_size}", f"--lr_patch={lr_patch}",
           f"--channels={recipe.channels}", f"--loss={recipe.loss}", f"--optimizer={recipe.optimizer}",
           f"--learning_rate={recipe.learning_rate}", f"--weight_decay={recipe.weight_decay}",
           f"--reconstruction_lr_multiplier={recipe.reconstruction_lr_multiplier}", f"--seconds={seconds}",
           f"--min_steps={args.min_steps}"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        return None, (out.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])["patches_per_s"], ""


def _fmt(rate):
    return "-" if rate is None else f"{rate:.0f}" if rate >= 100 else f"{rate:.3g}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(RECIPES), help=f"comma-separated, from {','.join(RECIPES)}")
    p.add_argument("--seconds", type=float, default=4.0, help="timed seconds per measurement (after warm-up)")
    p.add_argument("--min_steps", type=int, default=2, help="fewest timed training steps per measurement")
    p.add_argument("--repeats", type=int, default=2, help="alternating end-to-end / PyTorch runs, best kept")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    p.add_argument("--per_patch", action="store_true", help="precompute_lr=False: degrade every patch")
    p.add_argument("--jit_compile", default="auto", choices=("auto", "true", "false"),
                   help="Keras step with XLA, without, or (auto) both timed and the faster used end to end")
    args = p.parse_args()
    names = [m for m in args.models.split(",") if m]
    for m in names:
        if m not in RECIPES:
            p.error(f"--models: unknown {m!r}; choose from {','.join(RECIPES)}")

    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}  TF {tf.__version__}  "
          f"keras {keras.__version__}  pipeline: {'per-patch' if args.per_patch else 'precomputed LR when fixed'}")
    rows = []
    for name in names:
        recipe = recipes.get(name, RECIPES[name])
        ds, note = make_dataset(recipe, args)
        lr_patch, hr_patch = recipe.patch_sizes()
        label = f"{name} x{recipe.scale}"
        print(f"{label}: batch {recipe.batch_size}, LR {lr_patch} / HR {hr_patch}, {recipe.loss}, {recipe.optimizer}, "
              f"channels {recipe.channels}{', rescale' if recipe.rescale else ''}{note}", flush=True)
        pipe = pipeline_rate(ds, recipe.batch_size, args.seconds)
        batch = next(iter(ds))
        modes = {"auto": (True, False), "true": (True,), "false": (False,)}[args.jit_compile]
        steps = {}
        for jit in modes:  # train.py's --jit_compile: XLA or TF's own kernels (oneDNN), whichever is faster here
            model = build_model(recipe, jit)
            steps[jit] = step_rate(model, batch, recipe.batch_size, args.seconds, args.min_steps) + (model,)
        jit = max(steps, key=lambda k: steps[k][0])
        step, step_s, model = steps[jit]
        # The machine is shared: end to end and PyTorch alternate, and each keeps its best of --repeats.
        e2e, ref, why = 0.0, None, "skipped"
        for _ in range(args.repeats):
            e2e = max(e2e, end_to_end_rate(model, ds, recipe.batch_size, step_s, args.seconds, args.min_steps))
            if not args.no_torch and name in TORCH_MODELS:
                r, why = torch_rate(recipe, args, args.seconds)
                ref = r if ref is None or (r is not None and r > ref) else ref
        del model, ds, batch, steps
        keras.backend.clear_session()
        rows.append((label + (" (XLA)" if jit else ""), recipe.batch_size, pipe, step, e2e, ref, why))
        print(f"  pipeline {_fmt(pipe)}  step {_fmt(step)} (jit_compile={jit})  end-to-end {_fmt(e2e)}  "
              f"torch {_fmt(ref)} patches/s", flush=True)

    print()
    print("| recipe | batch | pipeline | Keras step | Keras end-to-end | PyTorch step | e2e / torch | pipeline / step "
          "| time per 1,000 steps |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, b, pipe, step, e2e, ref, why in rows:
        ratio = f"{e2e / ref:.2f}" if ref else why or "-"
        per_1000 = 1000 * b / e2e if e2e else float("nan")  # what train.py spends per 1,000 steps here
        when = f"{per_1000 / 3600:.1f} h" if per_1000 >= 3600 else f"{per_1000 / 60:.1f} min" if per_1000 >= 60 \
            else f"{per_1000:.0f} s"
        print(f"| {label} | {b} | {_fmt(pipe)} | {_fmt(step)} | {_fmt(e2e)} | {_fmt(ref)} | {ratio} | "
              f"{pipe / step:.1f} | {when} |")
    print(f"(patches/s; load average after: {os.getloadavg()})")


if __name__ == "__main__":
    main()

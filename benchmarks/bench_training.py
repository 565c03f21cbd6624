"""Training speed, Keras beside PyTorch, each at its best precision and setting, per zoo recipe.

For each recipe (default: the zoo's, ``sr_zoo.recipes.ZOO``, whose flags ``train.py``'s own code
applies to the paper's recipe: espcn_x3, fsrcnn_x3, lapsrn_x2, edsr-baseline_x2; ``--recipe=paper``:
the papers' recipes) with its batch and patch sizes, loss, optimizer and degradation:

* ``pipeline``: patches/s of ``train.py``'s tf.data pipeline alone (``sr_zoo.training.training_data``,
  LapSRN's pyramid targets included), pulled inside a ``tf.function`` so Python is not measured;
* ``Keras step``: patches/s of ``model.fit`` on one fixed batch repeated (no pipeline), the model built
  and compiled as ``train.py`` builds it (``sr_zoo.training.loop.compile_model``, the precision's mixed
  policy with the image path in float32), in float32 and in bfloat16 (``mixed_bfloat16``), each the best
  of XLA off / on (``--jit_compile``) and 1 / N steps per execution (``--steps_per_execution``, default
  N = 20, a divisor of the zoo's 1000 steps per epoch; N > 1 is
  tried only where N steps take under ``--max_execution_seconds``: elsewhere the per-step overhead it
  removes is lost in the step);
* ``Keras e2e``: patches/s of ``model.fit`` on the pipeline at the fastest step setting, with
  ``train.py``'s per-step callbacks (NaN guard, learning-rate log; not its checkpoints and validation);
* ``PyTorch``: the same architecture, loss, optimizer and batch in PyTorch, step only, float32 and
  bfloat16 autocast (``benchmarks/torch_reference.py`` in a subprocess of ``--torch_python``, threads
  pinned to the usable cores, its build printed);
* ``e2e / PyTorch``: Keras e2e over the faster PyTorch precision (the issue's target: >= 1.0), and the
  Keras bfloat16 / float32 step ratio (EDSR-baseline's target: >= 3.5).

Every setting is printed as it is measured, then one Markdown table. Images come from
``../shared/data`` (``$SR_ZOO_DATA``); the paper recipes' ``div2k/hr`` is not there, so the 291 images
stand in for it (printed). Run it alone: the load average is printed before and after, and every figure
of a run whose 1-minute load was above 0.5 at the start is marked "(unreliable)".

Suspects of the float32 gap can be tested one at a time (the same command with and without the option;
the options are ``training_suspects.py``, beside this script):

    python benchmarks/bench_training.py --torch_python=/work/torchenv/bin/python   # all four, ~10 min on 2 cores
    python benchmarks/bench_training.py --models=espcn,edsr --seconds=2             # some recipes, shorter timings
    python benchmarks/bench_training.py --models=lapsrn_x4                          # another scale
    python benchmarks/bench_training.py --recipe=paper --models=espcn               # the paper's recipe (batch 16, SGD)
    python benchmarks/bench_training.py --no-torch --precisions=float32             # Keras float32 only
    python benchmarks/bench_training.py --jit_compile=false --steps_per_execution=1,4,20,40
    python benchmarks/bench_training.py --repeats=3                                 # e2e / PyTorch 3x, best kept
    python benchmarks/bench_training.py --per_patch                                 # pipeline: bicubic per patch
    python benchmarks/bench_training.py --torch_threads=1                           # PyTorch on one thread
    python benchmarks/bench_training.py --models=espcn --dataset_option=patches_per_visit=16   # pipeline settings
    python benchmarks/bench_training.py --models=espcn --activation=relu            # ESPCN without tanh (both sides)
    python benchmarks/bench_training.py --models=espcn --optimizer=sgd              # SGD: fewer small update ops
    python benchmarks/bench_training.py --models=espcn --subpixel=reshape           # shuffle: reshape+transpose
    python benchmarks/bench_training.py --models=espcn --tf_threads=2,1             # TF intra-/inter-op threads
    python benchmarks/bench_training.py --models=espcn --remapper=off               # Grappler's fusions off
    python benchmarks/bench_training.py --models=espcn --torch_channels_last        # PyTorch in NHWC, TF's layout
    TF_ENABLE_ONEDNN_OPTS=0 python benchmarks/bench_training.py --models=espcn      # TF's own kernels, not oneDNN
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # train.py: the zoo recipes' flags go through its own recipe_from_flags

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from sr_zoo import models, paths, recipes, training  # noqa: E402
from sr_zoo import precision as precision_lib  # noqa: E402
from sr_zoo.training.callbacks import LearningRateLogger, NonFiniteLossGuard  # noqa: E402
from sr_zoo.training.loop import _grappler_remapping, compile_model  # noqa: E402
import training_suspects  # noqa: E402  (benchmarks/, the script's own folder)

SCALES = {"srcnn": 3, "espcn": 3, "fsrcnn": 3, "lapsrn": 2, "edsr": 2}  # default scale per model
DEFAULT_MODELS = ("espcn", "fsrcnn", "lapsrn", "edsr")
TORCH_MODELS = ("espcn", "fsrcnn", "lapsrn", "edsr")  # benchmarks/torch_reference.py
FOLDERS = {"t91": ["T91"], "bsd200": ["BSD200"], "div2k/hr": ["T91", "BSD200"], "div2k": ["T91", "BSD200"]}
SHARED = "../shared/data/"  # how the zoo recipes name the shared folders (relative to the project root)
MAX_LOAD = 0.5  # 1-minute load above which a run's figures are unreliable (as in bench_video.py)
WARMUP_CALLS = 2  # executions not timed: the first traces and compiles, the second fills caches


# ----------------------------------------------------------------------------- recipes and data

def parse_models(text):
    """``espcn,lapsrn_x4`` -> ``[("espcn", 3), ("lapsrn", 4)]``."""
    out = []
    for item in filter(None, text.split(",")):
        name, _, scale = item.partition("_x")
        if name not in SCALES or (scale and not scale.isdigit()):
            raise ValueError(f"--models: unknown {item!r}; choose from {', '.join(SCALES)}, optionally _x<scale>")
        out.append((name, int(scale) if scale else SCALES[name]))
    return out


def zoo_recipe(model, scale):
    """The recipe the zoo trains ``model`` at ``scale`` with: its flags through train.py's own code."""
    import train  # the project root's train.py: defines its absl flags on import

    paper = recipes.get(model, scale)
    zoo = next((z for z in recipes.ZOO.values() if z.model == model and z.scale == scale and z.preset == paper.preset),
               None)
    if zoo is None:
        raise SystemExit(f"bench_training.py: no zoo model for {model} x{scale}; try --recipe=paper")
    argv = ["train.py", f"--model={model}", f"--scale={scale}", *([f"--preset={zoo.preset}"] if zoo.preset else []),
            *zoo.flags]
    train.FLAGS.unparse_flags()
    train.FLAGS(argv)
    try:
        return train.recipe_from_flags(), zoo.name
    finally:
        train.FLAGS.unparse_flags()


def with_folders(recipe):
    """The recipe reading the shared image folders (the zoo's ``../shared/data/X``, the papers' TFDS names)."""
    root = paths.shared_data_dir()
    if root is None:
        raise SystemExit("bench_training.py: no ../shared/data (set $SR_ZOO_DATA)")
    names, note = [], ""
    for d in recipe.datasets:
        if d.startswith(SHARED):
            found = [str(root / d[len(SHARED):])]
        elif d in FOLDERS:
            found = [str(root / n) for n in FOLDERS[d]]
            if d.startswith("div2k"):
                note = f" ({d} not in shared data: T91+BSD200 instead)"
        elif os.path.isdir(d):
            found = [d]
        else:
            raise SystemExit(f"bench_training.py: no folder for dataset {d!r} of the {recipe.model} recipe")
        names += [n for n in found if n not in names]
    return recipe.replace(datasets=tuple(names)), note


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


# ----------------------------------------------------------------------------- Keras timings

def build_model(recipe, precision, jit_compile, steps_per_execution):
    """The model as ``train.py`` builds and compiles it in ``precision`` (``float32`` or ``bfloat16``)."""
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(precision_lib.policy(precision))
    keras.utils.set_random_seed(0)
    model = models.get(recipe.model, scale=recipe.scale, channels=recipe.channels, preset=recipe.preset,
                       **recipe.model_config)
    model = models.with_precision(model, precision)
    compile_model(model, recipe, jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    return model


class _Timer(keras.callbacks.Callback):
    """Times ``fit``'s executions after the first ``WARMUP_CALLS``; stops it after ``seconds`` and ``min_steps``."""

    def __init__(self, seconds, min_steps):
        super().__init__()
        self.seconds, self.min_steps = seconds, min_steps
        self.calls, self.t0, self.t1, self.n = 0, None, None, 1

    def on_train_begin(self, logs=None):
        self.n = self.model.steps_per_execution

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.calls += 1
        if self.calls == WARMUP_CALLS:
            self.t0 = now
        elif self.calls > WARMUP_CALLS:
            self.t1 = now
            if now - self.t0 >= self.seconds and self.steps >= self.min_steps:
                self.model.stop_training = True

    @property
    def steps(self):
        return max(0, self.calls - WARMUP_CALLS) * self.n


def fit_rate(model, ds, batch_size, args, callbacks=()):
    """(patches/s, seconds per step) of ``model.fit`` on ``ds``, warm-up executions not timed."""
    timer = _Timer(args.seconds, args.min_steps)
    n = model.steps_per_execution
    model.fit(ds, epochs=1, steps_per_epoch=n * 10**7, verbose=0, callbacks=[*callbacks, timer], shuffle=False)
    seconds = timer.t1 - timer.t0
    return timer.steps * batch_size / seconds, seconds / timer.steps


def setting_label(precision, jit, n):
    return f"{precision}, XLA {'on' if jit else 'off'}, {n} step{'s' * (n > 1)}/execution"


def keras_steps(recipe, batch, args, mark):
    """``{precision: (rate, (precision, jit, n))}``: each precision's fastest step setting."""
    step_ds = tf.data.Dataset.from_tensors(batch).repeat()
    jits = {"auto": (False, True), "true": (True,), "false": (False,)}[args.jit_compile]
    best = {}
    for precision in args.precisions:
        for jit in jits:
            one_step_s = None
            for n in args.steps_per_execution:
                if n > 1 and one_step_s is not None and one_step_s * n > args.max_execution_seconds:
                    print(f"  {setting_label(precision, jit, n)}: skipped ({n} steps of {one_step_s * 1000:.0f} ms "
                          f"> {args.max_execution_seconds:g} s)", flush=True)
                    continue
                model = build_model(recipe, precision, jit, n)
                rate, step_s = fit_rate(model, step_ds, recipe.batch_size, args)
                if n == 1:
                    one_step_s = step_s
                print(f"  Keras step {setting_label(precision, jit, n)}: {_fmt(rate)}{mark} patches/s "
                      f"({step_s * 1000:.1f} ms/step)", flush=True)
                if precision not in best or rate > best[precision][0]:
                    best[precision] = (rate, (precision, jit, n))
                del model
    return best


# ----------------------------------------------------------------------------- PyTorch

def torch_rates(recipe, args):
    """``({precision: rate or None}, build line, error)`` of benchmarks/torch_reference.py."""
    lr_patch, _ = recipe.patch_sizes()
    cmd = [args.torch_python, str(HERE / "torch_reference.py"), f"--model={recipe.model}",
           f"--scale={recipe.scale}", f"--batch_size={recipe.batch_size}", f"--lr_patch={lr_patch}",
           f"--channels={recipe.channels}", f"--loss={recipe.loss}", f"--optimizer={recipe.optimizer}",
           f"--learning_rate={recipe.learning_rate}", f"--weight_decay={recipe.weight_decay}",
           f"--reconstruction_lr_multiplier={recipe.reconstruction_lr_multiplier}", f"--seconds={args.seconds}",
           f"--min_steps={args.min_steps}", f"--precisions={','.join(args.precisions)}"]
    if recipe.model == "espcn":
        cmd.append(f"--activation={recipe.model_config.get('activation', 'tanh')}")
    if args.torch_channels_last:
        cmd.append("--channels_last")
    if args.torch_threads:
        cmd.append(f"--threads={args.torch_threads}")
    out = subprocess.run(cmd, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        return {}, "", (out.stderr.strip().splitlines() or ["failed"])[-1]
    result = json.loads(lines[-1])
    rates = {p: r.get("patches_per_s") for p, r in result["results"].items()}
    errors = [f"{p}: {r['error']}" for p, r in result["results"].items() if "error" in r]
    return rates, lines[0] if len(lines) > 1 else "", "; ".join(errors)


# ----------------------------------------------------------------------------- output

def _fmt(rate):
    return "-" if rate is None else f"{rate:.0f}" if rate >= 100 else f"{rate:.3g}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help=f"comma-separated, from {','.join(SCALES)}, each optionally _x<scale> (default scales: "
                        f"{', '.join(f'{m} x{s}' for m, s in SCALES.items())})")
    p.add_argument("--recipe", default="zoo", choices=("zoo", "paper"),
                   help="the zoo's recipe (train.py flags of sr_zoo.recipes.ZOO) or the paper's (recipes.get)")
    p.add_argument("--seconds", type=float, default=4.0, help="timed seconds per measurement (after warm-up)")
    p.add_argument("--min_steps", type=int, default=2, help="fewest timed training steps per measurement")
    p.add_argument("--repeats", type=int, default=1, help="alternating Keras end-to-end / PyTorch runs, best kept")
    p.add_argument("--precisions", default="float32,bfloat16", help="Keras and PyTorch precisions to time")
    p.add_argument("--jit_compile", default="auto", choices=("auto", "true", "false"),
                   help="Keras step with XLA, without, or (auto) both, the faster kept")
    p.add_argument("--steps_per_execution", default="1,20",
                   help="comma-separated Keras steps per execution to try (train.py --steps_per_execution)")
    p.add_argument("--max_execution_seconds", type=float, default=2.0,
                   help="skip a steps_per_execution N > 1 whose N steps take longer than this")
    p.add_argument("--no-torch", dest="no_torch", action="store_true", help="skip the PyTorch reference")
    p.add_argument("--torch_python", default=sys.executable,
                   help="Python interpreter with torch and numpy that runs torch_reference.py (default: this one)")
    p.add_argument("--torch_threads", type=int, default=0,
                   help="PyTorch intra-op threads (default: one per usable core; on a busy machine 1 is often "
                        "faster, as OpenMP's barriers wait for cores that others hold)")
    p.add_argument("--per_patch", action="store_true", help="pipeline with precompute_lr=False: degrade every patch")
    training_suspects.add_flags(p)
    args = p.parse_args()
    try:
        names = parse_models(args.models)
    except ValueError as e:
        p.error(str(e))
    args.precisions = [q for q in args.precisions.split(",") if q]
    if not args.precisions or set(args.precisions) - {"float32", "bfloat16"}:
        p.error("--precisions: float32 and/or bfloat16")
    try:
        args.steps_per_execution = sorted({int(n) for n in args.steps_per_execution.split(",") if n})
    except ValueError:
        p.error("--steps_per_execution: comma-separated positive integers")
    if not args.steps_per_execution or args.steps_per_execution[0] < 1:
        p.error("--steps_per_execution: comma-separated positive integers")
    args.dataset_options = {"precompute_lr": not args.per_patch, **training_suspects.check(args, p)}

    start_load = os.getloadavg()
    unreliable = start_load[0] > MAX_LOAD
    mark = " (unreliable)" if unreliable else ""
    notes = training_suspects.apply(args)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    native = sorted(precision_lib.cpu_flags() & set(precision_lib.BFLOAT16_CPU_FLAGS))
    print(f"load average before: {start_load[0]:.2f} {start_load[1]:.2f} {start_load[2]:.2f} (1, 5, 15 min)"
          + (f"  -> above {MAX_LOAD}: every figure below is UNRELIABLE (other processes hold cores)" if unreliable
             else ""))
    print(f"{os.cpu_count()} CPUs, {usable} usable; TF {tf.__version__}, Keras {keras.__version__}, oneDNN "
          f"{'off' if os.environ.get('TF_ENABLE_ONEDNN_OPTS') == '0' else 'on'} (TF_ENABLE_ONEDNN_OPTS); native "
          f"bfloat16: {', '.join(native) or 'no (emulated)'}; precision auto here: {precision_lib.resolve('auto')}")
    print(f"recipes: {args.recipe}; pipeline: {'per-patch' if args.per_patch else 'precomputed LR when fixed'}"
          + "".join(f", {k}={v}" for k, v in args.dataset_options.items() if k != "precompute_lr") + "; "
          f"steps per execution tried: {args.steps_per_execution}; " + "; ".join(notes), flush=True)

    rows, torch_build = [], None
    for model_name, scale in names:
        if args.recipe == "zoo":
            recipe, label = zoo_recipe(model_name, scale)
        else:
            recipe, label = recipes.get(model_name, scale), f"{model_name} x{scale} (paper)"
        if args.activation and model_name == "espcn":
            recipe = recipe.replace(model_config={**recipe.model_config, "activation": args.activation})
        if args.optimizer:  # Adam takes no reconstruction learning-rate multiplier
            recipe = recipe.replace(optimizer=args.optimizer, reconstruction_lr_multiplier=(
                recipe.reconstruction_lr_multiplier if args.optimizer == "sgd" else 1.0))
        recipe, note = with_folders(recipe)
        remapping = _grappler_remapping(recipe) if args.remapper == "as-train" else None
        lr_patch, hr_patch = recipe.patch_sizes()
        print(f"\n{label}: batch {recipe.batch_size}, LR {lr_patch} / HR {hr_patch}, {recipe.loss}, "
              f"{recipe.optimizer}, "
              f"channels {recipe.channels}{', rescale' if recipe.rescale else ''}, recipe precision "
              f"{recipe.precision}{note}", flush=True)
        ds = training.training_data(recipe, 0, dataset_options=args.dataset_options)
        pipe = pipeline_rate(ds, recipe.batch_size, args.seconds)
        print(f"  pipeline: {_fmt(pipe)}{mark} patches/s", flush=True)
        batch = next(iter(ds))
        best = keras_steps(recipe, batch, args, mark)
        precision, jit, n = max(best.values(), key=lambda v: v[0])[1]
        e2e, ref, why = 0.0, {}, "skipped" if args.no_torch else f"no PyTorch {model_name}"
        for _ in range(args.repeats):  # the two alternate, each keeps its best
            model = build_model(recipe, precision, jit, n)
            rate, _ = fit_rate(model, ds, recipe.batch_size, args, [NonFiniteLossGuard(), LearningRateLogger()])
            e2e = max(e2e, rate)
            del model
            if not args.no_torch and model_name in TORCH_MODELS:
                rates, build, why = torch_rates(recipe, args)
                for q, r in rates.items():
                    if r is not None and r > (ref.get(q) or 0):
                        ref[q] = r
                if build and torch_build is None:
                    torch_build = build
                    print(f"  PyTorch ({args.torch_python}): {build}")
        torch_text = ", ".join(f"{q} {_fmt(r)}{mark}" for q, r in ref.items())
        print(f"  Keras e2e {setting_label(precision, jit, n)}: {_fmt(e2e)}{mark} patches/s; PyTorch step: "
              + "; ".join(t for t in (torch_text, why) if t), flush=True)
        keras.mixed_precision.set_global_policy("float32")
        keras.backend.clear_session()
        if remapping is not None:
            tf.config.optimizer.set_experimental_options({"remapping": remapping})
        del ds, batch
        rows.append(dict(label=label, batch=recipe.batch_size, lr_patch=lr_patch, pipe=pipe,
                         f32=best.get("float32", (None,))[0], bf16=best.get("bfloat16", (None,))[0], e2e=e2e,
                         t32=ref.get("float32"), tbf16=ref.get("bfloat16"), why=why,
                         setting=setting_label(precision, jit, n)))

    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (this run's own work included)")
    print(f"TF {tf.__version__}, Keras {keras.__version__}" + (f"; PyTorch: {torch_build}" if torch_build else "")
          + f"; load average {start_load[0]:.2f} before{mark}\n")
    print("| recipe | batch, LR patch | pipeline | Keras step float32 | Keras step bfloat16 | bf16 / f32 | Keras e2e "
          "| PyTorch float32 | PyTorch bf16 | e2e / PyTorch best | Keras setting (e2e) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        torch_best = max((v for v in (r["t32"], r["tbf16"]) if v), default=None)
        if torch_best:
            which = "float32" if torch_best == r["t32"] else "bf16"
            ratio = f"{r['e2e'] / torch_best:.2f} (vs {which}){mark}"
        else:
            ratio = r["why"] or "-"
        speedup = f"{r['bf16'] / r['f32']:.2f}x{mark}" if r["f32"] and r["bf16"] else "-"
        cell = lambda v: _fmt(v) + (mark if v is not None else "")  # noqa: E731
        print(f"| {r['label']} | {r['batch']}, {r['lr_patch']}x{r['lr_patch']} | {cell(r['pipe'])} | {cell(r['f32'])} "
              f"| {cell(r['bf16'])} | {speedup} | {cell(r['e2e'])} | {cell(r['t32'])} | {cell(r['tbf16'])} | {ratio} "
              f"| {r['setting']} |")
    print("(patches/s)")


if __name__ == "__main__":
    main()

"""Training-step throughput of the zoo under each Keras backend (TensorFlow, JAX, PyTorch), and the
TensorFlow-free FolderPairs loader that feeds JAX and PyTorch.

For each recipe (its batch and patch sizes, loss and optimizer from ``sr_zoo.recipes``) one
subprocess per backend compiles the model the way ``train.py`` does (TF: ``jit_compile=True``,
JAX: XLA, torch: eager) and times ``train_on_batch`` after a warm-up; it prints patches per second.
The loader line is ``FolderPairs`` (numpy, no TF) on T91 with the same batch/patch sizes. Backends
that are not installed are skipped. The machine is shared: the load average is printed.

    python benchmarks/bench_backends.py
    python benchmarks/bench_backends.py --recipes espcn_x3 --backends jax,torch --steps 20
"""

import argparse
import json
import os
import subprocess
import sys
import time

RECIPES = {"espcn_x3": ("espcn", 3), "fsrcnn_x3": ("fsrcnn", 3), "lapsrn_x4": ("lapsrn", 4), "edsr_x2": ("edsr", 2)}

CHILD = r"""
import json, math, sys, time
import numpy as np
import keras
from sr_zoo import losses, models, recipes, training
from sr_zoo.image import imresize

name, steps, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
model_name, scale = json.loads(sys.argv[4])
recipe = recipes.get(model_name, scale)
lr_patch, hr_patch = recipe.patch_sizes()
model = models.get(recipe.model, scale=scale, channels=recipe.channels, preset=recipe.preset, **recipe.model_config)
n_out = len(model.outputs)
loss = [losses.get(recipe.loss)] * n_out if n_out > 1 else losses.get(recipe.loss)
jit = True if keras.backend.backend() == "tensorflow" else "auto"
model.compile(optimizer=training.make_optimizer(recipe, model), loss=loss, jit_compile=jit)
rng = np.random.default_rng(0)
b, c = recipe.batch_size, recipe.channels
x = rng.random((b, lr_patch, lr_patch, c), dtype=np.float32)
y = rng.random((b, hr_patch, hr_patch, c), dtype=np.float32)
if n_out > 1:
    y = [y[:, :: 2 ** (n_out - 1 - i), :: 2 ** (n_out - 1 - i)] for i in range(n_out)]
for _ in range(warmup):
    model.train_on_batch(x, y)
t = time.perf_counter()
for _ in range(steps):
    out = model.train_on_batch(x, y)
float(np.asarray(out if np.ndim(out) == 0 else out[0]))
print("RESULT" + json.dumps({"patches_per_s": steps * b / (time.perf_counter() - t), "batch": b,
                             "lr_patch": lr_patch, "jit": str(jit)}))
"""


def child(backend, recipe, steps, warmup):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", CHILD, recipe, str(steps), str(warmup), json.dumps(RECIPES[recipe])],
                          env=env, capture_output=True, text=True)
    if proc.returncode:
        return {"error": proc.stderr.strip().splitlines()[-1]}
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def loader(recipe, batches):
    import numpy as np

    from sr_zoo import paths, recipes
    from sr_zoo.data import FolderPairs

    model_name, scale = RECIPES[recipe]
    r = recipes.get(model_name, scale)
    lr_patch, _ = r.patch_sizes()
    folder = (paths.shared_data_dir() or "") and paths.shared_data_dir() / "T91"
    if not folder:
        return None
    ds = FolderPairs(folder, scale=scale, lr_patch_size=lr_patch, batch_size=r.batch_size, channels=r.channels,
                     seed=0, steps_per_epoch=batches, pyramid_levels=int(round(np.log2(scale))) if model_name == "lapsrn" else 1)
    ds[0]
    t = time.perf_counter()
    for i in range(batches):
        ds[i]
    return batches * r.batch_size / (time.perf_counter() - t)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    import importlib.util

    backends = [b for b in args.backends.split(",") if importlib.util.find_spec(b)]
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    header = "| recipe (batch, LR patch) | FolderPairs loader | " + " | ".join(f"{b} step" for b in backends) + " |"
    print(header)
    print("|---" * (2 + len(backends)) + "|")
    for recipe in args.recipes.split(","):
        results = {b: child(b, recipe, args.steps, args.warmup) for b in backends}
        first = next(iter(results.values()))
        rate = loader(recipe, max(args.steps, 10))
        cells = [f"{r['patches_per_s']:.0f}" if "patches_per_s" in r else r["error"][:40] for r in results.values()]
        print(f"| {recipe} ({first.get('batch')}, {first.get('lr_patch')}) | "
              f"{'-' if rate is None else f'{rate:.0f}'} | " + " | ".join(cells) + " |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}; patches/s")


if __name__ == "__main__":
    main()

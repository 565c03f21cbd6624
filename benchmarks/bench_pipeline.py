"""Throughput of the ``sr_zoo.data`` training pipelines, and of one training step on the same batches.

Two pipelines, on the "291" images (T91 + BSD200):

* ``bicubic-x4-rgb``: MATLAB bicubic x4, 96x96 HR RGB patches (EDSR-style);
* ``espcn-x3-y``: MATLAB bicubic x3, 17x17 LR Y patches (ESPCN-style).

Each prints patches per second of the pipeline alone (batches pulled in a
``tf.function``, after a warm-up that fills the decoded-image cache), with each
patch degraded on its own (``precompute_lr=False``, the per-patch path) and with
each whole image's LR computed once (the default for these fixed degradations). Then, if
``sr_zoo.models`` is there, one Adam training step of ESPCN (x3, Y) and
EDSR-baseline (x4, RGB) on batches taken from those pipelines, in patches per
second: the pipeline must out-run the step, or training waits for data.

Images come from ``../shared/data`` (``$SR_ZOO_DATA``) folders directly, or
from built TFDS datasets with ``--tfds`` (and ``--data_dir``). The machine is
shared: the load average is printed before and after.

    python benchmarks/bench_pipeline.py
    python benchmarks/bench_pipeline.py --batches 50 --steps 10 --tfds --data_dir ~/tensorflow_datasets
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402

import sr_zoo.data  # noqa: E402
from sr_zoo import paths  # noqa: E402

PIPELINES = {
    # name: (train_dataset kwargs, model get() kwargs)
    "bicubic-x4-rgb": (dict(scale=4, patch_size=96, channels=3, batch_size=16),
                       dict(name="edsr", scale=4, channels=3, preset="baseline")),
    "espcn-x3-y": (dict(scale=3, lr_patch_size=17, channels=1, batch_size=64),
                   dict(name="espcn", scale=3, channels=1)),
}


def sources(args):
    if args.tfds:
        return ["t91", "bsd200"]
    root = paths.shared_data_dir()
    if root is None:
        raise SystemExit("no ../shared/data (set $SR_ZOO_DATA) -- or build t91/bsd200 and pass --tfds")
    return [str(root / "T91"), str(root / "BSD200")]


def pipeline_rate(ds, batch_size, batches, warmup):
    it = iter(ds)

    @tf.function
    def pull(n):  # in graph: the Python loop would be measured otherwise
        for _ in tf.range(n):
            next(it)

    pull(tf.constant(warmup))
    t = time.perf_counter()
    pull(tf.constant(batches))
    return batches * batch_size / (time.perf_counter() - t)


def step_rate(model_kwargs, batch, steps):
    import keras

    from sr_zoo import models

    model = models.get(**model_kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mae", jit_compile=True)
    lr, hr = batch
    model.train_on_batch(lr, hr)  # trace + compile
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        model.train_on_batch(lr, hr)
        times.append(time.perf_counter() - t)
    return int(lr.shape[0]) / statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, default=100, help="batches timed per pipeline")
    p.add_argument("--warmup", type=int, default=20, help="batches before timing (fills the image cache)")
    p.add_argument("--steps", type=int, default=5, help="training steps timed per model (median)")
    p.add_argument("--no-models", action="store_true", help="time the pipelines only")
    p.add_argument("--tfds", action="store_true", help="read the built TFDS datasets t91 + bsd200")
    p.add_argument("--data_dir", default=None, help="TFDS data dir (with --tfds)")
    p.add_argument("--only", default=None, help="comma-separated pipeline names")
    args = p.parse_args()

    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}  TF {tf.__version__}")
    src = sources(args)
    names = args.only.split(",") if args.only else list(PIPELINES)
    have_models = False
    if not args.no_models:
        try:
            from sr_zoo import models as _models  # noqa: F401

            have_models = True
        except ImportError:
            print("sr_zoo.models not available: pipeline numbers only")
    print(f"{'pipeline':<16} {'per-patch':>10} {'precomputed':>12} {'speed-up':>9}   {'train step':<28} "
          f"{'patches/s':>10}   {'pipeline/step':>13}")
    for name in names:
        kwargs, model_kwargs = PIPELINES[name]
        rates = []
        for precompute in (False, True):
            ds = sr_zoo.data.train_dataset(src, seed=0, data_dir=args.data_dir, precompute_lr=precompute, **kwargs)
            rates.append(pipeline_rate(ds, kwargs["batch_size"], args.batches, args.warmup))
        line = f"{name:<16} {rates[0]:>10.0f} {rates[1]:>12.0f} {rates[1] / rates[0]:>8.1f}x"
        if have_models:
            batch = next(iter(ds))
            label = f"{model_kwargs['name']}" + (f"-{model_kwargs['preset']}" if "preset" in model_kwargs else "")
            label += f" x{model_kwargs['scale']} b{kwargs['batch_size']}"
            srate = step_rate(model_kwargs, batch, args.steps)
            line += f"   {label:<28} {srate:>10.0f}   {rates[1] / srate:>13.1f}"
        print(line, flush=True)
    # What precomputing costs once per run (memory cache) or once per data set (``cache=<file>``).
    from sr_zoo.data import pipeline

    for name in names:
        kwargs, _ = PIPELINES[name]
        images = sr_zoo.data.load_images(src, data_dir=args.data_dir)
        pairs = pipeline._whole_pairs(images, scale=kwargs["scale"], boundary="symmetric", factors=None, lr_patch=1,
                                      num_parallel_calls=tf.data.AUTOTUNE)
        t = time.perf_counter()
        n, pixels = pairs.reduce((0, 0), lambda acc, ex: (acc[0] + 1, acc[1] + tf.size(ex["hr"]) // 3))
        print(f"{name}: whole-image LR of {int(n)} images ({int(pixels) / 1e6:.1f} MP) in "
              f"{time.perf_counter() - t:.1f} s (decode + MATLAB bicubic, once per run)", flush=True)
    print(f"load average after:  {os.getloadavg()}")


if __name__ == "__main__":
    main()

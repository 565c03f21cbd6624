"""Seconds per output frame of every zoo architecture through ``sr_zoo.upscale``'s fastest path.

Y-channel models upscale an RGB frame x3 to 1920x1080 (LapSRN, which has no
x3, x4 to 1920x1080); EDSR upscales x4 to 1280x720. Each row prints the
model's multiply-adds per frame and the arithmetic rate achieved (2 FLOPs per
multiply-add, the model's convolutions only; the colour pipeline is timed but
not counted), so one can see how close to the machine's limit it runs. With
``--reference`` a "straightforward Keras + XLA" time (the model alone,
``tf.function(model, jit_compile=True)`` on a float tensor) is printed beside it.

Weights are random: speed does not depend on their values. The first call per
shape traces and compiles and is excluded; the median of ``--repeats`` calls
is reported. On a shared machine the numbers are noisy: the load average is
printed before and after.

    python benchmarks/bench_models.py                      # all but EDSR-full
    python benchmarks/bench_models.py --models espcn,edsr-baseline --reference --repeats 10
    python benchmarks/bench_models.py --models edsr-full   # 43M parameters: minutes per frame on a CPU
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

import sr_zoo  # noqa: E402

FULL_HD, HD = (1080, 1920), (720, 1280)

# name: (get() arguments, HR frame)
BENCHMARKS = {
    "srcnn-9-1-5": (dict(name="srcnn", scale=3, preset="9-1-5"), FULL_HD),
    "srcnn-9-5-5": (dict(name="srcnn", scale=3, preset="9-5-5"), FULL_HD),
    "espcn": (dict(name="espcn", scale=3), FULL_HD),
    "fsrcnn": (dict(name="fsrcnn", scale=3, preset="fsrcnn"), FULL_HD),
    "fsrcnn-s": (dict(name="fsrcnn", scale=3, preset="fsrcnn-s"), FULL_HD),
    "lapsrn": (dict(name="lapsrn", scale=4), FULL_HD),
    "edsr-tiny": (dict(name="edsr", scale=4, channels=3, preset="tiny"), HD),
    "edsr-baseline": (dict(name="edsr", scale=4, channels=3, preset="baseline"), HD),
    "edsr-full": (dict(name="edsr", scale=4, channels=3, preset="full"), HD),
}
DEFAULT = [name for name in BENCHMARKS if name != "edsr-full"]


def frame(height, width, seed=0):
    """A smooth RGB frame with noise (values in the whole 0..255 range)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = 128 + 90 * np.sin(yy[..., None] / 17.0 + np.arange(3)) * np.cos(xx[..., None] / 23.0)
    return np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)


def timed(fn, repeats):
    fn()  # trace + compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def reference_time(model, lr_shape, channels, repeats):
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(1).random((1,) + lr_shape + (channels,), dtype=np.float32))
    fn = tf.function(lambda t: model(t, training=False), jit_compile=True)
    return timed(lambda: [np.asarray(o) for o in tf.nest.flatten(fn(x))], repeats)[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT), help=f"comma-separated, from {list(BENCHMARKS)}")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference", action="store_true", help="also time plain Keras + XLA (model only)")
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "true", "false"])
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(BENCHMARKS)}")
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]

    print(f"sr_zoo.upscale, jit_compile={jit!r}, {os.cpu_count()} CPUs, load average {os.getloadavg()}")
    header = f"{'model':<14} {'x':>2} {'LR -> HR':>19} {'params':>11} {'GMAC/frame':>11} {'s/frame':>8} {'best':>7} {'GFLOP/s':>8}"
    if args.reference:
        header += f" {'keras+XLA':>10}"
    print(header)
    for name in names:
        config, (height, width) = BENCHMARKS[name]
        config = dict(config)
        model = sr_zoo.models.get(config.pop("name"), **config)
        info = sr_zoo.models.describe(model)
        lr_h, lr_w = height // info.scale, width // info.scale
        image = frame(lr_h, lr_w)
        median, best = timed(lambda: sr_zoo.upscale(model, image, jit_compile=jit), args.repeats)
        macs = info.multiply_adds(lr_h, lr_w)
        row = (
            f"{name:<14} {info.scale:>2} {f'{lr_w}x{lr_h} -> {width}x{height}':>19} {model.count_params():>11,} "
            f"{macs / 1e9:>11.2f} {median:>8.3f} {best:>7.3f} {2 * macs / median / 1e9:>8.1f}"
        )
        if args.reference:
            row += f" {reference_time(model, (lr_h, lr_w), info.channels, args.repeats):>10.3f}"
        print(row, flush=True)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throughput of MATLAB-exact imresize (numpy vs TF) and of PSNR+SSIM, in megapixels per second.

    python benchmarks/bench_imresize.py [--repeats 5]

Image: a 2040x1356 RGB photo (DIV2K size), scikit-image's astronaut resized up
to it, uint8. "x4 down" is 2040x1356 -> 510x339, "x4 up" is 510x339 -> 2040x1356;
megapixels are counted on the large side. Numbers are per-machine: compare the
ratios, the machines are shared and noisy.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from skimage import data  # noqa: E402

import sr_zoo  # noqa: E402


def best_of(fn, repeats):
    fn()  # warm-up (tracing / compilation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    hr = sr_zoo.imresize(data.astronaut(), output_shape=(1356, 2040))
    lr = sr_zoo.imresize(hr, 1 / 4)
    megapixels = hr.shape[0] * hr.shape[1] / 1e6
    hr_t, lr_t = tf.constant(hr), tf.constant(lr)
    down_tf = tf.function(lambda x: sr_zoo.imresize(x, 1 / 4), jit_compile=True)
    up_tf = tf.function(lambda x: sr_zoo.imresize(x, 4), jit_compile=True)
    down_graph = tf.function(lambda x: sr_zoo.imresize(x, 1 / 4))
    up_graph = tf.function(lambda x: sr_zoo.imresize(x, 4))
    assert np.array_equal(down_tf(hr_t).numpy(), lr), "TF and numpy disagree"

    rows = [
        ("numpy   x4 down", lambda: sr_zoo.imresize(hr, 1 / 4)),
        ("numpy   x4 up", lambda: sr_zoo.imresize(lr, 4)),
        ("TF graph x4 down", lambda: down_graph(hr_t).numpy()),
        ("TF graph x4 up", lambda: up_graph(lr_t).numpy()),
        ("TF XLA  x4 down", lambda: down_tf(hr_t).numpy()),
        ("TF XLA  x4 up", lambda: up_tf(lr_t).numpy()),
    ]
    sr = sr_zoo.imresize(lr, 4)
    rows.append(("PSNR+SSIM (Y, crop 4)", lambda: (sr_zoo.metrics.psnr(hr, sr, crop_border=4), sr_zoo.metrics.ssim(hr, sr, crop_border=4))))
    hr_b, sr_b = tf.constant(hr[None]), tf.constant(sr[None])
    tf_metrics = tf.function(lambda a, b: (sr_zoo.metrics.psnr_tf(a, b, crop_border=4), sr_zoo.metrics.ssim_tf(a, b, crop_border=4)))
    rows.append(("TF PSNR+SSIM (Y, crop 4)", lambda: [t.numpy() for t in tf_metrics(hr_b, sr_b)]))

    print(f"2040x1356 RGB uint8, {os.cpu_count()} CPU cores, best of {args.repeats}")
    print(f"{'operation':28s} {'seconds':>9s} {'MP/s':>8s}")
    for name, fn in rows:
        seconds = best_of(fn, args.repeats)
        print(f"{name:28s} {seconds:9.4f} {megapixels / seconds:8.1f}")


if __name__ == "__main__":
    main()

"""Precision: what bfloat16 costs in quality and gains in speed, per shipped model, on this machine.

    python benchmarks/bench_precision.py                       # every shipped model, inference
    python benchmarks/bench_precision.py --models=edsr-baseline_x2,espcn_x3
    python benchmarks/bench_precision.py --training --models=espcn_x3 --steps=400

Inference: each shipped model's Set5 Y-PSNR (crop = scale, MATLAB LR) through ``sr_zoo.upscale`` in
float32, ``auto`` and bfloat16 (image path kept in float32, ``sr_zoo.models.precision``), and the
median milliseconds of one 640x360 RGB frame (EDSR and LapSRN: 320x180). ``auto`` passes when it is
within 0.02 dB of float32 and no slower; its per-architecture choice lives in
``sr_zoo.models.precision.AUTO_BFLOAT16_INFERENCE``.

Training (``--training``): the same run (same start from the shipped file, seed, data and steps) in
float32 and in bfloat16; the two Set5 numbers should agree within 0.02 dB.

Run it alone: the load average is printed before and after, and a figure taken above 0.5 is marked.
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import sr_zoo  # noqa: E402
import sr_zoo.pretrained  # noqa: E402
from sr_zoo import evaluation, inference, metrics, precision, recipes  # noqa: E402
from sr_zoo.data import benchmarks  # noqa: E402


def load():
    return os.getloadavg()[0]


def set5_psnr(model, scale, prec):
    pairs = benchmarks.load_pairs("set5", scale)
    return float(np.mean([metrics.psnr(p.hr, sr_zoo.upscale(model, p.lr, precision=prec), crop_border=scale)
                          for p in pairs]))


def frame_ms(model, name, prec, repeats):
    h, w = (180, 320) if name.startswith(("edsr", "lapsrn")) else (360, 640)
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    sr_zoo.upscale(model, image, precision=prec)  # compile
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sr_zoo.upscale(model, image, precision=prec)
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times)), f"{w}x{h}"


def inference_table(names, repeats):
    print(f"Inference, precision auto here = {precision.describe('auto')}")
    print("| model | frame | float32 ms | auto ms | bfloat16 ms | Set5 float32 | auto | bfloat16 | auto: Δ dB, speed-up | ok |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        model = sr_zoo.pretrained.load(name)
        scale = recipes.zoo(name).scale
        auto = inference.in_precision(model, "auto")
        ms = {p: frame_ms(model, name, p, repeats) for p in ("float32", "auto", "bfloat16")}
        psnr = {p: set5_psnr(model, scale, p) for p in ("float32", "auto", "bfloat16")}
        drop, speedup = psnr["float32"] - psnr["auto"], ms["float32"][0] / ms["auto"][0]
        used = sr_zoo.models.precision_of(auto)
        if auto is model:  # auto runs the float32 model itself: the two timings differ by noise only
            verdict, ok = "float32 itself", True
        else:
            verdict, ok = f"{drop:+.3f}, {speedup:.2f}x", drop <= 0.02 and speedup > 1
        print(f"| {name} | {ms['float32'][1]} | {ms['float32'][0]:.1f} | {ms['auto'][0]:.1f} ({used}) | "
              f"{ms['bfloat16'][0]:.1f} | {psnr['float32']:.3f} | {psnr['auto']:.3f} | {psnr['bfloat16']:.3f} | "
              f"{verdict} | {'yes' if ok else 'NO'} |", flush=True)


def training_table(names, steps):
    from sr_zoo import training

    print(f"Training: {steps} steps from the shipped file, same seed and data, then Set5 (float32 scoring)")
    print("| model | float32 Set5 | s | bfloat16 Set5 | s | Δ dB | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        zoo = recipes.zoo(name)
        recipe = recipes.get(zoo.model, zoo.scale)
        batch = int(zoo.flag("batch_size", recipe.batch_size))
        recipe = recipe.replace(preset=zoo.preset, batch_size=batch, learning_rate=float(zoo.flag("learning_rate", 1e-4)) / 4,
                                lr_schedule="constant", epochs=1, steps_per_epoch=steps, warmup_steps=0)
        if zoo.flag("datasets"):
            recipe = recipe.replace(datasets=tuple(zoo.flag("datasets").split(",")))
        results = {}
        for prec in ("float32", "bfloat16"):
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                r = training.train(recipe.replace(precision=prec), tmp, warm_start=name, verbose=0)
                results[prec] = (r.best_psnr, time.perf_counter() - t)
        (a, ta), (b, tb) = results["float32"], results["bfloat16"]
        print(f"| {name} | {a:.3f} | {ta:.0f} | {b:.3f} | {tb:.0f} | {b - a:+.3f} | {ta / tb:.2f}x |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(sr_zoo.pretrained.available()))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--training", action="store_true", help="compare float32 and bfloat16 training instead")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run (--training)")
    args = parser.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    before = load()
    print(f"load average before: {before:.2f}{'  (NOT QUIET: figures unreliable)' if before > 0.5 else ''}\n")
    if args.training:
        training_table(names, args.steps)
    else:
        inference_table(names, args.repeats)
    print(f"\nload average after: {load():.2f}")


if __name__ == "__main__":
    main()

"""Benchmark evaluation: PSNR/SSIM of methods on benchmark pairs, tables, JSON.

The pairs (Set5/Set14/B100/Urban100, DIV2KRK, folders of paired images; stored MATLAB LR images
where the data has them) and the bicubic baseline come from :mod:`sr_zoo.data.benchmarks`.

Example (the bicubic baseline of the SR literature):

>>> rows = sr_zoo.evaluation.evaluate({"bicubic": sr_zoo.data.benchmarks.bicubic}, ["set5"], [2, 3, 4])
>>> print(sr_zoo.evaluation.markdown_table(rows))
"""

import dataclasses
import json
import os
import pathlib
import time

import numpy as np
from PIL import Image

from sr_zoo import metrics
from sr_zoo.data.benchmarks import BENCHMARK_FOLDERS, BLIND_DATASETS, bicubic, load_pairs
from sr_zoo.pretrained import load_model

@dataclasses.dataclass
class Score:
    method: str
    benchmark: str
    scale: int
    psnr: float
    ssim: float
    seconds_per_image: float
    crop_border: int
    y_channel: bool
    per_image: list


def evaluate(methods, benchmarks, scales, *, data_dir=None, tfds_data_dir=None, y_channel=True, crop_border=None,
             on_image=None):
    """Scores ``methods`` (name -> ``fn(lr_uint8, scale) -> sr_uint8``) on benchmarks x scales.

    ``crop_border=None`` shaves ``scale`` pixels (the SR literature's protocol).
    ``on_image(method, benchmark, scale, pair, sr)`` is called for every output
    (to save images, say). Returns a list of :class:`Score`.
    """
    scores = []
    for benchmark in benchmarks:
        for scale in scales:
            pairs = load_pairs(benchmark, scale, data_dir, tfds_data_dir)
            crop = scale if crop_border is None else int(crop_border)
            for method, fn in methods.items():
                if getattr(fn, "scale", scale) != scale:  # a model is measured at its own scale only
                    continue
                per_image = []
                elapsed = 0.0
                for pair in pairs:
                    start = time.perf_counter()
                    sr = fn(pair.lr, scale)
                    seconds = time.perf_counter() - start
                    elapsed += seconds
                    if sr.shape != pair.hr.shape:
                        raise ValueError(
                            f"{method} on {benchmark}/{pair.name} x{scale}: output shape {sr.shape} "
                            f"!= HR shape {pair.hr.shape}"
                        )
                    p, s = metrics.psnr_ssim(pair.hr, sr, crop_border=crop, y_channel=y_channel)
                    per_image.append({"image": pair.name, "psnr": p, "ssim": s, "seconds": seconds})
                    if on_image is not None:
                        on_image(method, benchmark, scale, pair, sr)
                scores.append(
                    Score(
                        method=method,
                        benchmark=benchmark,
                        scale=scale,
                        psnr=float(np.mean([r["psnr"] for r in per_image])),
                        ssim=float(np.mean([r["ssim"] for r in per_image])),
                        seconds_per_image=elapsed / len(pairs),
                        crop_border=crop,
                        y_channel=y_channel,
                        per_image=per_image,
                    )
                )
    return scores


def markdown_table(scores, precision=None):
    """One row per method, one column per benchmark and scale: ``PSNR / SSIM``, with the protocol in the header.

    ``precision`` (e.g. ``"float32"``): the models' compute precision, added to the protocol line."""
    if not scores:
        return ""
    columns = list(dict.fromkeys((s.benchmark, s.scale) for s in scores))
    methods = list(dict.fromkeys(s.method for s in scores))
    lookup = {(s.method, s.benchmark, s.scale): s for s in scores}
    channel = "Y" if all(s.y_channel for s in scores) else "RGB"
    crops = {s.crop_border for s in scores}
    crop = "scale" if all(s.crop_border == s.scale for s in scores) else ", ".join(map(str, sorted(crops)))
    header = ["Method"] + [f"{benchmark_label(b)} x{s}" for b, s in columns]
    lines = [
        f"PSNR (dB) / SSIM, {channel} channel{'s' if channel == 'RGB' else ''}, crop = {crop} pixels"
        + (f", models in {precision}" if precision else ""),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + [":---:"] * len(columns)) + "|",
    ]
    for method in methods:
        cells = []
        for b, sc in columns:
            s = lookup.get((method, b, sc))
            cells.append(f"{s.psnr:.2f} / {s.ssim:.4f}" if s else "-")
        lines.append("| " + " | ".join([method] + cells) + " |")
    return "\n".join(lines)


def benchmark_label(benchmark):
    """``set5`` -> ``Set5``; ``div2krk/b100`` -> ``DIV2KRK/b100``; a folder -> its name."""
    if benchmark in BENCHMARK_FOLDERS:
        return BENCHMARK_FOLDERS[benchmark]
    if benchmark.split("/")[0] in BLIND_DATASETS:
        return benchmark.replace("div2krk", "DIV2KRK")
    return pathlib.Path(benchmark.rstrip("/")).name


def to_json(scores, path=None):
    """The scores as a JSON string (written to ``path`` atomically when given)."""
    text = json.dumps([dataclasses.asdict(s) for s in scores], indent=2)
    if path is not None:
        path = pathlib.Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return text


def per_image_table(scores):
    """Markdown table of every image's PSNR / SSIM / seconds."""
    lines = ["| Method | Benchmark | Scale | Image | PSNR | SSIM | Seconds |", "|---|---|---|---|---:|---:|---:|"]
    for s in scores:
        for r in s.per_image:
            lines.append(
                f"| {s.method} | {s.benchmark} | x{s.scale} | {r['image']} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['seconds']:.3f} |"
            )
    return "\n".join(lines)


# The 8 dihedral transforms of the x8 self-ensemble (EDSR+): (k rotations by 90 degrees, flip).
_DIHEDRAL = [(k, flip) for flip in (False, True) for k in range(4)]


def self_ensemble(upscale_fn):
    """Wraps ``fn(lr_uint8, scale) -> sr_uint8`` into the x8 flip/rotate average (EDSR+).

    Each transformed LR image is upscaled, transformed back, and the eight
    results are averaged in float and rounded once.
    """

    def ensembled(lr, scale):
        total = None
        for k, flip in _DIHEDRAL:
            x = np.rot90(lr, k, axes=(0, 1))
            x = np.ascontiguousarray(x[:, ::-1] if flip else x)
            y = upscale_fn(x, scale).astype(np.float64)
            y = y[:, ::-1] if flip else y
            y = np.rot90(y, -k, axes=(0, 1))
            total = y if total is None else total + y
        return np.clip(np.floor(total / len(_DIHEDRAL) + 0.5), 0, 255).astype(np.uint8)

    return ensembled


def model_upscaler(model, *, tile=None, precision="float32"):
    """``fn(lr_uint8, scale) -> sr_uint8`` running a zoo model through :func:`sr_zoo.upscale`.

    ``precision`` defaults to float32, the precision of published tables (``"auto"``: the fastest one
    :func:`sr_zoo.upscale` picks, see :mod:`sr_zoo.precision`)."""
    from sr_zoo import inference, models

    model_scale = models.describe(model).scale

    def fn(lr, scale):
        if scale != model_scale:
            raise ValueError(f"the model upscales x{model_scale}, not x{scale}; pass --scales={model_scale}")
        return inference.upscale(model, lr, tile=tile, precision=precision)

    fn.scale = model_scale
    return fn, model_scale


def _method_names(specs):
    """Table labels for ``--model`` entries: a file's stem, with as many parent folders as it takes to tell
    files of the same name apart (``runs/a/best.keras,runs/b/best.keras`` -> ``a/best``, ``b/best``)."""
    repeated = sorted({s for s in specs if specs.count(s) > 1})
    if repeated:
        raise ValueError(f"--model lists {', '.join(repeated)} more than once")
    parts = {s: pathlib.Path(s).with_suffix("").parts if os.path.exists(s) else (s,) for s in specs}
    for depth in range(1, max(map(len, parts.values())) + 1):
        names = ["/".join(parts[s][-depth:]) for s in specs]
        if len(set(names)) == len(names):
            return names
    return list(specs)  # a pretrained name beside a file of that name: the specs as given


def methods_from_flag(spec, *, scales=None, self_ensemble=False, tile=None, precision="float32"):
    """Turns ``--model`` into the methods to compare (bicubic first), the scales and a label.

    ``spec`` is ``bicubic``, a ``.keras`` path or a pretrained name, or several of them separated by
    commas; each model is measured at its own scale.
    """
    methods = {"bicubic": bicubic}
    specs = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    models_ = [s for s in specs if s != "bicubic"]
    if not models_:
        scales = [int(s) for s in scales] if scales else [2, 3, 4]
        return methods, scales, "bicubic (MATLAB)"
    labels, model_scales = [], []
    for one, name in zip(models_, _method_names(models_)):
        model, label = load_model(one)
        fn, model_scale = model_upscaler(model, tile=tile, precision=precision)
        if self_ensemble:
            fn_e = globals()["self_ensemble"](fn)
            fn_e.scale = model_scale
            methods[name + "+"] = fn_e
        else:
            methods[name] = fn
        labels.append(label)
        model_scales.append(model_scale)
    scales = [int(s) for s in scales] if scales else sorted(set(model_scales))
    unused = [s for s in scales if s not in model_scales]
    if unused:
        raise ValueError(f"{', '.join(labels)} upscale{'s' if len(labels) == 1 else ''} "
                         f"x{'/x'.join(map(str, sorted(set(model_scales))))}; --scales={','.join(map(str, scales))} "
                         f"asks for x{'/x'.join(map(str, unused))}")
    return methods, scales, ", ".join(labels)


class ImageSaver:
    """``on_image`` callback writing ``<dir>/<benchmark>_x<s>/<method>/<image>.png`` and a comparison strip.

    The strip shows a 128-pixel HR crop around the image centre as bicubic / SR / HR side by side.
    """

    def __init__(self, directory, crop=128):
        self.directory = pathlib.Path(directory)
        self.crop = crop

    def __call__(self, method, benchmark, scale, pair, sr):
        folder = self.directory / f"{benchmark}_x{scale}" / method.replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(sr.squeeze()).save(folder / f"{pair.name}.png")
        if method == "bicubic":
            return
        h, w = pair.hr.shape[:2]
        c = min(self.crop, h, w)
        top, left = (h - c) // 2, (w - c) // 2
        window = (slice(top, top + c), slice(left, left + c))
        strip = np.concatenate([bicubic(pair.lr, scale)[window], sr[window], pair.hr[window]], axis=1)
        Image.fromarray(strip.squeeze()).save(folder / f"{pair.name}_bicubic_sr_hr.png")

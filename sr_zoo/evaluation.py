"""Benchmark evaluation: Set5/Set14/B100/Urban100 pairs, PSNR/SSIM tables, JSON.

LR inputs are the stored MATLAB LR images where the data has them (the
SelfExSR folders, or EDSR's ``LR_bicubic``), otherwise the project's
MATLAB-exact bicubic of the HR image cropped to a multiple of the scale, so the
numbers are comparable with the papers'.

Example (the bicubic baseline of the SR literature):

>>> rows = sr_zoo.evaluation.evaluate({"bicubic": sr_zoo.evaluation.bicubic}, ["set5"], [2, 3, 4])
>>> print(sr_zoo.evaluation.markdown_table(rows))
"""

import dataclasses
import json
import os
import pathlib
import time

import numpy as np
from PIL import Image

from sr_zoo import metrics, paths
from sr_zoo.image.resize import imresize

#: Benchmark name -> folder name in the shared data layout.
BENCHMARK_FOLDERS = {"set5": "Set5", "set14": "Set14", "b100": "B100", "urban100": "Urban100"}
SET5_NAMES = ("baby", "bird", "butterfly", "head", "woman")


@dataclasses.dataclass
class Pair:
    """One benchmark image: uint8 HR (cropped to a multiple of ``scale``) and its LR."""

    name: str
    hr: np.ndarray
    lr: np.ndarray
    lr_source: str  # 'matlab' (stored MATLAB LR), 'imresize' (made here, MATLAB-exact) or 'dataset' (its own LR)


def read_image(path):
    """Reads an 8-bit image file as uint8 HxW (grayscale) or HxWx3; alpha is dropped. Errors name the file."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode.startswith(("I", "F")):
                raise ValueError(f"{im.mode} (16-bit or float) images are not supported; benchmarks are 8-bit")
            if im.mode not in ("L", "RGB"):
                im = im.convert("L" if im.mode in ("LA", "1") else "RGB")
            array = np.array(im)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from e
    if array.dtype != np.uint8:
        raise ValueError(f"{path}: expected an 8-bit image, got {array.dtype}")
    return array


def modcrop(image, scale):
    """Crops the bottom/right so height and width are multiples of ``scale``."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


#: Blind-SR test sets read from their built TFDS datasets (LR stored per scale: ``lr_x2``, ``lr_x4``).
BLIND_DATASETS = ("div2krk",)
#: Sub-folder names of a folder of paired images: HR, then LR (``{s}`` is the scale).
HR_FOLDER_NAMES = ("HR", "hr", "gt", "GT")
LR_FOLDER_NAMES = ("LR_bicubic/X{s}", "LR/X{s}", "LR_x{s}", "lr_x{s}", "LR", "lr")


def is_folder_spec(spec):
    """``--datasets`` items that are folders (paired LR/HR images) rather than benchmark or TFDS names."""
    if os.path.isdir(spec) or spec.startswith((".", "/", "~")):
        return True
    return "/" in spec and spec.split("/")[0] not in BLIND_DATASETS


def check_benchmarks(benchmarks):
    """Every unknown name or missing folder of ``--datasets`` in one error, before any work."""
    problems = []
    for b in benchmarks:
        if is_folder_spec(b):
            if not os.path.isdir(os.path.expanduser(b)):
                problems.append(f"folder not found: {b}")
        elif b not in BENCHMARK_FOLDERS and b.split("/")[0] not in BLIND_DATASETS:
            problems.append(f"unknown benchmark {b!r} (expected {', '.join(sorted(BENCHMARK_FOLDERS))}, "
                            f"div2krk[/config] or a folder of paired LR/HR images)")
    if problems:
        raise ValueError("; ".join(problems))


def _benchmark_root(benchmark, data_dir):
    if benchmark not in BENCHMARK_FOLDERS:
        raise ValueError(f"unknown benchmark {benchmark!r}; expected one of {sorted(BENCHMARK_FOLDERS)}")
    if data_dir and not pathlib.Path(data_dir).is_dir():
        raise NotADirectoryError(f"--data_dir folder not found: {data_dir}")
    base = pathlib.Path(data_dir) if data_dir else paths.shared_data_dir()
    if base is None:
        raise FileNotFoundError(
            f"no benchmark data: pass data_dir (or --data_dir) or set ${paths.DATA_ENV_VAR} to a folder "
            f"holding {BENCHMARK_FOLDERS[benchmark]}/"
        )
    root = base / BENCHMARK_FOLDERS[benchmark]
    if not root.is_dir():
        raise FileNotFoundError(f"benchmark {benchmark!r} not found: no folder {root}")
    return root


def _selfexsr_names(benchmark, root, count):
    """SelfExSR numbers its images; map them back to the usual names where we know them."""
    if benchmark == "set5" and count == len(SET5_NAMES):
        return list(SET5_NAMES)
    originals = sorted(p.stem for p in (root / "original").glob("*.png")) if (root / "original").is_dir() else []
    if len(originals) == count:
        return originals  # Set14: img_001..014 are the originals in alphabetical order
    return None


def _selfexsr_hr(benchmark, root, folder):
    """``(name, path)`` of each ``*_HR.png`` in a SelfExSR ``image_SRF_<s>`` folder."""
    hr_paths = sorted(folder.glob("*_HR.png"))
    names = _selfexsr_names(benchmark, root, len(hr_paths)) or [p.name.split("_SRF")[0] for p in hr_paths]
    return list(zip(names, hr_paths))


def _imresize_pairs(named_hr_paths, scale):
    """Pairs whose LR is made here from the HR cropped to ``scale`` (MATLAB-exact ``imresize``)."""
    out = []
    for name, hr_path in named_hr_paths:
        hr = modcrop(read_image(hr_path), scale)
        out.append(Pair(name, hr, imresize(hr, 1 / scale), "imresize"))
    return out


def load_pairs(benchmark, scale, data_dir=None, tfds_data_dir=None):
    """Returns the benchmark's :class:`Pair` list at ``scale``.

    From a local folder when one is found (``data_dir``, ``$SR_ZOO_DATA`` or
    ``../shared/data``), else from the built TFDS dataset ``sr_benchmarks/<benchmark>``
    (in ``tfds_data_dir``); neither raises an error naming both and the ``tfds build`` command.

    Accepted layouts (those of ``../shared/data``): ``<Set>/SelfExSR/image_SRF_<s>/``
    (MATLAB LR, replicate borders), ``<Set>/EDSR_benchmark/{HR,LR_bicubic/X<s>}/``
    (MATLAB LR, symmetric borders) and a plain ``<Set>/original/`` (LR made here). At a scale
    without LR files and without ``original/`` (B100 x8), the HR of a SelfExSR scale that divides
    it is cropped to the scale and its LR made here (``imresize``, current MATLAB's borders).
    Urban100's SelfExSR ``image_SRF_2`` folder is not the x2 benchmark: x2 pairs
    the full-size HR (from ``image_SRF_4``) with that folder's ``_HR`` image.
    """
    scale = int(scale)
    if is_folder_spec(benchmark):
        return folder_pairs(benchmark, scale)
    if benchmark.split("/")[0] in BLIND_DATASETS:
        return blind_pairs(benchmark, scale, tfds_data_dir)
    try:
        root = _benchmark_root(benchmark, data_dir)
    except NotADirectoryError:
        raise
    except FileNotFoundError as folder_error:
        return _tfds_pairs(benchmark, scale, tfds_data_dir, folder_error)
    selfexsr = root / "SelfExSR" / f"image_SRF_{scale}"
    if benchmark == "urban100" and scale == 2 and (root / "SelfExSR" / "image_SRF_4").is_dir():
        hr_paths = sorted((root / "SelfExSR" / "image_SRF_4").glob("*_HR.png"))
        lr_paths = [root / "SelfExSR" / "image_SRF_2" / p.name.replace("SRF_4", "SRF_2") for p in hr_paths]
        pairs = [(p.name.split("_SRF")[0], read_image(p), read_image(q)) for p, q in zip(hr_paths, lr_paths)]
        return [Pair(n, modcrop(h, 2), lr, "matlab") for n, h, lr in pairs]
    if selfexsr.is_dir():
        out = []
        for name, hr_path in _selfexsr_hr(benchmark, root, selfexsr):
            lr_path = hr_path.with_name(hr_path.name.replace("_HR.png", "_LR.png"))
            out.append(Pair(name, modcrop(read_image(hr_path), scale), read_image(lr_path), "matlab"))
        return out
    edsr = root / "EDSR_benchmark"
    if (edsr / "LR_bicubic" / f"X{scale}").is_dir() and scale in (2, 3, 4):  # X8 there is not MATLAB-exact
        out = []
        for hr_path in sorted((edsr / "HR").glob("*.png")):
            lr_path = edsr / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png"
            out.append(Pair(hr_path.stem, modcrop(read_image(hr_path), scale), read_image(lr_path), "matlab"))
        return out
    for folder in (root / "original", edsr / "HR", root):
        hr_paths = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".bmp", ".jpg", ".jpeg", ".tif"))
        if hr_paths:
            return _imresize_pairs([(p.stem, p) for p in hr_paths], scale)
    # no LR files at this scale (B100 x8) and no full-size HR: the HR of a SelfExSR scale that divides it,
    # already cropped to a multiple of that scale, so cropping it to ``scale`` matches cropping the original
    divisors = [s for s in (4, 3, 2) if scale % s == 0 and (root / "SelfExSR" / f"image_SRF_{s}").is_dir()]
    if divisors:
        return _imresize_pairs(_selfexsr_hr(benchmark, root, root / "SelfExSR" / f"image_SRF_{divisors[0]}"), scale)
    raise FileNotFoundError(f"no images for {benchmark} x{scale} under {root}")


def _tfds_pairs(benchmark, scale, tfds_data_dir, folder_error):
    """Pairs from the built TFDS ``sr_benchmarks/<benchmark>``: stored MATLAB LR when it has ``lr_x<scale>``."""
    import io

    from sr_zoo import data

    try:
        builder = data.tfds_builder(f"sr_benchmarks/{benchmark}", tfds_data_dir)
    except data.DatasetNotBuiltError as e:
        raise FileNotFoundError(f"{folder_error}; and {e}") from None
    import tensorflow_datasets as tfds

    features = builder.info.features
    lr_key = f"lr_x{scale}" if f"lr_x{scale}" in features else None
    image_keys = {k: tfds.decode.SkipDecoding() for k in ("hr", lr_key) if k}
    split = data.pipeline.default_split(builder, train=False)
    pairs = []
    for ex in builder.as_dataset(split=split, decoders=image_keys, shuffle_files=False).as_numpy_iterator():
        name = ex["name"].decode()
        hr = modcrop(_gray_if_replicated(read_image(io.BytesIO(ex["hr"]))), scale)
        if lr_key:
            pairs.append(Pair(name, hr, _gray_if_replicated(read_image(io.BytesIO(ex[lr_key]))), "matlab"))
        else:
            pairs.append(Pair(name, hr, imresize(hr, 1 / scale), "imresize"))
    return pairs


def _hr_cropped_to(hr, lr, scale, name):
    """The HR image cropped to exactly ``scale`` times the LR size (top-left aligned, as modcrop)."""
    h, w = lr.shape[0] * scale, lr.shape[1] * scale
    if hr.shape[0] < h or hr.shape[1] < w:
        raise ValueError(f"{name}: HR {hr.shape[1]}x{hr.shape[0]} is smaller than {scale} x LR "
                         f"{lr.shape[1]}x{lr.shape[0]}")
    return hr[:h, :w]


def blind_pairs(name, scale, tfds_data_dir=None):
    """Pairs of a built blind-SR TFDS dataset (``div2krk`` or ``div2krk/<config>``): its stored LR per scale."""
    import io

    from sr_zoo import data

    builder = data.tfds_builder(name, tfds_data_dir)
    import tensorflow_datasets as tfds

    lr_key = f"lr_x{scale}"
    features = builder.info.features
    if lr_key not in features:
        have = sorted(int(k[4:]) for k in features if k.startswith("lr_x"))
        raise ValueError(f"{name} has no x{scale} LR images; its scales are {', '.join(map(str, have))}")
    split = data.pipeline.default_split(builder, train=False)
    decoders = {k: tfds.decode.SkipDecoding() for k in ("hr", lr_key)}
    pairs = []
    for ex in builder.as_dataset(split=split, decoders=decoders, shuffle_files=False).as_numpy_iterator():
        image = ex["name"].decode()
        lr = read_image(io.BytesIO(ex[lr_key]))
        hr = _hr_cropped_to(read_image(io.BytesIO(ex["hr"])), lr, scale, f"{name}/{image}")
        pairs.append(Pair(image, hr, lr, "dataset"))
    return pairs


def _find_subfolder(root, patterns, scale):
    for pattern in patterns:
        folder = root / pattern.format(s=scale)
        if folder.is_dir():
            return folder
    return None


def _stem_key(path, scale):
    """Matches ``0801.png`` with ``0801x4.png``, ``img_1_gt.png`` with ``im_1.png`` and ``a_HR.png`` with ``a_LR.png``."""
    stem = path.stem
    for suffix in (f"x{scale}", f"_x{scale}", "_gt", "_GT", "_HR", "_hr", "_LR", "_lr"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem.replace("img_", "im_")


def folder_pairs(folder, scale):
    """Pairs from a folder of paired images: ``HR/`` (or ``gt/``) beside ``LR/``, ``LR_x<s>/``, ``lr_x<s>/`` or
    ``LR_bicubic/X<s>/`` (the DIV2K and DIV2KRK layouts); files matched by name, HR cropped to scale x LR."""
    root = pathlib.Path(os.path.expanduser(folder))
    if not root.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    hr_dir = _find_subfolder(root, HR_FOLDER_NAMES, scale)
    lr_dir = _find_subfolder(root, LR_FOLDER_NAMES, scale)
    if hr_dir is None or lr_dir is None:
        raise FileNotFoundError(
            f"{folder}: expected an HR folder ({'/'.join(HR_FOLDER_NAMES)}) and an x{scale} LR folder "
            f"({', '.join(p.format(s=scale) for p in LR_FOLDER_NAMES)})"
        )
    suffixes = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
    hrs = {_stem_key(p, scale): p for p in sorted(hr_dir.iterdir()) if p.suffix.lower() in suffixes}
    lrs = {_stem_key(p, scale): p for p in sorted(lr_dir.iterdir()) if p.suffix.lower() in suffixes}
    missing = sorted(set(hrs) ^ set(lrs))
    if missing:
        raise FileNotFoundError(f"{folder}: images without a partner in {hr_dir.name}/ and {lr_dir.name}/: "
                                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    pairs = []
    for key in sorted(hrs):
        lr = read_image(lrs[key])
        pairs.append(Pair(key, _hr_cropped_to(read_image(hrs[key]), lr, scale, str(hrs[key])), lr, "dataset"))
    return pairs


def _gray_if_replicated(image):
    """TFDS stores grayscale images (Set14's bridge) as RGB; the protocol measures them as grayscale."""
    if image.ndim == 3 and np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2]):
        return image[..., 0]
    return image


def bicubic(lr, scale):
    """The baseline every SR table starts with: MATLAB bicubic upscaling of the uint8 LR image."""
    return imresize(lr, scale)


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
                    p = metrics.psnr(pair.hr, sr, crop_border=crop, y_channel=y_channel)
                    s = metrics.ssim(pair.hr, sr, crop_border=crop, y_channel=y_channel)
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


def load_model(spec):
    """Loads a model from a ``.keras`` path or a pretrained name; returns ``(model, label)``."""
    import keras

    import sr_zoo  # noqa: F401  (registers the zoo's layers for deserialization)

    if os.path.exists(spec):
        try:
            return keras.models.load_model(spec), spec
        except Exception as e:  # Keras raises several types for a bad file
            raise ValueError(f"cannot load model file {spec}: {e}") from e
    if spec.endswith(".keras"):
        raise FileNotFoundError(f"model file not found: {spec}")
    from sr_zoo import pretrained

    return pretrained.load(spec), f"{spec} (pretrained)"


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

"""Benchmark pairs: Set5 / Set14 / B100 / Urban100, DIV2KRK and folders of paired images, with the LR
images the SR literature measures on, and the bicubic baseline.

LR inputs are the stored MATLAB LR images where the data has them (the SelfExSR folders, or EDSR's
``LR_bicubic``), otherwise the project's MATLAB-exact bicubic of the HR image cropped to a multiple of
the scale, so the numbers are comparable with the papers'. Training validates on these pairs and
:mod:`sr_zoo.evaluation` measures on them.

>>> pairs = sr_zoo.data.benchmarks.load_pairs("set5", scale=3)
>>> pairs[0].name, pairs[0].hr.shape, pairs[0].lr_source
"""

import dataclasses
import os
import pathlib

import numpy as np
from PIL import Image

from sr_zoo import paths
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

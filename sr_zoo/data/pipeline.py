"""tf.data training and evaluation pipelines: (LR, HR) pairs made on the fly.

Sources (``dataset`` argument) may be:

* a TFDS name built from ``tfds_builders/`` (``'t91'``, ``'bsd200'``,
  ``'sr_benchmarks/set5'``, ``'div2k/bicubic_x4'``, ``'cinic10/tiny_edsr'``,
  optionally ``name:version``), read from ``data_dir`` (default
  ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``);
* a folder of image files (``str`` or ``pathlib.Path``);
* a ``tf.data.Dataset`` of images (``HxWxC`` tensors, ``(image, label)``
  tuples, or dicts with an ``'hr'`` or ``'image'`` key);
* a list of any of these, concatenated (``['t91', 'bsd200']`` is the "291" set).

**Patch size convention.** ``patch_size`` is the side of the *HR* patch
(must be a multiple of ``scale``); pass ``lr_patch_size`` instead to give the
*LR* side (HR side = ``lr_patch_size * scale``). ESPCN x3 (17x17 LR) is
``lr_patch_size=17``; EDSR (48x48 LR) ``lr_patch_size=48``; LapSRN (128 HR)
``patch_size=128``; SRCNN (33x33 input at HR resolution) ``patch_size=33``
is not a multiple of 3, so use ``patch_size=33 * k`` or ``lr_patch_size=11``
with ``upsample_lr=True``.

**Pairs.** Each training example crops an HR patch at a position aligned to the
scale grid, degrades a slightly larger region around it (enough context that
the LR patch is exactly the crop of the whole degraded image), then applies the
same flips/rotations to both. LR images are uint8 before conversion (like real
LR files), then both are converted to float32 in [0, 1], RGB or Y (MATLAB
``rgb2ycbcr``, Y in [16/255, 235/255]).

**Fixed degradations are computed once.** For MATLAB bicubic at a fixed scale
with no noise or JPEG (the papers' recipes), the LR of each whole (modcropped)
image is deterministic: it is made once with :func:`sr_zoo.imresize`, kept
beside the decoded HR in the ``cache``, and training patches are aligned uint8
crops of both, LR offset ``(i, j)`` <-> HR offset ``(s*i, s*j)``. Crop
positions and transforms are drawn exactly as on the per-patch path, so both
paths yield the same bytes for a seed. FSRCNN's rescaling (a finite set of
factors) is precomputed the same way, one whole-image version per factor, as
the paper's offline augmentation (the per-patch path rescales a region around
each patch instead). ``precompute_lr=False`` selects the per-patch path. Large
batches cut several patches per image visit in one vectorised gather
(``patches_per_visit``; at least 16 image visits per batch by default).

Everything is deterministic for a given ``seed``: element seeds come from
``tf.data.Dataset.random(seed)`` and all random ops are stateless.
"""

import logging
import math
import os
import pathlib
import re

import numpy as np
import tensorflow as tf

from sr_zoo.data import degradations as deg
from sr_zoo.data import io as _io
from sr_zoo.image.color import rgb_to_y
from sr_zoo.image.resize import imresize

logger = logging.getLogger("sr_zoo.data")

AUTOTUNE = tf.data.AUTOTUNE
FSRCNN_RESCALE = (1.0, 0.9, 0.8, 0.7, 0.6)

_IMAGE_KEYS = ("hr", "image")
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")


class DatasetNotBuiltError(FileNotFoundError):
    """A TFDS dataset of ``tfds_builders/`` was asked for but is not built in ``data_dir``."""


# ----------------------------------------------------------------------------- sources


def default_data_dir():
    """``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets`` (where ``tfds build`` writes by default)."""
    return pathlib.Path(os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets"))


def _parse_name(name):
    version = None
    if ":" in name:
        name, version = name.split(":", 1)
    parts = name.strip("/").split("/")
    if len(parts) > 2:
        raise ValueError(f"dataset name must be 'name' or 'name/config', got {name!r}")
    return parts[0], (parts[1] if len(parts) == 2 else None), version


def build_command(name, config=None, data_dir=None):
    """The ``tfds build`` command that builds ``name[/config]`` from ``tfds_builders/``."""
    from sr_zoo import paths

    manual = paths.shared_data_dir() or "<folder holding the data>"
    cmd = f"tfds build tfds_builders/{name}"
    if config:
        cmd += f" --config={config}"
    cmd += f" --manual_dir={manual}"
    if data_dir is not None:
        cmd += f" --data_dir={data_dir}"
    return cmd


def _builder_dir(name, data_dir):
    base, config, version = _parse_name(name)
    data_dir = pathlib.Path(data_dir) if data_dir is not None else default_data_dir()
    root = data_dir / base / config if config else data_dir / base

    def versions(folder):
        if not folder.is_dir():
            return []
        found = [p for p in folder.iterdir() if _VERSION_RE.match(p.name) and (p / "dataset_info.json").is_file()]
        return sorted(found, key=lambda p: tuple(int(v) for v in p.name.split(".")))

    found = versions(root)
    if version is not None:
        found = [p for p in found if p.name == version]
    if not found:
        hint = ""
        if config is None and (data_dir / base).is_dir():
            configs = sorted(p.name for p in (data_dir / base).iterdir() if p.is_dir() and versions(p))
            if configs:
                hint = f" It has configs {configs}: ask for '{base}/<config>'."
        from sr_zoo import paths

        raise DatasetNotBuiltError(
            f"TFDS dataset '{name}' is not built in {data_dir}.{hint} Build it (from {paths.PROJECT_ROOT}) with:\n"
            f"  {build_command(base, config, data_dir)}"
        )
    return found[-1]


def tfds_builder(name, data_dir=None):
    """The read-only TFDS builder of a built ``name[/config][:version]`` (no builder code needed)."""
    import tensorflow_datasets as tfds

    return tfds.builder_from_directory(str(_builder_dir(name, data_dir)))


def _image_key(features):
    for k in _IMAGE_KEYS:
        if k in features:
            return k
    raise ValueError(f"dataset has no 'hr' or 'image' feature (features: {sorted(features)})")


def _decode_rgb(encoded):
    img = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    img.set_shape([None, None, 3])
    return img


def _from_tfds(name, split, data_dir, keep=()):
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir)
    features = builder.info.features
    key = _image_key(features)
    split = split or default_split(builder, train=True)
    image_keys = [k for k in features.keys() if isinstance(features[k], tfds.features.Image)]
    ds = builder.as_dataset(split=split, decoders={k: tfds.decode.SkipDecoding() for k in image_keys},
                            shuffle_files=False)

    def convert(ex):
        out = {"hr": ex[key], "name": ex["name"] if "name" in ex else tf.constant(name)}
        for k in keep:
            if k in ex:
                out[k] = ex[k]
        return out

    return ds.map(convert), builder, split


def default_split(builder, train):
    splits = list(builder.info.splits.keys())
    order = ("train",) if train else ("test", "validation", "valid", "train")
    for s in order:
        if s in splits:
            return s
    return splits[0]


def _pil_decode(path):
    path = path.numpy().decode("utf-8")
    img = _io.read_rgb(path)
    if img is None:
        return np.zeros((0, 0, 3), np.uint8)
    return img


def _from_folder(folder):
    files = [str(p) for p in _io.list_images(folder)]
    if not files:
        raise ValueError(f"no image files in {folder}")
    ds = tf.data.Dataset.from_tensor_slices(files)

    def load(path):
        img = tf.py_function(_pil_decode, [path], tf.uint8)
        img.set_shape([None, None, 3])
        return {"hr": img, "name": path}

    ds = ds.map(load, num_parallel_calls=AUTOTUNE)
    return ds.filter(lambda ex: tf.size(ex["hr"]) > 0)  # unreadable files were reported by read_rgb


def to_rgb_uint8(image):
    """A TF image of any channel count (1, 2, 3, 4) and dtype (uint8, uint16, float in [0, 1]) to uint8 RGB."""
    image = tf.convert_to_tensor(image)
    if image.dtype == tf.uint16:
        image = tf.cast(image // 256, tf.uint8)
    elif image.dtype != tf.uint8:
        image = tf.image.convert_image_dtype(tf.cast(image, tf.float32), tf.uint8, saturate=True)
    if image.shape.rank == 2:
        image = image[:, :, None]
    c = image.shape[-1]
    if c is None:
        c_t = tf.shape(image)[-1]
        image = tf.cond(c_t >= 3, lambda: image[:, :, :3], lambda: tf.tile(image[:, :, :1], [1, 1, 3]))
    elif c >= 3:
        image = image[:, :, :3]
    else:
        image = tf.tile(image[:, :, :1], [1, 1, 3])
    image.set_shape([None, None, 3])
    return image


def _from_tf_dataset(ds):
    spec = ds.element_spec

    def convert(*args):
        el = args[0] if len(args) == 1 else args
        name = tf.constant("")
        if isinstance(el, dict):
            key = _image_key(el)
            name = el.get("name", name)
            img = el[key]
        elif isinstance(el, (tuple, list)):
            img = el[0]
        else:
            img = el
        return {"hr": to_rgb_uint8(img), "name": tf.strings.as_string(name) if name.dtype != tf.string else name}

    del spec
    return ds.map(convert, num_parallel_calls=AUTOTUNE)


def load_images(dataset, split=None, *, data_dir=None):
    """HR images of ``dataset`` as a ``tf.data.Dataset`` of ``{'hr': uint8 HxWx3, 'name': string}``.

    ``dataset``: TFDS name, folder, ``tf.data.Dataset`` or a list of them (see module doc).
    Raises :class:`DatasetNotBuiltError` (with the ``tfds build`` command) if a TFDS dataset is missing.
    """
    if isinstance(dataset, (list, tuple)):
        if not dataset:
            raise ValueError("empty list of datasets")
        parts = [load_images(d, split, data_dir=data_dir) for d in dataset]
        out = parts[0]
        for p in parts[1:]:
            out = out.concatenate(p)
        return out
    if isinstance(dataset, tf.data.Dataset):
        return _from_tf_dataset(dataset)
    if isinstance(dataset, pathlib.Path) or (isinstance(dataset, str) and os.path.isdir(dataset)):
        return _from_folder(dataset)
    if isinstance(dataset, str):
        ds, _, _ = _from_tfds(dataset, split, data_dir)
        return ds.map(lambda ex: {"hr": _decode_rgb(ex["hr"]), "name": ex["name"]}, num_parallel_calls=AUTOTUNE)
    raise TypeError(f"dataset must be a TFDS name, a folder, a tf.data.Dataset or a list; got {type(dataset).__name__}")


# ----------------------------------------------------------------------------- pairs


_END_OF_PASS = "sr_zoo.data:end-of-pass"


class _SmallImages:
    """Counts the images too small for the patch; one summary line per folder (or dataset) after each pass.

    A pass ends when the marker that :func:`_skip_small` appends to the image stream comes through (with
    ``cache`` on, only the first pass decodes and filters images).
    """

    def __init__(self, need):
        self.need = int(need)
        self.seen, self.small, self.reported = {}, {}, set()

    @staticmethod
    def _group(name):
        return os.path.dirname(name) or "the training data"

    def see(self, name, h, w, ok):
        name = name.numpy().decode("utf-8", "replace")
        if name == _END_OF_PASS:
            for group, small in sorted(self.small.items()):
                line = (f"sr_zoo.data: skipped {len(small)} of {self.seen[group]} images of {group} smaller than "
                        f"the {self.need}x{self.need} HR patch ({', '.join(os.path.basename(n) for n in small[:4])}"
                        f"{', ...' if len(small) > 4 else ''})")
                if line not in self.reported:
                    self.reported.add(line)
                    _io.warn(line)
            self.seen, self.small = {}, {}
            return False
        group = self._group(name)
        self.seen[group] = self.seen.get(group, 0) + 1
        if not bool(ok):
            self.small.setdefault(group, []).append(name or "<unnamed image>")
        return bool(ok)


def _skip_small(images, hr_patch):
    """``images`` without those smaller than ``hr_patch``, reported in one line per folder per pass."""
    report = _SmallImages(hr_patch)

    def keep(ex):
        shape = tf.shape(ex["hr"])
        ok = tf.logical_and(shape[0] >= hr_patch, shape[1] >= hr_patch)
        return tf.py_function(report.see, [ex["name"], shape[0], shape[1], ok], tf.bool)

    marker = images.take(1).map(lambda ex: {**ex, "name": tf.constant(_END_OF_PASS)})
    return images.concatenate(marker).filter(keep)


def _as_range(value, name):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return (float(value), float(value))
    lo, hi = value
    if lo > hi:
        raise ValueError(f"{name}: ({lo}, {hi}) is not a range")
    return (float(lo), float(hi))


def _to_output(lr_u8, hr_u8, channels, upsample_lr, scale):
    lr = tf.cast(lr_u8, tf.float32) / 255.0
    hr = tf.cast(hr_u8, tf.float32) / 255.0
    if channels == 1:
        lr = rgb_to_y(lr)
        hr = rgb_to_y(hr)
    if upsample_lr:
        lr = tf.clip_by_value(imresize(lr, float(scale)), 0.0, 1.0)
    return lr, hr


def _imresize_tensor_scale(image, r):
    """MATLAB bicubic ``imresize(image, r)`` of uint8 HxWx3 ``image`` for a *tensor* float64 scale ``r``.

    ``sr_zoo.imresize`` takes Python scales (one traced graph per factor); this
    drives its two 1-D passes with an in-graph scale instead (equal scales:
    height first, as MATLAB), giving the same bytes (checked in the tests).
    """
    from sr_zoo.image import resize_tf

    x = tf.cast(image[None], tf.float64)
    shape = tf.shape(image)
    out_h = tf.cast(tf.math.ceil(r * tf.cast(shape[0], tf.float64)), tf.int32)
    out_w = tf.cast(tf.math.ceil(r * tf.cast(shape[1], tf.float64)), tf.int32)
    x = resize_tf._resize_axis(x, 1, out_h, r, "bicubic", True, "symmetric", True)
    x = resize_tf._resize_axis(x, 2, out_w, r, "bicubic", True, "symmetric", True)
    return tf.cast(x[0], tf.uint8)


def _draws(rand):
    """Element seed and the stateless integer draws (y, x, transform, spare) of one example."""
    seed = tf.stack([rand, tf.constant(0x5EED, tf.int64)])
    return seed, tf.random.stateless_uniform([4], seed, 0, 1 << 30, dtype=tf.int32)


def _is_fixed(degradation, noise, jpeg_q):
    """True when each whole image (at each of a finite set of rescale factors) has a single LR."""
    return degradation == "bicubic" and noise is None and jpeg_q is None


def _default_visit(batch_size, min_visits=16):
    """Largest divisor ``k`` of ``batch_size`` with at least ``min_visits`` image visits per batch (or 1)."""
    return max([k for k in range(1, batch_size + 1) if batch_size % k == 0 and batch_size // k >= min_visits] or [1])


def _whole_pairs(images, *, scale, boundary, factors, lr_patch, num_parallel_calls):
    """``{'hr'}`` images -> ``{'hr': modcropped HR, 'lr': imresize(HR, 1/scale)}`` (uint8), made once per image.

    With rescale ``factors`` (FSRCNN), one pair per image and factor, from the MATLAB-bicubic rescaled
    whole image (as the paper's offline augmentation); versions smaller than the patch are left out.
    """
    if factors:
        r_all = tf.constant(factors, tf.float64)
        images = images.flat_map(lambda ex: tf.data.Dataset.from_tensor_slices(r_all).map(
            lambda r: {"hr": ex["hr"], "r": r}))

    def make(ex):
        hr = ex["hr"]
        if factors:
            hr = tf.cond(ex["r"] < 1.0, lambda: _imresize_tensor_scale(hr, ex["r"]), lambda: hr)
            hr.set_shape([None, None, 3])
        shape = tf.shape(hr)
        hr = hr[: shape[0] - shape[0] % scale, : shape[1] - shape[1] % scale]
        return {"hr": hr, "lr": deg.bicubic(hr, scale, boundary=boundary)}

    pairs = images.map(make, num_parallel_calls=num_parallel_calls, deterministic=True)
    if factors:
        pairs = pairs.filter(lambda ex: tf.reduce_min(tf.shape(ex["lr"])[:2]) >= lr_patch)
    return pairs


class _CropMaker:
    """``(seed, {'hr', 'lr'}) -> (lr, hr, transform)``: aligned uint8 crops of precomputed whole-image pairs.

    With ``crops=1`` it draws positions and transforms as :class:`_PairMaker` does, so the two give the
    same patches; ``crops=k`` cuts ``k`` patches per image visit at once (``(k, p, p, 3)``), which
    spreads the per-element cost of the ``tf.data`` stages over ``k`` patches.
    """

    def __init__(self, *, scale, lr_patch, augment, crops=1):
        self.s = scale
        self.p = lr_patch
        self.augment = augment
        self.k = crops

    def __call__(self, rand, ex):
        s, p, k = self.s, self.p, self.k
        lr_img, hr_img = ex["lr"], ex["hr"]
        shape = tf.shape(lr_img)
        if k == 1:
            _, draws = _draws(rand)
            y = draws[0] % (shape[0] - p + 1)
            x = draws[1] % (shape[1] - p + 1)
            lr = lr_img[y:y + p, x:x + p]
            hr = hr_img[y * s:(y + p) * s, x * s:(x + p) * s]
            lr.set_shape([p, p, 3])
            hr.set_shape([p * s, p * s, 3])
            transform = draws[2] % 8 if self.augment else tf.constant(0, tf.int32)
            return lr, hr, transform
        seed, _ = _draws(rand)
        draws = tf.random.stateless_uniform([3, k], seed, 0, 1 << 30, dtype=tf.int32)
        y = draws[0] % (shape[0] - p + 1)
        x = draws[1] % (shape[1] - p + 1)

        def crop(img, y0, x0, n):  # k crops n x n at (y0[i], x0[i]): gather rows, then columns
            rows = tf.gather(img, y0[:, None] + tf.range(n))
            return tf.gather(rows, x0[:, None] + tf.range(n), axis=2, batch_dims=1)

        lr = crop(lr_img, y, x, p)
        hr = crop(hr_img, y * s, x * s, p * s)
        lr.set_shape([k, p, p, 3])
        hr.set_shape([k, p * s, p * s, 3])
        transform = draws[2] % 8 if self.augment else tf.zeros([k], tf.int32)
        return lr, hr, transform


class _PairMaker:
    """Builds the per-example ``(seed, image) -> (LR, HR)`` function of :func:`train_dataset`."""

    def __init__(self, *, scale, lr_patch, degradation, sigma, boundary, rescale, noise, jpeg_q, augment):
        self.s = scale
        self.p = lr_patch
        self.degradation = degradation
        self.sigma = sigma
        self.boundary = boundary
        self.rescale = tuple(rescale) if rescale else None
        self.noise = noise
        self.jpeg_q = jpeg_q
        self.augment = augment
        self.m = deg.margin(degradation, scale, sigma)

    def degrade(self, hr, seed):
        if self.degradation == "bicubic":
            return deg.bicubic(hr, self.s, boundary=self.boundary)
        if self.degradation == "gaussian":
            return deg.gaussian_downsample(hr, self.s, self.sigma)
        kernel = deg.div2krk_kernel(seed, scale=2)
        return deg.kernel_downsample(hr, kernel, self.s)

    def random_rescale(self, img, seed):
        """FSRCNN's augmentation: one factor of ``self.rescale`` (uniform), MATLAB bicubic, on a region
        just large enough for the patch and its context (the whole image when too small to shrink)."""
        s, p = self.s, self.p
        hr_need = float((p + 2 * self.m) * s)
        shape = tf.shape(img)
        h, w = shape[0], shape[1]
        seeds = tf.random.experimental.stateless_split(seed, 3)
        idx = tf.random.stateless_uniform([], seeds[0], 0, len(self.rescale), dtype=tf.int32)
        r = tf.gather(tf.constant(self.rescale, tf.float64), idx)
        region = tf.cast(tf.math.ceil(hr_need / r), tf.int32) + 2
        rh, rw = tf.minimum(h, region), tf.minimum(w, region)

        def out_len(n):  # MATLAB's output size, ceil(scale * n) in double precision
            return tf.cast(tf.math.ceil(r * tf.cast(n, tf.float64)), tf.int32)

        fits = tf.logical_and(out_len(rh) >= s * p, out_len(rw) >= s * p)

        def shrink():
            y = tf.random.stateless_uniform([], seeds[1], 0, h - rh + 1, dtype=tf.int32)
            x = tf.random.stateless_uniform([], seeds[2], 0, w - rw + 1, dtype=tf.int32)
            return _imresize_tensor_scale(img[y:y + rh, x:x + rw], r)

        out = tf.cond(tf.logical_and(r < 1.0, fits), shrink, lambda: img)
        out.set_shape([None, None, 3])
        return out

    def __call__(self, rand, ex):
        """One example: uint8 ``(lr, hr)`` patches and the dihedral transform (0..7) to apply later."""
        seed, draws = _draws(rand)
        img = ex["hr"]
        if self.rescale or self.degradation != "bicubic" or self.noise is not None or self.jpeg_q is not None:
            seeds = tf.random.experimental.stateless_split(seed, 6)
        if self.rescale:
            img = self.random_rescale(img, seeds[0])
        s, p, m = self.s, self.p, self.m
        shape = tf.shape(img)
        hl, wl = shape[0] // s, shape[1] // s
        y = draws[0] % (hl - p + 1)
        x = draws[1] % (wl - p + 1)
        y0, x0 = tf.maximum(y - m, 0), tf.maximum(x - m, 0)
        y1, x1 = tf.minimum(y + p + m, hl), tf.minimum(x + p + m, wl)
        region = img[y0 * s:y1 * s, x0 * s:x1 * s]
        lr = self.degrade(region, seeds[1] if self.degradation != "bicubic" else None)
        lr = lr[y - y0:y - y0 + p, x - x0:x - x0 + p]
        hr = img[y * s:(y + p) * s, x * s:(x + p) * s]
        if self.noise is not None:
            sig = tf.random.stateless_uniform([], seeds[2], self.noise[0], self.noise[1] + 1e-9)
            lr = deg.add_gaussian_noise(lr, sig, seeds[3])
        if self.jpeg_q is not None:
            q = tf.random.stateless_uniform([], seeds[4], int(self.jpeg_q[0]), int(self.jpeg_q[1]) + 1, dtype=tf.int32)
            lr = deg.jpeg(lr, q)
        lr.set_shape([p, p, 3])
        hr.set_shape([p * s, p * s, 3])
        transform = draws[2] % 8 if self.augment else tf.constant(0, tf.int32)
        return lr, hr, transform


def _dihedral_perms(n):
    """``(8, n*n)`` int32: source pixel of each output pixel for the 8 dihedral transforms of an ``n x n``
    patch, ordered as ``rot90(k)`` then (odd ``t``) a left-right flip, ``t = 2k + flip``."""
    grid = np.arange(n * n, dtype=np.int32).reshape(n, n)
    perms = []
    for k in range(4):
        r = np.rot90(grid, k)
        perms += [r, r[:, ::-1]]
    return np.stack(perms).reshape(8, n * n)


def _dihedral_batch(x, t):
    """Applies dihedral transform ``t[i]`` (rotation ``t // 2`` x 90 degrees, then a flip if odd) to ``x[i]``.

    One gather of precomputed pixel permutations: a fraction of the cost of making all 8 variants.
    """
    n, c = x.shape[1], x.shape[3]
    perms = tf.constant(_dihedral_perms(n))
    flat = tf.reshape(x, [-1, n * n, c])
    out = tf.gather(flat, tf.gather(perms, t), batch_dims=1)
    return tf.reshape(out, tf.shape(x))


def _check_output_options(channels, degradation, sigma):
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (Y) or 3 (RGB), got {channels!r}")
    if degradation not in deg.DEGRADATIONS:
        raise ValueError(f"unknown degradation {degradation!r}; expected one of {deg.DEGRADATIONS}")
    if degradation == "gaussian" and (sigma is None or sigma <= 0):
        raise ValueError("degradation='gaussian' needs sigma=<std in HR pixels>")


def _check_scale(scale):
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    return int(scale)


def _patch_sizes(scale, patch_size, lr_patch_size):
    if (patch_size is None) == (lr_patch_size is None):
        raise ValueError("give exactly one of patch_size (HR side) or lr_patch_size (LR side)")
    if lr_patch_size is not None:
        return int(lr_patch_size)
    if patch_size % scale:
        raise ValueError(
            f"patch_size={patch_size} is the HR patch side and must be a multiple of scale={scale}; "
            f"use lr_patch_size={patch_size // scale or 1} for an LR side instead")
    return int(patch_size) // scale


def train_dataset(dataset, *, scale, patch_size=None, batch_size, degradation="bicubic", channels=1,
                  augment=True, seed=None, lr_patch_size=None, split="train", data_dir=None, sigma=None,
                  rescale=None, noise_sigma=None, jpeg_quality=None, boundary="symmetric", upsample_lr=False,
                  cache=True, shuffle_buffer=None, repeat=True, patches_per_image=1, drop_remainder=True,
                  num_parallel_calls=AUTOTUNE, precompute_lr=True, patches_per_visit=None):
    """A ``tf.data.Dataset`` of ``(LR, HR)`` float32 batches in [0, 1] for training.

    Args:
      dataset: TFDS name (``'t91'``), folder, ``tf.data.Dataset`` of images, or a list to mix.
      scale: integer upscaling factor.
      patch_size: HR patch side (a multiple of ``scale``). Or give ``lr_patch_size``.
      batch_size: patches per batch.
      degradation: ``'bicubic'`` (MATLAB imresize, default), ``'gaussian'`` (blur with
        ``sigma`` then sub-sample) or ``'kernel'`` (random DIV2KRK kernel per patch; scale 2 or 4).
      channels: 1 (Y of MATLAB YCbCr) or 3 (RGB).
      augment: random 90-degree rotations and flips (the 8 dihedral transforms), same for LR and HR.
      seed: integer for a reproducible stream (shuffle, crops, kernels, noise); ``None`` for random.
      lr_patch_size: LR patch side, instead of ``patch_size``.
      split: TFDS split of named datasets.
      data_dir: TFDS data dir (default ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
      sigma: Gaussian sigma in HR pixels (``degradation='gaussian'``).
      rescale: FSRCNN's rescaling augmentation: ``True`` for factors (1, 0.9, 0.8, 0.7, 0.6),
        or a sequence of factors, drawn uniformly per patch and applied with MATLAB bicubic.
      noise_sigma: optional Gaussian noise on the LR, 0..255 scale; a number or a ``(lo, hi)`` range.
      jpeg_quality: optional JPEG compression of the LR; an int or an inclusive ``(lo, hi)`` range.
      boundary: imresize border rule for bicubic LR: ``'symmetric'`` (current MATLAB) or ``'replicate'``.
      upsample_lr: bicubic-upsample the LR back to HR size (pre-upsampling models: SRCNN, VDSR).
      cache: cache decoded images (and their precomputed LR) in memory (``True``), in a file (a path),
        or not (``False``).
      shuffle_buffer: images in the shuffle buffer (default: all of them, up to 10000, when cached;
        up to 256 otherwise).
      repeat: repeat forever (use ``steps_per_epoch``); ``False`` gives ``patches_per_image`` passes.
      patches_per_image: passes over the images per (finite) epoch (each visit cuts ``patches_per_visit``).
      drop_remainder: drop the last partial batch.
      num_parallel_calls: parallelism of the map.
      precompute_lr: when the degradation is fixed (bicubic, no ``noise_sigma`` or ``jpeg_quality``) and
        ``cache`` is on, make each whole image's LR once (per ``rescale`` factor) and crop aligned pairs from
        it: the per-patch path's bytes for the same crops, many times faster. Memory: the cache holds the
        LR too (``1/scale**2`` of the HR), and with ``rescale`` each factor's version (FSRCNN's five: about
        3.3x the images). ``False`` degrades every patch instead.
      patches_per_visit: on the precomputed path, patches cut from an image each time the shuffled
        stream reaches it (vectorised: the per-element cost of tf.data is shared). Must divide
        ``batch_size``; default: the largest divisor that still leaves at least 16 image visits per batch
        (1 for batches under 32, so a batch of 16 draws 16 images; 8 for FSRCNN's 128).

    Returns:
      ``tf.data.Dataset`` of ``(lr, hr)``: ``(B, p, p, C)`` and ``(B, p*scale, p*scale, C)``
      (``lr`` is ``(B, p*scale, p*scale, C)`` with ``upsample_lr``).
    """
    scale = _check_scale(scale)
    lr_patch = _patch_sizes(scale, patch_size, lr_patch_size)
    _check_output_options(channels, degradation, sigma)
    if degradation == "kernel" and scale not in (2, 4):
        raise ValueError(f"degradation='kernel' (DIV2KRK) supports scale 2 or 4, got {scale}")
    if rescale is True:
        rescale = FSRCNN_RESCALE
    if rescale:
        if any(not (0 < r <= 1) for r in rescale):
            raise ValueError(f"rescale factors must be in (0, 1], got {rescale}")
    maker = _PairMaker(scale=scale, lr_patch=lr_patch, degradation=degradation, sigma=sigma, boundary=boundary,
                       rescale=rescale, noise=_as_range(noise_sigma, "noise_sigma"),
                       jpeg_q=_as_range(jpeg_quality, "jpeg_quality"), augment=augment)
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))

    images = load_images(dataset, split, data_dir=data_dir)
    known = int(images.cardinality().numpy())
    images = _skip_small(images, lr_patch * scale)
    visit = 1
    whole_lr = bool(precompute_lr and cache) and _is_fixed(degradation, maker.noise, maker.jpeg_q)
    if whole_lr:
        images = _whole_pairs(images, scale=scale, boundary=boundary, factors=maker.rescale, lr_patch=lr_patch,
                              num_parallel_calls=num_parallel_calls)
        visit = patches_per_visit or _default_visit(batch_size)
        if batch_size % visit:
            raise ValueError(f"patches_per_visit={visit} must divide batch_size={batch_size}")
        maker = _CropMaker(scale=scale, lr_patch=lr_patch, augment=augment, crops=visit)
    elif patches_per_visit not in (None, 1):
        raise ValueError("patches_per_visit > 1 needs the precomputed path (fixed degradation, cache on, "
                         "precompute_lr=True)")
    if whole_lr and rescale:
        known *= len(rescale)  # one cached pair per image and factor
    if cache:
        path = os.fspath(cache) if isinstance(cache, (str, os.PathLike)) else ""
        if path and whole_lr:  # a cache file holds one scale's LR: never reuse it for another
            path += f".lr_x{scale}_{boundary}" + ("_r" + "-".join(f"{r:g}" for r in rescale) if rescale else "")
        images = images.cache(path)
    # Default buffer: every image when cached (memory is spent on the cache anyway), else up to 256
    # decoded images (DIV2K's 2K images are ~6 MB each).
    cap = 10000 if cache else 256
    buffer = shuffle_buffer or (min(known, cap) if known > 0 else cap)
    images = images.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    images = images.repeat() if repeat else images.repeat(patches_per_image)
    pairs = tf.data.Dataset.zip((tf.data.Dataset.random(seed=seed), images))
    pairs = pairs.map(maker, num_parallel_calls=num_parallel_calls, deterministic=True)

    def finish(lr, hr, transform):  # on whole batches: far fewer ops per patch
        if visit > 1:  # (B / k, k, ...) groups of one image visit -> (B, ...)
            lr = tf.reshape(lr, [-1, lr_patch, lr_patch, 3])
            hr = tf.reshape(hr, [-1, lr_patch * scale, lr_patch * scale, 3])
            transform = tf.reshape(transform, [-1])
        # Y first (per pixel, so it commutes with the transforms): the gathers then move 1 channel, not 3.
        lr, hr = _to_output(lr, hr, channels, False, scale)
        if augment:
            lr, hr = _dihedral_batch(lr, transform), _dihedral_batch(hr, transform)
        if upsample_lr:
            lr = tf.clip_by_value(imresize(lr, float(scale)), 0.0, 1.0)
        return lr, hr

    pairs = pairs.batch(batch_size // visit, drop_remainder=drop_remainder)
    return pairs.map(finish, num_parallel_calls=num_parallel_calls, deterministic=True).prefetch(AUTOTUNE)


# ----------------------------------------------------------------------------- evaluation


def eval_dataset(dataset, *, scale, channels=1, split=None, data_dir=None, degradation="bicubic",
                 use_stored_lr=True, boundary="symmetric", sigma=None, upsample_lr=False, batch_size=1,
                 with_names=False, seed=0):
    """Full-image ``(LR, HR)`` pairs for evaluation, float32 in [0, 1], batched (default 1 image).

    HR is modcropped to a multiple of ``scale``. When the source stores MATLAB
    LR images for ``scale`` (``sr_benchmarks``: ``lr_x{s}``; ``div2k``: ``lr`` of
    its ``*_x{s}`` config; ``div2krk``: ``lr_x2``/``lr_x4``) and ``use_stored_lr``,
    those are returned; otherwise LR is made with ``degradation`` (``boundary``
    for bicubic; ``'kernel'`` uses a fixed per-image kernel from ``seed``).

    Args mirror :func:`train_dataset`; ``split`` defaults to ``test``, then
    ``validation``, then ``train``. ``with_names=True`` yields ``(lr, hr, name)``.
    """
    scale = _check_scale(scale)
    _check_output_options(channels, degradation, sigma)
    stored_key = None
    if isinstance(dataset, str) and not os.path.isdir(dataset):
        import tensorflow_datasets as tfds

        builder = tfds_builder(dataset, data_dir)
        split = split or default_split(builder, train=False)
        feats = builder.info.features
        if use_stored_lr:
            if f"lr_x{scale}" in feats:
                stored_key = f"lr_x{scale}"
            elif "lr" in feats:
                config = builder.builder_config.name if builder.builder_config else ""
                if not config.endswith(f"_x{scale}"):
                    raise ValueError(f"{dataset!r} stores LR for config {config!r}, not x{scale}; "
                                     f"use its *_x{scale} config or use_stored_lr=False")
                stored_key = "lr"
        ds, _, _ = _from_tfds(dataset, split, data_dir, keep=(stored_key,) if stored_key else ())

        def decode(ex):
            out = {"hr": _decode_rgb(ex["hr"]), "name": ex["name"]}
            if stored_key:
                out["lr"] = _decode_rgb(ex[stored_key])
            return out

        images = ds.map(decode, num_parallel_calls=AUTOTUNE)
    else:
        images = load_images(dataset, split, data_dir=data_dir)

    def make(index, ex):
        hr = ex["hr"]
        shape = tf.shape(hr)
        hr = hr[: shape[0] - shape[0] % scale, : shape[1] - shape[1] % scale]
        if stored_key:
            lr = ex["lr"]
        elif degradation == "bicubic":
            lr = deg.bicubic(hr, scale, boundary=boundary)
        elif degradation == "gaussian":
            lr = deg.gaussian_downsample(hr, scale, sigma)
        else:
            kseed = tf.stack([tf.constant(seed, tf.int64), index])
            lr = deg.kernel_downsample(hr, deg.div2krk_kernel(kseed, scale=2), scale)
        lr.set_shape([None, None, 3])
        lr_f, hr_f = _to_output(lr, hr, channels, upsample_lr, scale)
        return (lr_f, hr_f, ex["name"]) if with_names else (lr_f, hr_f)

    pairs = images.enumerate().map(make, num_parallel_calls=AUTOTUNE)
    return pairs.batch(batch_size).prefetch(AUTOTUNE)

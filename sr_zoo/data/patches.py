"""(LR, HR) training pairs in tf.data: HR crops aligned to the scale grid, their degraded LR (per patch, or
precomputed once per whole image for fixed degradations), flips and rotations, and the option checks
of :func:`sr_zoo.data.train_dataset`. The pipeline's docstring (:mod:`sr_zoo.data.pipeline`) explains the scheme."""

import os

import numpy as np
import tensorflow as tf

from sr_zoo.data import degradations as deg
from sr_zoo.data import io as _io
from sr_zoo.image.color import rgb_to_y
from sr_zoo.image.resize import imresize

AUTOTUNE = tf.data.AUTOTUNE


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

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

import os

import numpy as np
import tensorflow as tf

from sr_zoo.data import degradations as deg
from sr_zoo.image.resize import imresize

# The sources and the pair-making steps live in their own modules; their names stay importable from here.
from sr_zoo.data.patches import (  # noqa: F401
    _END_OF_PASS,
    _SmallImages,
    _skip_small,
    _as_range,
    _to_output,
    _imresize_tensor_scale,
    _draws,
    _is_fixed,
    _default_visit,
    _whole_pairs,
    _CropMaker,
    _PairMaker,
    _dihedral_perms,
    _dihedral_batch,
    _check_output_options,
    _check_scale,
    _patch_sizes,
)
from sr_zoo.data.sources import (  # noqa: F401
    AUTOTUNE,
    DatasetNotBuiltError,
    default_data_dir,
    _parse_name,
    build_command,
    _builder_dir,
    tfds_builder,
    _image_key,
    _decode_rgb,
    _from_tfds,
    default_split,
    _pil_decode,
    _from_folder,
    to_rgb_uint8,
    _from_tf_dataset,
    load_images,
)

FSRCNN_RESCALE = (1.0, 0.9, 0.8, 0.7, 0.6)


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

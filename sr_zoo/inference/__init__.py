"""Super-resolving real images: :func:`upscale` (uint8 in, uint8 out) and :func:`predict` (float).

:func:`upscale` follows the SR literature's colour handling: an RGB image
through a Y-channel model is converted to YCbCr with MATLAB ``rgb2ycbcr``
(uint8), the model runs on Y, Cb and Cr are upscaled with MATLAB bicubic, and
the result goes back through ``ycbcr2rgb``; RGB models run on RGB; a grayscale
image goes through a Y model directly (through an RGB model it is replicated
to 3 channels and the output's channel mean is returned). An alpha channel
(grey+alpha, RGBA) is upscaled with MATLAB bicubic.

Every step runs in TensorFlow as ``tf.function``\ s cached per model: the
XLA-compiled ones are traced once per image shape, the model outside XLA once
for every size, so repeated calls on same-sized frames only run compiled
programs and a folder of differently sized images traces the model once. By
default (``jit_compile='auto'``) the colour pipeline (conversion, chroma and
alpha resize, rounding) is compiled with XLA and, on a CPU, the model runs on
TensorFlow's oneDNN kernels, which are faster there than XLA's convolutions; on a GPU it is all one XLA program. Under the JAX
and PyTorch backends (no TensorFlow needed) the colour steps run in numpy
with the same MATLAB arithmetic and the model through ``predict_on_batch``
(compiled by the backend, e.g. XLA under JAX). Images whose activations would not fit in :data:`MEMORY_BUDGET`
(or any image, when ``tile`` is given) are processed in overlapping tiles: each
tile carries ``overlap`` LR pixels of context (by default the model's
``halo``, from :func:`sr_zoo.models.describe`), which makes the stitched
result equal to the whole-image result up to floating-point noise.

>>> model = keras.models.load_model("espcn_x3.keras")
>>> hr = sr_zoo.upscale(model, lr_rgb_uint8)               # (3H, 3W, 3) uint8
>>> hr = sr_zoo.upscale(model, lr_rgb_uint8, tile=128)     # same result, bounded memory

The package: this module holds the API (:func:`upscale`, :func:`predict`, :data:`MEMORY_BUDGET`, and for
:mod:`sr_zoo.deploy` :func:`model_info`, :func:`activation_bytes`, :func:`upscale_batch`,
:func:`upscale_graph`); :mod:`~sr_zoo.inference.color_pipeline` the colour steps,
:mod:`~sr_zoo.inference.tiling` the tiles, :mod:`~sr_zoo.inference.compiled` the per-model cache of
compiled functions and precision copies.
"""

import numpy as np

from sr_zoo.inference import tiling
from sr_zoo.inference.color_pipeline import (
    _check_image,
    _layout,
    _post,
    _post_np,
    _pre,
    _pre_np,
    from_model_output,
    to_model_input,
)
from sr_zoo.inference.compiled import _entry, _forward, _forward_fn, _jit_plan, _tf_backend, _to_numpy, in_precision

#: Bytes of activations one model call may use before :func:`upscale` tiles the image.
MEMORY_BUDGET = 4 * 1024**3


def _predict_tiled(entry, x, tile_hw, overlap, jit_compile):
    """:func:`sr_zoo.inference.tiling.predict_tiled` within :data:`MEMORY_BUDGET` (read at each call)."""
    return tiling.predict_tiled(entry, x, tile_hw, overlap, jit_compile, MEMORY_BUDGET)


def predict(model, lr, *, tile=None, overlap=None, jit_compile="auto", precision="auto"):
    """Runs a zoo model on one float LR image (HxWxC in [0, 1]) and returns the float HR image.

    Same tiling and compilation choices as :func:`upscale`; for LapSRN the
    last pyramid level is returned. No clipping or rounding.

    >>> sr = sr_zoo.inference.predict(model, y_lr[..., None].astype("float32") / 255, tile=96)
    """
    entry = _entry(in_precision(model, precision))
    _, jit_model, _ = _jit_plan(jit_compile)
    lr = np.asarray(lr, dtype=np.float32)
    if lr.ndim != 3 or lr.shape[-1] != entry.info.channels:
        raise ValueError(f"predict: expected an HxWx{entry.info.channels} float image, got shape {lr.shape}")
    if lr.shape[0] == 0 or lr.shape[1] == 0:
        raise ValueError(f"predict: image has zero size {lr.shape}")
    tile_hw, overlap = tiling.plan(entry.info, lr.shape[0], lr.shape[1], tile, overlap, MEMORY_BUDGET)
    if tile_hw is None:
        return _to_numpy(_forward_fn(entry, jit_model, lr[None])(lr[None]))[0]
    return _predict_tiled(entry, lr[None], tile_hw, overlap, jit_model)[0]

def upscale(model, image, *, tile=None, overlap=None, jit_compile="auto", precision="auto"):
    """Super-resolves a uint8 image with a zoo model; returns the uint8 image ``scale`` x larger.

    Args:
      model: a zoo model (``sr_zoo.models.get`` or ``keras.models.load_model``), Y (1-channel) or RGB.
      image: uint8 array HxW, HxWx1 (grey), HxWx2 (grey+alpha), HxWx3 (RGB) or HxWx4 (RGBA).
      tile: ``None`` (whole image when its activations fit in :data:`MEMORY_BUDGET`,
        tiles otherwise), or the tile size in LR pixels (int or ``(height, width)``).
      overlap: LR context around each tile; default and minimum: the model's ``halo``.
      jit_compile: ``'auto'`` (default: the fastest path; on a CPU the colour
        pipeline is XLA-compiled and the model runs on TensorFlow's oneDNN
        kernels, on a GPU everything is one XLA program), ``True`` (one XLA
        program) or ``False`` (no XLA). XLA compiles once per image shape
        (cached); the model outside XLA is traced once for every size.
      precision: ``'auto'`` (default: bfloat16 on GPUs and CPUs with native bfloat16 for EDSR and
        LapSRN, whose Set5 PSNR it keeps within 0.02 dB; float32 otherwise, see
        :mod:`sr_zoo.models.precision`), ``'float32'``, ``'bfloat16'`` or ``'float16'``. The image path
        (last layer, residual adds, colour steps) is float32 in every precision.

    Returns:
      uint8 array with the input's layout at ``scale`` x its height and width.

    Raises:
      ValueError: not uint8, zero size, unsupported channels, bad ``tile``/``overlap``/``jit_compile``.

    >>> hr = sr_zoo.upscale(sr_zoo.models.get("espcn", scale=3), lr)   # untrained: shape demo only
    """
    entry = _entry(in_precision(model, precision))
    jit_color, jit_model, fuse = _jit_plan(jit_compile)
    squeeze = np.asarray(image).ndim == 2
    image = _check_image(image)
    info = entry.info
    mode, color_channels = _layout(image, info.channels)
    tile_hw, overlap = tiling.plan(info, image.shape[0], image.shape[1], tile, overlap, MEMORY_BUDGET)
    key = (mode, color_channels)
    batch = image[None]
    if not _tf_backend():
        x = _pre_np(batch, mode, color_channels)
        sr = _forward_fn(entry, False, x)(x) if tile_hw is None else _predict_tiled(entry, x, tile_hw, overlap, False)
        out = _post_np(_to_numpy(sr), batch, mode, color_channels, info.scale)[0]
        return out[..., 0] if squeeze else out
    if tile_hw is None and fuse:
        fused = entry.function(
            ("fused",) + key,
            lambda img: _post(_forward(entry.model_ref(), _pre(img, mode, color_channels)), img, mode, color_channels, info.scale),
            True,
            batch,
        )
        out = fused(batch)
    else:
        pre = entry.function(("pre",) + key, lambda img: _pre(img, mode, color_channels), jit_color, batch)
        x = pre(batch)
        if tile_hw is None:
            sr = _forward_fn(entry, jit_model, x)(x)
        else:
            sr = _predict_tiled(entry, x.numpy(), tile_hw, overlap, jit_model)
        post = entry.function(
            ("post",) + key, lambda y, img: _post(y, img, mode, color_channels, info.scale), jit_color, sr, batch
        )
        out = post(sr, batch)
    out = out.numpy()[0]
    return out[..., 0] if squeeze else out


# ----------------------------------------------------------------------------- for sr_zoo.deploy


def model_info(model):
    """The :class:`~sr_zoo.models.ModelInfo` of ``model`` as :func:`upscale` sees it (checked: a keras.Model of
    1 or 3 channels; cached with the model's compiled functions)."""
    return _entry(model).info


def activation_bytes(info, height, width):
    """Bytes of live activations for a ``height`` x ``width`` LR input: over :data:`MEMORY_BUDGET`, :func:`upscale`
    tiles the image."""
    return tiling.activation_bytes(info, height, width)


def upscale_batch(model, images, *, jit_compile="auto", name="batch"):
    """:func:`upscale` of a batch of same-sized uint8 images ``(N, H, W, C)`` in one model call (no tiling).

    Uses :func:`upscale`'s colour pipeline and per-model cache of compiled functions (``name`` keeps the
    caller's apart): one trace per batch shape, none per call. ``model`` runs as given (see :func:`in_precision`).
    """
    entry = _entry(model)
    mode, color_channels = _layout(images[0], entry.info.channels)
    jit_color, jit_model, fuse = _jit_plan(jit_compile)
    s = entry.info.scale

    def pre(img):
        return _pre(img, mode, color_channels)

    def post(y, img):
        return _post(y, img, mode, color_channels, s)

    if fuse:
        fused = entry.function((f"{name}_fused", mode), lambda img: post(_forward(entry.model_ref(), pre(img)), img),
                               True, images)
        return fused(images).numpy()
    x = entry.function((f"{name}_pre", mode), pre, jit_color, images)(images)
    y = _forward_fn(entry, jit_model, x)(x)
    return entry.function((f"{name}_post", mode), post, jit_color, y, images)(y, images).numpy()


def upscale_graph(model, images, *, channels, color_channels, scale):
    """The TensorFlow ops of :func:`upscale` (colour pipeline and model) on a uint8 NHWC batch of
    ``color_channels`` colour channels (plus alpha), for tracing into an exported graph (SavedModel).

    ``channels`` and ``scale``: the model's (see :func:`model_info`).
    """
    if channels == 1:
        mode = "y" if color_channels == 3 else "direct"
    else:
        mode = "direct" if color_channels == 3 else "gray_rgb"
    sr = _forward(model, _pre(images, mode, color_channels))
    return _post(sr, images, mode, color_channels, scale)


__all__ = ["upscale", "predict", "in_precision", "MEMORY_BUDGET", "to_model_input", "from_model_output", "model_info",
           "activation_bytes", "upscale_batch", "upscale_graph"]

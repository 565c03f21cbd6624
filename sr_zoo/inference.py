"""Super-resolving real images: :func:`upscale` (uint8 in, uint8 out) and :func:`predict` (float).

:func:`upscale` follows the SR literature's colour handling: an RGB image
through a Y-channel model is converted to YCbCr with MATLAB ``rgb2ycbcr``
(uint8), the model runs on Y, Cb and Cr are upscaled with MATLAB bicubic, and
the result goes back through ``ycbcr2rgb``; RGB models run on RGB; a grayscale
image goes through a Y model directly (through an RGB model it is replicated
to 3 channels and the output's channel mean is returned). An alpha channel
(grey+alpha, RGBA) is upscaled with MATLAB bicubic.

Every step runs in TensorFlow as ``tf.function``\ s traced once per model
and image shape and cached, so repeated calls on same-sized frames only run
compiled programs. By default (``jit_compile='auto'``) the colour pipeline
(conversion, chroma and alpha resize, rounding) is compiled with XLA and, on a
CPU, the model runs on TensorFlow's oneDNN kernels, which are faster there
than XLA's convolutions; on a GPU it is all one XLA program. Under the JAX
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
"""

import math
import weakref

import numpy as np

#: Bytes of activations one model call may use before :func:`upscale` tiles the image.
MEMORY_BUDGET = 4 * 1024**3
# Live float32 activations during a forward pass, relative to the largest one.
_LIVE_FACTOR = 3

_CACHE = weakref.WeakKeyDictionary()
_MAX_FUNCTIONS = 32


class _Entry:
    """Per-model cache: its :class:`~sr_zoo.models.ModelInfo` and compiled functions."""

    def __init__(self, model):
        from sr_zoo.models.analysis import describe

        self.info = describe(model)
        if self.info.channels not in (1, 3):
            raise ValueError(f"upscale: model {model.name!r} takes {self.info.channels} channels; supported: 1 (Y) or 3 (RGB)")
        self.model_ref = weakref.ref(model)
        self.functions = {}

    def function(self, key, python_fn, jit_compile, *arrays):
        """The cached ``tf.function`` for this pipeline and these input shapes (traced and compiled once)."""
        import tensorflow as tf

        key = (key, bool(jit_compile)) + tuple(a.shape for a in arrays)
        if key not in self.functions:
            if len(self.functions) >= _MAX_FUNCTIONS:  # many image sizes: forget the oldest compilation
                self.functions.pop(next(iter(self.functions)))
            _silence_per_shape_tracing_warning()

            def per_shape(*args):
                return python_fn(*args)

            per_shape.__qualname__ = per_shape.__name__ = _PER_SHAPE_NAME
            self.functions[key] = tf.function(per_shape, jit_compile=bool(jit_compile), reduce_retracing=False,
                                              autograph=False)
        return self.functions[key]


_PER_SHAPE_NAME = "sr_zoo_compiled_once_per_image_shape"


class _PerShapeTracingFilter:
    """Drops TensorFlow's "N out of the last N calls ... triggered tf.function retracing" for our functions.

    Each of them is traced exactly once, for one image shape, and cached (that is the point);
    TensorFlow counts traces per Python code object, so a folder of differently sized images
    looked like excessive retracing. Retracing of any other function is still reported.
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and _PER_SHAPE_NAME in message)


def _silence_per_shape_tracing_warning():
    import logging

    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _PerShapeTracingFilter) for f in logger.filters):
        logger.addFilter(_PerShapeTracingFilter())


def _entry(model):
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"upscale: model must be a keras.Model, got {type(model).__name__}")
    entry = _CACHE.get(model)
    if entry is None:
        entry = _CACHE[model] = _Entry(model)
    return entry


_PRECISION_COPIES = weakref.WeakKeyDictionary()  # model -> {precision: its copy in that precision}


def in_precision(model, precision="auto"):
    """``model`` as :func:`upscale` runs it in ``precision``: itself, or a cached copy in another precision.

    ``"auto"`` is :func:`sr_zoo.models.precision.inference_precision`: bfloat16 where the hardware has it
    for the architectures that keep their quality in it, float32 otherwise. The copy is made once per
    model and precision, from the weights the model has then (pass ``"float32"`` for a model still training).
    """
    from sr_zoo.models import precision as model_precision

    _entry(model)  # the model checks
    resolved = model_precision.inference_precision(model, precision)
    copies = _PRECISION_COPIES.setdefault(model, {})
    if resolved not in copies:
        copy = model_precision.with_precision(model, resolved)
        copies[resolved] = None if copy is model else copy  # never a strong reference to the key itself
    return copies[resolved] or model


def _forward(model, x, predict=False):
    # predict_on_batch: the backend's compiled predict step (the non-TensorFlow path).
    y = model.predict_on_batch(x) if predict else model(x, training=False)
    return y[-1] if isinstance(y, (list, tuple)) else y  # LapSRN: the last pyramid level


def _tf_backend():
    import keras

    return keras.backend.backend() == "tensorflow"


def _to_numpy(x):
    import keras

    return x if isinstance(x, np.ndarray) else keras.ops.convert_to_numpy(x)


def _to_uint8(x):
    import tensorflow as tf

    return tf.cast(tf.clip_by_value(tf.math.floor(x * 255.0 + 0.5), 0.0, 255.0), tf.uint8)


def _bicubic_up(image_uint8, scale):
    """MATLAB ``imresize(image, scale)`` (bicubic, uint8) for an integer ``scale``, NHWC, static shape.

    Bit-identical to :func:`sr_zoo.imresize` (same float64 weights, same
    summation order, rounding after each pass) but written as shifted slices
    times per-row weights, one polyphase branch per output phase, instead of
    gathers: at 1080p this is ~10x faster, which matters for the chroma of
    every Y-model frame.
    """
    import tensorflow as tf

    from sr_zoo.image import resize_tf

    height, width = image_uint8.shape[1], image_uint8.shape[2]
    if height is None or width is None or min(height, width) < 4:  # tiny or dynamic: the general path
        s = float(scale)
        return resize_tf.imresize_tf(image_uint8, (s, s), None, "bicubic", True, "symmetric")
    x = tf.cast(image_uint8, tf.float64)
    for axis in (1, 2):  # MATLAB resizes height first when both scales are equal
        x = _bicubic_up_axis(x, axis, int(scale))
        x = tf.clip_by_value(tf.math.floor(x + 0.5), 0.0, 255.0)
    return tf.cast(x, tf.uint8)


def _bicubic_up_axis(x, axis, scale):
    import tensorflow as tf

    from sr_zoo.image import resize as _resize

    length = x.shape[axis]
    out_length = length * scale
    mapped, weights = _resize.contributions(length, out_length, float(scale), "bicubic", True, "symmetric")
    # The unmapped 0-based source indices, computed exactly as contributions() does.
    width, num_taps = _resize.taps(float(scale), "bicubic", True)
    u = np.arange(1, out_length + 1, dtype=np.float64) / scale + 0.5 * (1.0 - 1.0 / scale)
    raw = np.floor(u - width / 2.0).astype(np.int64)[:, None] + np.arange(num_taps)[None, :] - 1
    pad_lo, pad_hi = max(0, -int(raw.min())), max(0, int(raw.max()) - (length - 1))
    padded_index = np.pad(np.arange(length), (pad_lo, pad_hi), mode="symmetric")
    assert np.array_equal(padded_index[raw + pad_lo], mapped), "symmetric padding must match MATLAB's mapping"
    paddings = [[0, 0]] * 4
    paddings[axis] = [pad_lo, pad_hi]
    xp = tf.pad(x, paddings, mode="SYMMETRIC")
    phases = []
    for p in range(scale):
        rel = raw[p::scale] - np.arange(length)[:, None]  # source offset of each tap, per LR row
        w = weights[p::scale]
        acc = None
        for c in range(int(rel.min()), int(rel.max()) + 1):  # ascending source = contributions' tap order
            wv = np.where(rel == c, w, 0.0).sum(axis=1)
            if not wv.any():
                continue  # an all-zero tap adds exactly nothing
            start = pad_lo + c
            term = _slice(xp, axis, start, length)
            shape = [1, 1, 1, 1]
            shape[axis] = length
            term = term * tf.constant(wv.reshape(shape), tf.float64)
            acc = term if acc is None else acc + term
        phases.append(acc)
    out = tf.stack(phases, axis=axis + 1)  # (..., length, scale, ...) -> interleave
    shape = tf.unstack(tf.shape(x))
    shape[axis] = out_length
    return tf.reshape(out, tf.stack(shape))


def _slice(x, axis, start, length):
    import tensorflow as tf

    begin, size = [0, 0, 0, 0], [-1, -1, -1, -1]
    begin[axis], size[axis] = start, length
    return tf.slice(x, begin, size)


def _split(image, color_channels):
    return image[..., :color_channels], (image[..., color_channels:] if image.shape[-1] > color_channels else None)


def _pre(image, mode, color_channels):
    """uint8 NHWC image -> float32 model input in [0, 1]."""
    import tensorflow as tf

    from sr_zoo.image import color

    rgb_or_gray, _ = _split(image, color_channels)
    if mode == "y":
        rgb_or_gray = color.rgb_to_ycbcr(rgb_or_gray)[..., :1]  # MATLAB-rounded uint8 Y
    x = tf.cast(rgb_or_gray, tf.float32) / 255.0
    if mode == "gray_rgb":
        x = tf.concat([x, x, x], axis=-1)
    return x


def _post(sr, image, mode, color_channels, scale):
    """float model output + uint8 NHWC image -> uint8 NHWC result."""
    import tensorflow as tf

    from sr_zoo.image import color

    rgb_or_gray, alpha = _split(image, color_channels)
    if mode == "y":
        cbcr = _bicubic_up(color.rgb_to_ycbcr(rgb_or_gray)[..., 1:], scale)
        out = color.ycbcr_to_rgb(tf.concat([_to_uint8(sr), cbcr], axis=-1))
    elif mode == "gray_rgb":
        out = _to_uint8(tf.reduce_mean(sr, axis=-1, keepdims=True))
    else:
        out = _to_uint8(sr)
    if alpha is not None:
        out = tf.concat([out, _bicubic_up(alpha, scale)], axis=-1)
    return out


def _to_uint8_np(x):
    return np.clip(np.floor(x * np.float32(255.0) + np.float32(0.5)), 0.0, 255.0).astype(np.uint8)


def _bicubic_up_np(image_uint8, scale):
    from sr_zoo.image import imresize

    return np.stack([imresize(im, scale) for im in image_uint8])


def _pre_np(image, mode, color_channels):
    """numpy twin of :func:`_pre` (same MATLAB arithmetic) for backends without TensorFlow."""
    from sr_zoo.image import color

    rgb_or_gray, _ = _split(image, color_channels)
    if mode == "y":
        rgb_or_gray = color.rgb_to_ycbcr(rgb_or_gray)[..., :1]
    x = rgb_or_gray.astype(np.float32) / np.float32(255.0)
    return np.concatenate([x, x, x], axis=-1) if mode == "gray_rgb" else x


def _post_np(sr, image, mode, color_channels, scale):
    """numpy twin of :func:`_post`."""
    from sr_zoo.image import color

    sr = sr.astype(np.float32)
    rgb_or_gray, alpha = _split(image, color_channels)
    if mode == "y":
        cbcr = _bicubic_up_np(color.rgb_to_ycbcr(rgb_or_gray)[..., 1:], scale)
        out = color.ycbcr_to_rgb(np.concatenate([_to_uint8_np(sr), cbcr], axis=-1))
    elif mode == "gray_rgb":
        out = _to_uint8_np(np.mean(sr, axis=-1, keepdims=True))
    else:
        out = _to_uint8_np(sr)
    if alpha is not None:
        out = np.concatenate([out, _bicubic_up_np(alpha, scale)], axis=-1)
    return out


def _layout(image, model_channels):
    """(mode, colour channels) of a checked image for a model: mode 'y' (RGB image, Y model), 'gray_rgb'
    (grey image, RGB model) or 'direct'."""
    color_channels = 1 if image.shape[-1] in (1, 2) else 3
    if model_channels == 1:
        return ("y" if color_channels == 3 else "direct"), color_channels
    return ("direct" if color_channels == 3 else "gray_rgb"), color_channels


def to_model_input(image, channels):
    """The float32 HxWx``channels`` input (in [0, 1]) that a zoo model takes for a uint8 image.

    The conversion :func:`upscale` makes (MATLAB's rgb2ycbcr for a Y model),
    for running the model in another runtime: an exported TFLite or ONNX
    file, a SavedModel without its colour pipeline. :func:`from_model_output`
    is its inverse.

    Args:
      image: uint8 array HxW, HxWx1 (grey), HxWx2 (grey+alpha), HxWx3 (RGB) or HxWx4 (RGBA).
      channels: the model's channels: 1 (Y) or 3 (RGB).

    >>> x = sr_zoo.inference.to_model_input(lr_rgb, channels=1)             # (h, w, 1) Y in [0, 1]
    >>> hr = sr_zoo.inference.from_model_output(tflite_model(x), lr_rgb, scale=3)
    """
    if channels not in (1, 3):
        raise ValueError(f"to_model_input: channels must be 1 (Y) or 3 (RGB), got {channels}")
    image = _check_image(image, "to_model_input")
    mode, color_channels = _layout(image, channels)
    return _pre_np(image[None], mode, color_channels)[0]


def from_model_output(sr, image, scale):
    """The uint8 image :func:`upscale` returns, from a model's float HR output for the LR ``image``.

    A Y output (1 channel) joins the LR image's bicubic (MATLAB ``imresize``)
    CbCr; an alpha channel is upscaled bicubically; values are rounded and
    clipped as MATLAB's ``im2uint8`` does.

    Args:
      sr: float array (scale*H)x(scale*W)x1 or x3, the model's output (in [0, 1]).
      image: the uint8 LR image the input was made from (see :func:`to_model_input`).
      scale: the model's upscaling factor.
    """
    squeeze = np.asarray(image).ndim == 2
    image = _check_image(image, "from_model_output")
    sr = np.asarray(sr)
    expected = (image.shape[0] * scale, image.shape[1] * scale)
    if sr.ndim != 3 or sr.shape[-1] not in (1, 3) or sr.shape[:2] != expected:
        raise ValueError(f"from_model_output: expected a {expected[0]}x{expected[1]}x1 or x3 output for a "
                         f"{image.shape[0]}x{image.shape[1]} image at scale {scale}, got shape {sr.shape}")
    mode, color_channels = _layout(image, sr.shape[-1])
    out = _post_np(sr[None], image[None], mode, color_channels, scale)[0]
    return out[..., 0] if squeeze else out


def _check_image(image, caller="upscale"):
    if hasattr(image, "numpy") and not isinstance(image, np.ndarray):
        image = image.numpy()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"{caller}: image must be uint8 (0..255), got dtype {image.dtype}; use sr_zoo.inference.predict for floats")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"{caller}: image must be HxW or HxWxC, got shape {image.shape}")
    if image.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"{caller}: image has {image.shape[-1]} channels; allowed: 1 (grey), 2 (grey+alpha), 3 (RGB), 4 (RGBA)"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{caller}: image has zero size {image.shape}")
    return image


def _tile_shape(tile):
    if isinstance(tile, (tuple, list)) and len(tile) == 2:
        th, tw = tile
    else:
        th = tw = tile
    for t in (th, tw):
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
            raise ValueError(f"tile must be None, a positive int or (height, width) of positive ints, got {tile!r}")
    return int(th), int(tw)


def _plan(info, height, width, tile, overlap):
    """Returns ((tile_h, tile_w) or None for the whole image, overlap)."""
    if overlap is None:
        overlap = info.halo
    elif isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or overlap < info.halo:
        raise ValueError(
            f"overlap must be an int >= the model's halo ({info.halo} LR pixels) so tiles stitch "
            f"without seams, got {overlap!r}"
        )
    overlap = int(overlap)
    if tile is not None:
        return _tile_shape(tile), overlap
    per_pixel = info.peak_per_lr_pixel * 4 * _LIVE_FACTOR
    if height * width * per_pixel <= MEMORY_BUDGET:
        return None, overlap
    window = int(math.sqrt(MEMORY_BUDGET / per_pixel))
    # Keep at least half of each window's side useful, even if that overshoots the budget a little.
    side = max(window - 2 * overlap, 2 * overlap, 16)
    return (side, side), overlap


def _windows(length, core, overlap):
    """[(core_start, core_stop, window_start)]; every window has the same size, inside the image."""
    size = min(core + 2 * overlap, length)
    out = []
    for start in range(0, length, core):
        stop = min(start + core, length)
        window = min(max(start - overlap, 0), length - size)
        out.append((start, stop, window))
    return out, size


def _predict_tiled(entry, x, tile_hw, overlap, jit_compile):
    """Runs the model on overlapping windows of the NHWC float array ``x`` (batch 1) and stitches."""
    s = entry.info.scale
    _, height, width, _ = x.shape
    rows, wh = _windows(height, tile_hw[0], overlap)
    cols, ww = _windows(width, tile_hw[1], overlap)
    jobs = [(r, c) for r in rows for c in cols]
    window_bytes = wh * ww * entry.info.peak_per_lr_pixel * 4 * _LIVE_FACTOR
    batch = int(max(1, min(len(jobs), MEMORY_BUDGET // max(window_bytes, 1), 16)))
    out = None
    for first in range(0, len(jobs), batch):
        group = jobs[first : first + batch]
        padded = group + [group[-1]] * (batch - len(group))  # same batch shape: no recompilation
        stack = np.concatenate([x[:, r[2] : r[2] + wh, c[2] : c[2] + ww] for r, c in padded], axis=0)
        pred = _to_numpy(_forward_fn(entry, jit_compile, stack)(stack))
        if out is None:
            out = np.empty((1, height * s, width * s, pred.shape[-1]), pred.dtype)
        for k, ((r0, r1, rw), (c0, c1, cw)) in enumerate(group):
            out[0, r0 * s : r1 * s, c0 * s : c1 * s] = pred[k, (r0 - rw) * s : (r1 - rw) * s, (c0 - cw) * s : (c1 - cw) * s]
    return out


_JIT_CHOICES = (True, False, "auto")


def _jit_plan(jit_compile):
    """Returns (jit for the colour pipeline, jit for the model, fuse everything into one program)."""
    if jit_compile not in _JIT_CHOICES:
        raise ValueError(f"jit_compile must be one of {_JIT_CHOICES}, got {jit_compile!r}")
    if not _tf_backend():
        return False, False, False  # the backend compiles predict_on_batch itself
    if jit_compile == "auto":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            return True, True, True
        # On x86 CPUs TensorFlow's oneDNN convolutions beat XLA's (ESPCN 1080p: ~0.25 s vs ~0.36 s;
        # EDSR-baseline 720p: ~1.4 s vs ~1.8 s), while XLA fuses the colour/resize ops best.
        return True, False, False
    return jit_compile, jit_compile, jit_compile


def _forward_fn(entry, jit, batch):
    if not _tf_backend():
        return lambda t: _forward(entry.model_ref(), t, predict=True)
    return entry.function("forward", lambda t: _forward(entry.model_ref(), t), jit, batch)


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
    tile_hw, overlap = _plan(entry.info, lr.shape[0], lr.shape[1], tile, overlap)
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
        program) or ``False`` (no XLA). Each image shape is traced once and cached.
      precision: ``'auto'`` (default: bfloat16 on GPUs and CPUs with native bfloat16 for EDSR, LapSRN
        and ESPCN, whose Set5 PSNR it keeps within 0.02 dB; float32 otherwise, see
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
    tile_hw, overlap = _plan(info, image.shape[0], image.shape[1], tile, overlap)
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


__all__ = ["upscale", "predict", "in_precision", "MEMORY_BUDGET"]

"""The colour pipeline of :func:`sr_zoo.upscale`: uint8 image -> model input (MATLAB rgb2ycbcr for Y models)
and model output -> uint8 image (bicubic chroma and alpha, ycbcr2rgb, MATLAB rounding), in TensorFlow ops
and, for backends without TensorFlow, numpy twins with the same arithmetic."""

import numpy as np


def _to_uint8(x):
    import tensorflow as tf

    return tf.cast(tf.clip_by_value(tf.math.floor(x * 255.0 + 0.5), 0.0, 255.0), tf.uint8)

def _bicubic_up(image_uint8, scale, dtype="float64"):
    """MATLAB ``imresize(image, scale)`` (bicubic, uint8) for an integer ``scale``, NHWC, static shape.

    Bit-identical to :func:`sr_zoo.imresize` (same float64 weights, same
    summation order, rounding after each pass) but written as shifted slices
    times per-row weights, one polyphase branch per output phase, instead of
    gathers: at 1080p this is ~10x faster, which matters for the chroma of
    every Y-model frame. ``dtype="float32"`` (the video YUV path's chroma) computes
    in float32: a value within float32 rounding of a .5 boundary may round the other way.
    """
    import tensorflow as tf

    from sr_zoo.image import resize_tf

    height, width = image_uint8.shape[1], image_uint8.shape[2]
    if height is None or width is None or min(height, width) < 4:  # tiny or dynamic: the general path
        s = float(scale)
        return resize_tf.imresize_tf(image_uint8, (s, s), None, "bicubic", True, "symmetric")
    x = tf.cast(image_uint8, dtype)
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
            term = term * tf.constant(wv.reshape(shape), x.dtype)
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

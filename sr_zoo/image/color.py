"""MATLAB ``rgb2ycbcr`` / ``ycbcr2rgb`` (ITU-R BT.601, Y in [16, 235]) for numpy and TF.

Semantics follow MATLAB's class rules, which is what published SR numbers use:

* uint8 in, uint8 out: values on the 0..255 scale, rounded half away from
  zero and saturated;
* float in, float out: values on the 0..1 scale (Y in [16/255, 235/255]),
  not rounded; ``ycbcr_to_rgb`` clips its float result to [0, 1] as MATLAB does.

Example:

>>> y = sr_zoo.rgb_to_ycbcr(rgb_uint8)[..., 0]        # uint8 Y, as MATLAB's eval scripts use
>>> ycc = sr_zoo.rgb_to_ycbcr(tf.image.convert_image_dtype(rgb, tf.float32))
"""

import numpy as np

# Rows: Y, Cb, Cr. Coefficients for R, G, B in [0, 1] giving values on the 0..255 scale.
RGB_TO_YCBCR = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=np.float64,
)
OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float64)
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)


def _check_channels(shape, fn):
    if len(shape) < 1 or shape[-1] != 3:
        raise ValueError(f"{fn}: expected 3 channels in the last axis, got shape {tuple(shape)}")


def _round_uint8(x):
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def _combine(x, matrix, offset):
    """``matrix @ x + offset`` per pixel, channel by channel (term order r, g, b as MATLAB's imlincomb)."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    return np.stack([r * m[0] + g * m[1] + b * m[2] + o for m, o in zip(matrix, offset)], axis=-1)


def rgb_to_ycbcr(image):
    """RGB to YCbCr with MATLAB ``rgb2ycbcr`` semantics (numpy array or ``tf.Tensor``, ``...x3``)."""
    return _rgb_to(image, RGB_TO_YCBCR, OFFSET, "rgb_to_ycbcr")


def _rgb_to(image, matrix, offset, fn):
    if _is_tf(image):
        return _linear_tf(image, matrix, offset)
    image = np.asarray(image)
    _check_channels(image.shape, fn)
    # MATLAB applies T/255 to the class's own scale; uint8 keeps the 0..255 offset, floats use offset/255.
    if image.dtype == np.uint8:
        return _round_uint8(_combine(image.astype(np.float64), matrix / 255.0, offset))
    if np.issubdtype(image.dtype, np.floating):
        converted = _combine(image.astype(np.float64, copy=False), matrix / 255.0, offset / 255.0)
        return converted.astype(image.dtype, copy=False)
    raise TypeError(f"{fn}: unsupported dtype {image.dtype}; use uint8 or float")


def ycbcr_to_rgb(image):
    """YCbCr to RGB with MATLAB ``ycbcr2rgb`` semantics (numpy array or ``tf.Tensor``, ``...x3``)."""
    if _is_tf(image):
        return _ycbcr_to_rgb_tf(image)
    image = np.asarray(image)
    _check_channels(image.shape, "ycbcr_to_rgb")
    t = YCBCR_TO_RGB * 255.0
    zero = np.zeros(3)
    if image.dtype == np.uint8:
        return _round_uint8(_combine(image.astype(np.float64) - OFFSET, t, zero))
    if np.issubdtype(image.dtype, np.floating):
        out = _combine(image.astype(np.float64) * 255.0 - OFFSET, t, zero) / 255.0
        return np.clip(out, 0.0, 1.0).astype(image.dtype)
    raise TypeError(f"ycbcr_to_rgb: unsupported dtype {image.dtype}; use uint8 or float")


def rgb_to_y(image):
    """Just the Y channel of :func:`rgb_to_ycbcr`, shape ``...x1``; a 1-channel input passes through."""
    if image.shape[-1] == 1:
        return image
    return _rgb_to(image, RGB_TO_YCBCR[:1], OFFSET[:1], "rgb_to_y")


def _is_tf(x):
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and not isinstance(x, np.ndarray) and tf.is_tensor(x)


def _linear_tf(image, matrix, offset):
    """``matrix @ rgb + offset`` on the 0..255 scale; float tensors are on the 0..1 scale."""
    import tensorflow as tf

    _check_channels(image.shape, "rgb_to_ycbcr")
    image = tf.convert_to_tensor(image)
    dtype = image.dtype
    x = tf.cast(image, tf.float64)
    t = tf.constant((matrix / 255.0).T, tf.float64)  # (3, k)
    if dtype == tf.uint8:
        out = _matvec(x, t) + tf.constant(offset, tf.float64)
        return tf.cast(tf.clip_by_value(tf.math.floor(out + 0.5), 0.0, 255.0), tf.uint8)
    if not dtype.is_floating:
        raise TypeError(f"rgb_to_ycbcr: unsupported dtype {dtype.name}; use uint8 or float")
    out = _matvec(x, t) + tf.constant(offset / 255.0, tf.float64)
    return tf.cast(out, dtype)


def _matvec(x, t):
    # Same term order as the numpy path: r*t0 + g*t1 + b*t2.
    return x[..., 0:1] * t[0] + x[..., 1:2] * t[1] + x[..., 2:3] * t[2]


def _ycbcr_to_rgb_tf(image):
    import tensorflow as tf

    _check_channels(image.shape, "ycbcr_to_rgb")
    dtype = image.dtype
    t = tf.constant((YCBCR_TO_RGB * 255.0).T, tf.float64)
    offset = tf.constant(OFFSET, tf.float64)
    x = tf.cast(image, tf.float64)
    if dtype == tf.uint8:
        out = _matvec(x - offset, t)
        return tf.cast(tf.clip_by_value(tf.math.floor(out + 0.5), 0.0, 255.0), tf.uint8)
    if not dtype.is_floating:
        raise TypeError(f"ycbcr_to_rgb: unsupported dtype {dtype.name}; use uint8 or float")
    out = _matvec(x * 255.0 - offset, t) / 255.0
    return tf.cast(tf.clip_by_value(out, 0.0, 1.0), dtype)

"""MATLAB ``imresize``'s arithmetic, shared by the numpy path (:mod:`sr_zoo.image.resize`) and the
TensorFlow ops (:mod:`sr_zoo.image.resize_tf`): kernels, widths, taps, ``contributions``, the border
rule and the output size. Functions taking ``xp`` run with numpy or TensorFlow; this module imports
TensorFlow only when given tensors, and neither of the two resize modules.
"""

import math

import numpy as np

METHODS = ("bicubic", "bilinear", "nearest", "box", "lanczos2", "lanczos3")
BOUNDARIES = ("symmetric", "replicate")

# MATLAB's kernel widths, in input pixels, before antialias widening.
KERNEL_WIDTHS = {
    "bicubic": 4.0,
    "bilinear": 2.0,
    "nearest": 1.0,
    "box": 1.0,
    "lanczos2": 4.0,
    "lanczos3": 6.0,
}

_EPS = np.finfo(np.float64).eps  # MATLAB's eps, used inside its lanczos kernels


def _kernel(method, x, xp):
    """Evaluates MATLAB's interpolation kernel ``method`` at ``x`` with module ``xp``."""
    if method == "bicubic":
        ax = xp.abs(x)
        ax2 = ax * ax
        ax3 = ax2 * ax
        inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * _as(ax <= 1.0, x, xp)
        outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * _as((ax > 1.0) & (ax <= 2.0), x, xp)
        return inner + outer
    if method == "bilinear":
        return (x + 1.0) * _as((x >= -1.0) & (x < 0.0), x, xp) + (1.0 - x) * _as(
            (x >= 0.0) & (x <= 1.0), x, xp
        )
    if method in ("box", "nearest"):
        return _as((x >= -0.5) & (x < 0.5), x, xp)
    if method in ("lanczos2", "lanczos3"):
        a = 2.0 if method == "lanczos2" else 3.0
        f = (xp.sin(math.pi * x) * xp.sin(math.pi * x / a) + _EPS) / (math.pi**2 * x * x / a + _EPS)
        return f * _as(xp.abs(x) < a, x, xp)
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def _as(mask, like, xp):
    if xp is np:
        return mask.astype(like.dtype)
    import tensorflow as tf

    return tf.cast(mask, like.dtype)


def check_method_and_boundary(method, boundary):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if boundary not in BOUNDARIES:
        raise ValueError(f"unknown boundary {boundary!r}; expected one of {BOUNDARIES}")


def taps(scale, method, antialias):
    """Kernel width (input pixels) and number of taps ``P`` MATLAB uses at ``scale``."""
    width = KERNEL_WIDTHS[method]
    if scale < 1 and antialias:
        width = width / scale
    return width, int(math.ceil(width)) + 2


def contributions(in_length, out_length, scale, method="bicubic", antialias=True, boundary="symmetric"):
    """MATLAB's ``contributions``: 0-based source indices and weights, both ``(out_length, P)``.

    Out-of-range indices are already mapped by ``boundary``; weights of each
    row sum to one. Columns MATLAB would drop (all-zero weights) are kept: they
    contribute exactly nothing.
    """
    check_method_and_boundary(method, boundary)
    antialias = antialias and method != "nearest"
    width, num_taps = taps(scale, method, antialias)
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    indices = left[:, None] + np.arange(num_taps, dtype=np.float64)[None, :]  # 1-based
    distance = u[:, None] - indices
    if scale < 1 and antialias:
        weights = scale * _kernel(method, scale * distance, np)
    else:
        weights = _kernel(method, distance, np)
    weights = weights / sum_taps(weights, num_taps)[:, None]
    indices = _map_boundary(indices.astype(np.int64) - 1, in_length, boundary, np)
    return indices, weights


def sum_taps(weights, num_taps):
    """Row sums added tap by tap: numpy and TF then round identically (no pairwise/vector reordering)."""
    total = weights[:, 0]
    for k in range(1, num_taps):
        total = total + weights[:, k]
    return total


def _map_boundary(indices, in_length, boundary, xp):
    """Maps 0-based ``indices`` into ``[0, in_length)`` by MATLAB's rule."""
    if boundary == "replicate":
        return xp.clip(indices, 0, in_length - 1) if xp is np else _tf().clip_by_value(indices, 0, in_length - 1)
    period = 2 * in_length
    if xp is np:
        m = np.mod(indices, period)
        return np.where(m < in_length, m, period - 1 - m)
    tf = _tf()
    m = tf.math.floormod(indices, period)
    return tf.where(m < in_length, m, period - 1 - m)


def _tf():
    import tensorflow as tf

    return tf


def output_size(in_size, scale):
    """MATLAB's output length: ``ceil(scale * in_size)`` in double precision."""
    return int(math.ceil(scale * in_size))

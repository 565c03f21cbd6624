"""TensorFlow ops for :func:`sr_zoo.imresize` (graph-, ``tf.data``- and XLA-safe).

Weights are computed in-graph from the (possibly dynamic) input size, so the
same function serves ``Dataset.map`` over images of varying size and
``tf.function(jit_compile=True)`` with static shapes. uint8 images are
accumulated in float64 and rounded after each pass exactly like the numpy path,
which makes the two bit-identical.
"""

import tensorflow as tf

from sr_zoo.image import resize_math as _np_resize


def _static_or_dynamic(x, axis):
    dim = x.shape[axis]
    return dim if dim is not None else tf.shape(x)[axis]


def _contributions(in_length, out_length, scale, method, antialias, boundary):
    """In-graph twin of :func:`sr_zoo.image.resize.contributions` (float64 weights, int32 indices)."""
    antialias = antialias and method != "nearest"
    base_width = _np_resize.KERNEL_WIDTHS[method]
    shrinking_aa = antialias and _maybe_less_than_one(scale)
    if isinstance(scale, (int, float)):
        width, num_taps = _np_resize.taps(scale, method, antialias)
        scale_t = tf.constant(scale, tf.float64)
        aa = bool(scale < 1 and antialias)
    else:
        scale_t = tf.cast(scale, tf.float64)
        aa_t = tf.logical_and(tf.constant(shrinking_aa), scale_t < 1.0)
        width = tf.where(aa_t, base_width / scale_t, tf.constant(base_width, tf.float64))
        num_taps = tf.cast(tf.math.ceil(width), tf.int32) + 2
        aa = aa_t
    x = tf.range(1, tf.cast(out_length, tf.int32) + 1, dtype=tf.float64)
    u = x / scale_t + 0.5 * (1.0 - 1.0 / scale_t)
    left = tf.math.floor(u - width / 2.0)
    indices = left[:, None] + tf.range(num_taps, dtype=tf.float64)[None, :]
    distance = u[:, None] - indices
    if isinstance(aa, bool):
        if aa:
            weights = scale_t * _np_resize._kernel(method, scale_t * distance, tf)
        else:
            weights = _np_resize._kernel(method, distance, tf)
    else:
        weights = tf.where(
            aa,
            scale_t * _np_resize._kernel(method, scale_t * distance, tf),
            _np_resize._kernel(method, distance, tf),
        )
    if isinstance(num_taps, int):
        weights = weights / _np_resize.sum_taps(weights, num_taps)[:, None]
    else:
        weights = weights / tf.reduce_sum(weights, axis=1, keepdims=True)
    in_length = tf.cast(in_length, tf.int32)
    indices = _np_resize._map_boundary(tf.cast(indices, tf.int32) - 1, in_length, boundary, tf)
    return indices, weights, num_taps


def _maybe_less_than_one(scale):
    return True if not isinstance(scale, (int, float)) else scale < 1


def _resize_axis(x, axis, out_length, scale, method, antialias, boundary, round_uint8):
    """One MATLAB 1-D pass along ``axis`` (1 = height, 2 = width) of NHWC ``x`` (float64/float32)."""
    in_length = _static_or_dynamic(x, axis)
    indices, weights, num_taps = _contributions(in_length, out_length, scale, method, antialias, boundary)
    weights = tf.cast(weights, x.dtype)
    if isinstance(num_taps, int):
        # Accumulate tap by tap, in the numpy path's order, so float64 sums agree bit for bit.
        out = None
        for k in range(num_taps):
            term = tf.gather(x, indices[:, k], axis=axis) * _broadcast(weights[:, k], axis)
            out = term if out is None else out + term
    else:
        gathered = tf.gather(x, indices, axis=axis)  # (..., out, P, ...)
        w = weights[:, :, None, None] if axis == 1 else weights[:, :, None]
        out = tf.reduce_sum(gathered * w, axis=axis + 1)
    if round_uint8:
        out = tf.clip_by_value(tf.math.floor(out + 0.5), 0.0, 255.0)
    return out


def _broadcast(w, axis):
    return w[:, None, None] if axis == 1 else w[:, None]


def imresize_tf(image, scales, output_shape, method, antialias, boundary):
    """See :func:`sr_zoo.imresize`. ``scales``/``output_shape`` come validated."""
    image = tf.convert_to_tensor(image)
    rank = image.shape.rank
    if rank not in (3, 4):
        raise ValueError(f"imresize: tensor must be HxWxC or NxHxWxC, got shape {image.shape}")
    if image.dtype == tf.uint8:
        is_uint8, compute = True, tf.float64
    elif image.dtype.is_floating:
        is_uint8, compute = False, (tf.float64 if image.dtype == tf.float64 else tf.float32)
    else:
        raise TypeError(f"imresize: unsupported dtype {image.dtype.name}; use uint8 or a float type")
    x = image if rank == 4 else image[None]
    x = tf.cast(x, compute)
    in_h, in_w = _static_or_dynamic(x, 1), _static_or_dynamic(x, 2)

    static = isinstance(in_h, int) and isinstance(in_w, int)
    if static and (in_h == 0 or in_w == 0):
        raise ValueError(f"imresize: image has zero size {image.shape}")
    if scales is not None:
        scale_h, scale_w = scales
        out_h = _np_resize.output_size(in_h, scale_h) if isinstance(in_h, int) else _ceil_scaled(in_h, scale_h)
        out_w = _np_resize.output_size(in_w, scale_w) if isinstance(in_w, int) else _ceil_scaled(in_w, scale_w)
        height_first = scale_h <= scale_w
    else:
        out_h = in_h if output_shape[0] is None else int(output_shape[0])
        out_w = in_w if output_shape[1] is None else int(output_shape[1])
        if static:
            scale_h, scale_w = out_h / in_h, out_w / in_w
            height_first = scale_h <= scale_w
        else:
            scale_h = tf.cast(out_h, tf.float64) / tf.cast(in_h, tf.float64)
            scale_w = tf.cast(out_w, tf.float64) / tf.cast(in_w, tf.float64)
            height_first = scale_h <= scale_w

    def run(first_axis):
        passes = {1: (out_h, scale_h), 2: (out_w, scale_w)}
        y = x
        for axis in (first_axis, 3 - first_axis):
            length, scale = passes[axis]
            y = _resize_axis(y, axis, length, scale, method, antialias, boundary, is_uint8)
        return y

    if isinstance(height_first, bool):
        y = run(1 if height_first else 2)
    else:
        y = tf.cond(height_first, lambda: run(1), lambda: run(2))
    y = tf.cast(y, tf.uint8) if is_uint8 else tf.cast(y, image.dtype)
    return y if rank == 4 else y[0]


def _ceil_scaled(length, scale):
    return tf.cast(tf.math.ceil(tf.cast(length, tf.float64) * scale), tf.int32)



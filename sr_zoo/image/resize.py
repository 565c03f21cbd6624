"""MATLAB-compatible ``imresize`` for numpy arrays and TensorFlow tensors.

The SR literature's LR images were made with MATLAB's ``imresize``; anything
else (PIL, OpenCV, ``tf.image.resize``) gives different pixels and lower PSNRs.
This module reproduces MATLAB bit for bit:

* output size ``ceil(scale * size)``;
* kernels of ``imresize.m`` (bicubic with a = -0.5, bilinear, nearest, box,
  lanczos2, lanczos3), widened by ``1/scale`` when shrinking (antialiasing);
* the two border conventions seen in real data: ``'symmetric'`` (current
  MATLAB mirrors out-of-range indices) and ``'replicate'`` (older MATLAB
  clamped them);
* the dimension with the smallest scale first (height first when equal);
* uint8 rounded half away from zero and clipped after *each* 1-D pass.

Example:

>>> import numpy as np, sr_zoo
>>> hr = np.zeros((96, 96, 3), np.uint8)
>>> sr_zoo.imresize(hr, 1 / 3).shape
(32, 32, 3)
"""

import math

import numpy as np

# The kernel arithmetic both paths share (numpy here, TensorFlow in resize_tf) lives in resize_math,
# which imports neither; these names stay importable from here.
from sr_zoo.image.resize_math import (  # noqa: F401
    BOUNDARIES,
    KERNEL_WIDTHS,
    METHODS,
    _kernel,
    _map_boundary,
    check_method_and_boundary,
    contributions,
    output_size,
    sum_taps,
    taps,
)


def _validate_request(shape_hw, scale, output_shape):
    if (scale is None) == (output_shape is None):
        raise ValueError("imresize: give exactly one of `scale` or `output_shape`")
    if scale is not None:
        if isinstance(scale, (tuple, list)):
            if len(scale) != 2:
                raise ValueError(f"imresize: scale must be a number or (scale_h, scale_w), got {scale!r}")
            scales = tuple(float(s) for s in scale)
        else:
            scales = (float(scale), float(scale))
        if not all(s > 0 and math.isfinite(s) for s in scales):
            raise ValueError(f"imresize: scale must be positive and finite, got {scale!r}")
        return scales, None
    if len(output_shape) != 2:
        raise ValueError(f"imresize: output_shape must be (height, width), got {output_shape!r}")
    out = tuple(output_shape)
    for o in out:
        if o is not None and (int(o) != o or o <= 0):
            raise ValueError(f"imresize: output_shape must hold positive integers, got {output_shape!r}")
    return None, out


def _plan(in_hw, scales, output_shape):
    """Returns [(axis, out_length, scale)] in MATLAB's pass order."""
    if scales is None:
        out_hw = tuple(in_hw[i] if output_shape[i] is None else int(output_shape[i]) for i in range(2))
        scales = tuple(out_hw[i] / in_hw[i] for i in range(2))
    else:
        out_hw = tuple(output_size(in_hw[i], scales[i]) for i in range(2))
    if min(out_hw) <= 0:
        raise ValueError(f"imresize: output size {out_hw} from input {in_hw} is empty")
    order = sorted(range(2), key=lambda i: scales[i])  # stable: height first on ties
    return [(axis, out_hw[axis], scales[axis]) for axis in order]


def _imresize_numpy(image, scales, output_shape, method, antialias, boundary):
    if image.ndim not in (2, 3):
        raise ValueError(f"imresize: numpy image must be HxW or HxWxC, got shape {image.shape}")
    if image.dtype == np.uint8:
        is_uint8 = True
    elif np.issubdtype(image.dtype, np.floating):
        is_uint8 = False
    else:
        raise TypeError(f"imresize: unsupported dtype {image.dtype}; use uint8 or a float type")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"imresize: image has zero size {image.shape}")
    out = image.astype(np.float64)
    for axis, out_length, scale in _plan(image.shape[:2], scales, output_shape):
        indices, weights = contributions(out.shape[axis], out_length, scale, method, antialias, boundary)
        moved = np.ascontiguousarray(np.moveaxis(out, axis, 0))  # (L, ...): each tap gathers whole rows
        expand = (slice(None),) + (None,) * (moved.ndim - 1)
        acc = moved[indices[:, 0]]
        acc *= weights[:, 0][expand]
        for k in range(1, indices.shape[1]):  # tap by tap, the same order as the TF path
            tap = moved[indices[:, k]]
            tap *= weights[:, k][expand]
            acc += tap
        out = np.moveaxis(acc, 0, axis)
        if is_uint8:  # uint8 after each pass, as MATLAB (half away from zero, saturated), held in float64
            out = np.clip(np.floor(out + 0.5), 0, 255)
    if is_uint8:
        return out.astype(np.uint8)
    return out.astype(image.dtype if image.dtype != np.float16 else np.float32)


def imresize(image, scale=None, *, output_shape=None, method="bicubic", antialias=True, boundary="symmetric"):
    """Resizes like MATLAB's ``imresize``.

    Args:
      image: numpy array (HxW or HxWxC) or ``tf.Tensor`` (HxWxC or NxHxWxC),
        uint8 or float.
      scale: resize factor (number, or ``(scale_h, scale_w)``); ``1/4`` shrinks by 4.
      output_shape: ``(height, width)`` instead of ``scale``; ``None`` in one
        place keeps that dimension.
      method: ``'bicubic'`` (default), ``'bilinear'``, ``'nearest'``, ``'box'``,
        ``'lanczos2'`` or ``'lanczos3'``.
      antialias: widen the kernel when shrinking, as MATLAB does by default.
      boundary: ``'symmetric'`` (current MATLAB) or ``'replicate'`` (older
        MATLAB, e.g. the SelfExSR benchmark LR images).

    Returns:
      The same kind of object as ``image``: uint8 in gives uint8 out (rounded
      after each pass, like MATLAB), float in gives float out, unclipped.

    Example:

    >>> lr = sr_zoo.imresize(hr_uint8, 1 / 4, boundary="replicate")
    >>> lr_tf = sr_zoo.imresize(tf.constant(hr_uint8), 1 / 4)  # same bytes, in-graph
    """
    check_method_and_boundary(method, boundary)
    if not isinstance(image, np.ndarray) and _is_tf_tensor(image):
        from sr_zoo.image import resize_tf

        scales, out_shape = _validate_request(None, scale, output_shape)
        return resize_tf.imresize_tf(image, scales, out_shape, method, antialias, boundary)
    if not isinstance(image, np.ndarray):
        if isinstance(image, (list, tuple)):
            image = np.asarray(image)
        else:
            raise TypeError(f"imresize: expected a numpy array or tf.Tensor, got {type(image).__name__}")
    scales, out_shape = _validate_request(image.shape[:2], scale, output_shape)
    return _imresize_numpy(image, scales, out_shape, method, antialias, boundary)


def _is_tf_tensor(x):
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and (isinstance(x, (tf.Tensor, tf.Variable)) or tf.is_tensor(x))

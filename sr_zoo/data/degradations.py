"""HR -> LR degradations as TensorFlow ops (run inside ``tf.data`` ``map``).

All functions take a uint8 ``HxWx3`` (or ``HxWx1``) HR tensor of any (dynamic)
size and return a uint8 LR tensor: real LR images are 8-bit, and the stored
benchmark LR images were rounded the same way.

* :func:`bicubic` -- MATLAB ``imresize(hr, 1/s)`` via :func:`sr_zoo.imresize` (bit-exact).
* :func:`gaussian_downsample` -- Gaussian blur then sub-sampling (the ESPCN
  paper's protocol; ``sigma`` configurable). The Gaussian is centred at
  ``(s - 1) / 2`` so LR pixel ``j`` covers HR ``s*j .. s*j + s - 1``, the same
  geometry as MATLAB bicubic.
* :func:`div2krk_kernel` / :func:`kernel_downsample` -- KernelGAN's DIV2KRK random
  anisotropic Gaussian kernels (see :mod:`sr_zoo.data.kernels` for the recipe);
  x4 applies the x2 kernel twice.
* :func:`add_gaussian_noise` and :func:`jpeg` -- optional extra corruption of the LR.

Randomness is stateless: every random function takes a ``seed`` shape ``[2]``
int tensor, so a pipeline is reproducible for a given seed.
"""

import math

import tensorflow as tf

from sr_zoo.data import kernels as _np_kernels
from sr_zoo.image.resize import imresize

DEGRADATIONS = ("bicubic", "gaussian", "kernel")


def _round_uint8(x):
    return tf.cast(tf.clip_by_value(tf.math.floor(x + 0.5), 0.0, 255.0), tf.uint8)


def bicubic(hr, scale, *, boundary="symmetric"):
    """MATLAB ``imresize(hr, 1/scale, 'bicubic')`` on uint8 (rounded after each pass)."""
    return imresize(hr, 1.0 / scale, boundary=boundary)


def _correlate_subsample(x, kernel, scale):
    """``x``: float32 HxWxC; ``kernel``: float32 KxK. Mirror ('symmetric') padding, then every
    ``scale``-th output pixel from the first -- scipy ``correlate(mode='reflect')[::s, ::s]``."""
    k = tf.shape(kernel)[0]
    before = k // 2
    after = k - 1 - before
    padded = tf.pad(x, [[before, after], [before, after], [0, 0]], mode="SYMMETRIC")
    channels = tf.shape(x)[-1]
    filt = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
    y = tf.nn.depthwise_conv2d(padded[None], filt, strides=[1, scale, scale, 1], padding="VALID")
    return y[0]


def gaussian_kernel(sigma, scale, truncate=3.0):
    """Isotropic Gaussian (float32, sums to one) centred ``(scale - 1) / 2`` past the middle tap."""
    shift = (scale - 1) / 2.0
    radius = int(math.ceil(truncate * sigma + shift))
    size = 2 * radius + 1
    c = float(radius) + shift
    ax = tf.range(size, dtype=tf.float32) - c
    g = tf.exp(-0.5 * (ax / sigma) ** 2)
    k = g[:, None] * g[None, :]
    return k / tf.reduce_sum(k)


def gaussian_downsample(hr, scale, sigma):
    """Gaussian blur (``sigma`` in HR pixels) then keep every ``scale``-th pixel; uint8 out."""
    x = tf.cast(hr, tf.float32)
    return _round_uint8(_correlate_subsample(x, gaussian_kernel(sigma, scale), scale))


def div2krk_kernel(seed, *, scale=2, size=_np_kernels.KERNEL_SIZE, lambda_range=_np_kernels.LAMBDA_RANGE,
                   noise_level=_np_kernels.NOISE_LEVEL):
    """A random DIV2KRK x2 kernel (float32 ``size x size``, sums to one) from stateless ``seed``.

    Same distribution as the numpy recipe; the centre of mass is placed by the
    Gaussian's mean (where the generator's spline shift puts it) instead of
    shifting the noisy kernel afterwards.
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3)
    lam = tf.random.stateless_uniform([2], seeds[0], lambda_range[0], lambda_range[1], dtype=tf.float32)
    theta = tf.random.stateless_uniform([], seeds[1], -math.pi, math.pi, dtype=tf.float32)
    noise = tf.random.stateless_uniform([size, size], seeds[2], -noise_level, noise_level, dtype=tf.float32)
    c, s = tf.cos(theta), tf.sin(theta)
    q = tf.stack([tf.stack([c, -s]), tf.stack([s, c])])
    sigma = q @ tf.linalg.diag(lam) @ tf.transpose(q)
    inv = tf.linalg.inv(sigma)
    mean = _np_kernels.kernel_mean(size, scale)[0]
    ax = tf.range(size, dtype=tf.float32) - mean
    dy = ax[:, None] + tf.zeros([1, size])
    dx = ax[None, :] + tf.zeros([size, 1])
    quad = inv[0, 0] * dx * dx + (inv[0, 1] + inv[1, 0]) * dx * dy + inv[1, 1] * dy * dy
    k = tf.exp(-0.5 * quad) * (1.0 + noise)
    return k / tf.reduce_sum(k)


def kernel_downsample(hr, kernel, scale):
    """Blurs uint8 ``hr`` with ``kernel`` and sub-samples by ``scale`` (2 or 4; x4 = the x2 kernel twice)."""
    if scale not in (2, 4):
        raise ValueError(f"kernel degradation supports scale 2 or 4 (DIV2KRK), got {scale}")
    x = _correlate_subsample(tf.cast(hr, tf.float32), kernel, 2)
    if scale == 4:
        x = _correlate_subsample(x, kernel, 2)
    return _round_uint8(x)


def add_gaussian_noise(lr, sigma, seed):
    """Adds N(0, sigma^2) noise (``sigma`` on the 0..255 scale) to uint8 ``lr``; uint8 out."""
    x = tf.cast(lr, tf.float32)
    noise = tf.random.stateless_normal(tf.shape(x), tf.cast(seed, tf.int64), stddev=1.0, dtype=tf.float32)
    return _round_uint8(x + tf.cast(sigma, tf.float32) * noise)


def jpeg(lr, quality):
    """JPEG-compresses uint8 RGB ``lr`` at integer ``quality`` (tensor or int), uint8 out."""
    return tf.image.adjust_jpeg_quality(lr, tf.cast(quality, tf.int32))


def margin(degradation, scale, sigma=None, kernel_size=_np_kernels.KERNEL_SIZE):
    """LR pixels of context a patch needs so it equals the same crop of the whole degraded image."""
    if degradation == "bicubic":
        # The bicubic kernel at 1/s spans +-2s HR pixels around an LR pixel's centre (weight 0 at
        # the ends), so 2 LR pixels of context make the patch exact (tested).
        return 2
    if degradation == "gaussian":
        radius = math.ceil(3.0 * sigma + (scale - 1) / 2.0)
        return math.ceil(radius / scale) + 1
    if degradation == "kernel":
        reach = kernel_size // 2 + 1  # HR pixels of the first x2 pass (+1 for the shifted mean)
        if scale == 4:
            reach += 2 * (kernel_size // 2 + 1)
        return math.ceil(reach / scale) + 1
    raise ValueError(f"unknown degradation {degradation!r}; expected one of {DEGRADATIONS}")

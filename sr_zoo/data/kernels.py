"""KernelGAN's DIV2KRK degradation recipe in numpy (the TFDS builder uses it; the TF twin is in
:mod:`sr_zoo.data.degradations`).

DIV2KRK (Bell-Kligler, Shocher and Irani, NeurIPS 2019) degrades each HR image
with its own random anisotropic Gaussian kernel:

* x2 kernel: 11x11; covariance eigenvalues ``lambda1, lambda2 ~ U(0.6, 5)``,
  rotation ``theta ~ U(-pi, pi)``; every tap multiplied by ``1 + U(-0.25, 0.25)``
  noise; shifted so its centre of mass sits where the sub-sampling grid wants it;
  normalised to sum to one (``assafshocher/BlindSR_dataset_generator``);
* LR = correlate(HR, kernel) (mirror padding), keeping every ``scale``-th pixel
  starting at the first;
* x4 applies the x2 kernel twice, so the x4 ground-truth kernel is
  ``k2 (*) dilate(k2, 2)`` (31x31).
"""

import math

import numpy as np

KERNEL_SIZE = 11
LAMBDA_RANGE = (0.6, 5.0)
NOISE_LEVEL = 0.25


def kernel_mean(size, scale):
    """Where the generator wants the kernel's centre of mass (row, col), 0-based."""
    # BlindSR_dataset_generator: wanted = shape / 2 + 0.5 * (sf - shape % 2).
    c = size / 2.0 + 0.5 * (scale - size % 2)
    return c, c


def random_kernel_params(rng, lambda_range=LAMBDA_RANGE):
    lam1 = rng.uniform(*lambda_range)
    lam2 = rng.uniform(*lambda_range)
    theta = rng.uniform(-math.pi, math.pi)
    return lam1, lam2, theta


def anisotropic_gaussian(size, lam1, lam2, theta, mean, noise=None):
    """``exp(-d^T Sigma^-1 d / 2) * (1 + noise)`` on a ``size x size`` grid, unnormalised."""
    q = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    sigma = q @ np.diag([lam1, lam2]) @ q.T
    inv = np.linalg.inv(sigma)
    # The generator's meshgrid puts x (columns) first: Z[..., 0] = column, Z[..., 1] = row.
    rows, cols = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij")
    dx = cols - mean[1]
    dy = rows - mean[0]
    quad = inv[0, 0] * dx * dx + (inv[0, 1] + inv[1, 0]) * dx * dy + inv[1, 1] * dy * dy
    k = np.exp(-0.5 * quad)
    if noise is not None:
        k = k * (1.0 + noise)
    return k


def div2krk_kernel(rng, scale=2, size=KERNEL_SIZE, lambda_range=LAMBDA_RANGE, noise_level=NOISE_LEVEL):
    """One random DIV2KRK kernel (float64, sums to one) from ``numpy.random.Generator`` ``rng``."""
    from scipy import ndimage

    lam1, lam2, theta = random_kernel_params(rng, lambda_range)
    noise = rng.uniform(-noise_level, noise_level, size=(size, size))
    mu = size // 2 + 0.5 * (scale - size % 2)
    raw = anisotropic_gaussian(size, lam1, lam2, theta, (mu, mu), noise)
    wanted = np.array(kernel_mean(size, scale))
    shift = wanted - np.array(ndimage.center_of_mass(raw))
    raw = ndimage.shift(raw, shift)
    return raw / np.sum(raw)


def x4_kernel_from_x2(k2):
    """The single kernel equivalent to applying ``k2`` twice with x2 sub-sampling: ``k2 (*) dilate(k2)``."""
    from scipy import signal

    n = k2.shape[0]
    dilated = np.zeros((2 * n - 1, 2 * n - 1), k2.dtype)
    dilated[::2, ::2] = k2
    return signal.convolve2d(dilated, k2, mode="full")


def blur_downsample(image, kernel, scale):
    """``correlate(image, kernel)`` with mirror padding, then every ``scale``-th pixel from the first.

    ``image``: HxWxC float or uint8 (treated as float); returns float64.
    """
    from scipy import ndimage

    x = np.asarray(image, np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    out = np.stack([ndimage.correlate(x[:, :, c], kernel, mode="reflect") for c in range(x.shape[2])], axis=2)
    return out[::scale, ::scale]


def degrade_div2krk(hr, rng, scales=(2, 4)):
    """Applies the DIV2KRK recipe to uint8 RGB ``hr`` (modcropped to a multiple of 4 by the caller).

    Returns ``{'kernel_x2', 'lr_x2', 'kernel_x4', 'lr_x4'}`` (uint8 LR, float32 kernels).
    """
    k2 = div2krk_kernel(rng, scale=2)
    out = {}
    lr2 = blur_downsample(hr, k2, 2)
    if 2 in scales:
        out["kernel_x2"] = k2.astype(np.float32)
        out["lr_x2"] = np.clip(np.floor(lr2 + 0.5), 0, 255).astype(np.uint8)
    if 4 in scales:
        lr4 = blur_downsample(lr2, k2, 2)  # the x2 kernel twice, no rounding in between
        out["kernel_x4"] = x4_kernel_from_x2(k2).astype(np.float32)
        out["lr_x4"] = np.clip(np.floor(lr4 + 0.5), 0, 255).astype(np.uint8)
    return out

"""PSNR and SSIM the way the SR literature computes them.

The protocol (SRCNN, VDSR, LapSRN, EDSR's benchmark tables; BasicSR's
``calculate_psnr(..., test_y_channel=True)``): convert the uint8 RGB images to
the Y channel of YCbCr with MATLAB ``rgb2ycbcr`` on doubles in [0, 1] (Y is
not rounded back to uint8: the rounded variant lands about 0.02 dB lower than
the published bicubic tables), shave
``crop_border`` pixels (usually the scale) from every side, and compare on the
0..255 scale. SSIM is Wang et al.'s: 11x11 Gaussian window, sigma 1.5,
K = (0.01, 0.03), L = 255, 'valid' filtering, mean of the map.

Example:

>>> sr_zoo.metrics.psnr(hr, sr, crop_border=4)          # Y, crop 4
>>> sr_zoo.metrics.psnr(hr, sr, crop_border=4, y_channel=False)  # RGB, crop 4
>>> psnr, ssim = sr_zoo.metrics.psnr_ssim(hr, sr, crop_border=4)  # both, from one Y conversion

``psnr_tf`` / ``ssim_tf`` are batched TensorFlow versions, ``psnr_ops`` /
``ssim_ops`` the same in ``keras.ops`` (every backend), and :class:`PSNR` /
:class:`SSIM` are Keras metrics (on ``keras.ops``) for training on float images in [0, 1].
"""

import keras
import numpy as np

from sr_zoo.image.color import RGB_TO_YCBCR, rgb_to_y

RGB_TO_Y = RGB_TO_YCBCR[0]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def describe(crop_border, y_channel):
    """A short label such as ``'Y, crop 4'`` to print beside every number."""
    return f"{'Y' if y_channel else 'RGB'}, crop {crop_border}"


def _prepare(hr, sr, crop_border, y_channel, fn):
    hr = np.asarray(hr)
    sr = np.asarray(sr)
    if hr.shape != sr.shape:
        raise ValueError(f"{fn}: images differ in shape: hr {hr.shape} vs sr {sr.shape}")
    if hr.dtype != np.uint8 or sr.dtype != np.uint8:
        raise TypeError(f"{fn}: expected uint8 images, got {hr.dtype} and {sr.dtype}")
    if hr.ndim == 2:
        hr, sr = hr[..., None], sr[..., None]
    if hr.ndim != 3 or hr.shape[-1] not in (1, 3):
        raise ValueError(f"{fn}: expected HxW, HxWx1 or HxWx3 images, got shape {hr.shape}")
    crop_border = int(crop_border)
    if crop_border < 0 or 2 * crop_border >= min(hr.shape[:2]):
        raise ValueError(f"{fn}: crop_border={crop_border} leaves nothing of a {hr.shape[:2]} image")
    if crop_border:  # before the colour conversion, which is per pixel: less to convert
        hr = hr[crop_border:-crop_border, crop_border:-crop_border]
        sr = sr[crop_border:-crop_border, crop_border:-crop_border]
    hr, sr = hr.astype(np.float64), sr.astype(np.float64)
    if y_channel and hr.shape[-1] == 3:
        hr, sr = _y_255(hr), _y_255(sr)
    return hr, sr


def _y_255(rgb_255):
    """Unrounded Y on the 0..255 scale of a float RGB image on the 0..255 scale."""
    return rgb_to_y(rgb_255 / 255.0) * 255.0


def psnr(hr, sr, *, crop_border=0, y_channel=True):
    """PSNR in dB of uint8 images (RGB ``HxWx3`` or grayscale), on Y by default.

    Identical images give ``inf``.
    """
    return _psnr(*_prepare(hr, sr, crop_border, y_channel, "psnr"))


def _psnr(hr, sr):
    mse = np.mean((hr - sr) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def psnr_ssim(hr, sr, *, crop_border=0, y_channel=True):
    """``(psnr(...), ssim(...))`` of the same pair, converting it once (what benchmark tables need)."""
    hr, sr = _prepare(hr, sr, crop_border, y_channel, "psnr_ssim")
    return _psnr(hr, sr), _ssim(hr, sr)


def _gaussian_1d():
    ax = np.arange(SSIM_WINDOW, dtype=np.float64) - (SSIM_WINDOW - 1) / 2.0
    g = np.exp(-(ax**2) / (2 * SSIM_SIGMA**2))
    return g / g.sum()  # outer(g, g) is MATLAB's fspecial('gaussian', 11, 1.5)


def _filter_valid(x, g):
    """Separable 2-D Gaussian with 'valid' borders (MATLAB ``filter2(w, x, 'valid')``)."""
    from scipy.ndimage import correlate1d

    r = SSIM_WINDOW // 2
    y = correlate1d(correlate1d(x, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    return y[r:-r, r:-r]


def ssim(hr, sr, *, crop_border=0, y_channel=True):
    """SSIM (Wang et al. 2004) of uint8 images, on Y by default; RGB images average their channels."""
    return _ssim(*_prepare(hr, sr, crop_border, y_channel, "ssim"))


def _ssim(hr, sr):
    if min(hr.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"ssim: image {hr.shape[:2]} after cropping is smaller than the {SSIM_WINDOW}x{SSIM_WINDOW} window")
    w = _gaussian_1d()
    c1 = (SSIM_K1 * 255.0) ** 2
    c2 = (SSIM_K2 * 255.0) ** 2
    values = []
    for ch in range(hr.shape[-1]):
        a, b = hr[..., ch], sr[..., ch]
        mu_a, mu_b = _filter_valid(a, w), _filter_valid(b, w)
        var_a = _filter_valid(a * a, w) - mu_a**2
        var_b = _filter_valid(b * b, w) - mu_b**2
        cov = _filter_valid(a * b, w) - mu_a * mu_b
        ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
        values.append(ssim_map.mean())
    return float(np.mean(values))


# ----------------------------------------------------------------------------- TensorFlow


def _prepare_tf(hr, sr, crop_border, y_channel):
    """Batched NHWC tensors (uint8 on 0..255, or float on 0..1) to float32 on the 0..255 scale."""
    import tensorflow as tf

    hr = tf.convert_to_tensor(hr)
    sr = tf.convert_to_tensor(sr)
    if hr.shape.rank != 4 or sr.shape.rank != 4:
        raise ValueError(f"expected NHWC batches, got shapes {hr.shape} and {sr.shape}")

    def to_01(x):
        return tf.cast(x, tf.float32) / 255.0 if x.dtype == tf.uint8 else tf.cast(x, tf.float32)

    hr, sr = to_01(hr), to_01(sr)
    if y_channel and hr.shape[-1] == 3:
        hr, sr = rgb_to_y(hr), rgb_to_y(sr)
    hr, sr = hr * 255.0, sr * 255.0
    if crop_border:
        hr = hr[:, crop_border:-crop_border, crop_border:-crop_border, :]
        sr = sr[:, crop_border:-crop_border, crop_border:-crop_border, :]
    return hr, sr


def psnr_tf(hr, sr, *, crop_border=0, y_channel=True):
    """Per-image PSNR (shape ``(N,)``) of NHWC batches: uint8 on 0..255 or float on 0..1.

    Same protocol as :func:`psnr` (unrounded Y), in float32.
    """
    import tensorflow as tf

    hr, sr = _prepare_tf(hr, sr, crop_border, y_channel)
    return tf.image.psnr(hr, sr, max_val=255.0)


def ssim_tf(hr, sr, *, crop_border=0, y_channel=True):
    """Per-image SSIM (shape ``(N,)``), same conventions as :func:`psnr_tf` (``tf.image.ssim``'s window)."""
    import tensorflow as tf

    hr, sr = _prepare_tf(hr, sr, crop_border, y_channel)
    return tf.image.ssim(hr, sr, max_val=255.0, filter_size=SSIM_WINDOW, filter_sigma=SSIM_SIGMA, k1=SSIM_K1, k2=SSIM_K2)


# ----------------------------------------------------------------------------- keras.ops (every backend)


def _prepare_ops(hr, sr, crop_border, y_channel):
    """``keras.ops`` twin of :func:`_prepare_tf` (float32 throughout: JAX has no float64 by default)."""
    hr, sr = keras.ops.convert_to_tensor(hr), keras.ops.convert_to_tensor(sr)
    if len(hr.shape) != 4 or len(sr.shape) != 4:
        raise ValueError(f"expected NHWC batches, got shapes {hr.shape} and {sr.shape}")

    def to_01(x):
        is_uint8 = keras.backend.standardize_dtype(x.dtype) == "uint8"
        x = keras.ops.cast(x, "float32")
        return x / 255.0 if is_uint8 else x

    hr, sr = to_01(hr), to_01(sr)
    if y_channel and hr.shape[-1] == 3:
        w = (RGB_TO_Y / 255.0).astype("float32")
        hr = keras.ops.sum(hr * w, axis=-1, keepdims=True) + 16.0 / 255.0
        sr = keras.ops.sum(sr * w, axis=-1, keepdims=True) + 16.0 / 255.0
    hr, sr = hr * 255.0, sr * 255.0
    if crop_border:
        hr = hr[:, crop_border:-crop_border, crop_border:-crop_border, :]
        sr = sr[:, crop_border:-crop_border, crop_border:-crop_border, :]
    return hr, sr


def psnr_ops(hr, sr, *, crop_border=0, y_channel=True):
    """Per-image PSNR (shape ``(N,)``) in ``keras.ops``; same conventions as :func:`psnr_tf`."""
    hr, sr = _prepare_ops(hr, sr, crop_border, y_channel)
    mse = keras.ops.mean(keras.ops.square(hr - sr), axis=(1, 2, 3))
    return 10.0 * keras.ops.log10(255.0**2 / mse)


def _gaussian_window(channels):
    x = np.arange(SSIM_WINDOW, dtype=np.float64) - (SSIM_WINDOW - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * SSIM_SIGMA**2))
    g /= g.sum()
    return np.tile(np.outer(g, g)[:, :, None, None], (1, 1, channels, 1)).astype("float32")


def ssim_ops(hr, sr, *, crop_border=0, y_channel=True):
    """Per-image SSIM (shape ``(N,)``) in ``keras.ops``; same conventions as :func:`ssim_tf`."""
    hr, sr = _prepare_ops(hr, sr, crop_border, y_channel)
    window = keras.ops.convert_to_tensor(_gaussian_window(hr.shape[-1]))

    def blur(x):
        return keras.ops.depthwise_conv(x, window, strides=1, padding="valid")

    c1, c2 = (SSIM_K1 * 255.0) ** 2, (SSIM_K2 * 255.0) ** 2
    mu_a, mu_b = blur(hr), blur(sr)
    var_a = blur(hr * hr) - mu_a**2
    var_b = blur(sr * sr) - mu_b**2
    cov = blur(hr * sr) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return keras.ops.mean(ssim_map, axis=(1, 2, 3))


class _ImageQualityMetric(keras.metrics.Mean):
    """Mean over images of a per-image quality score; predictions are clipped to [0, 1]."""

    fn = None

    def __init__(self, crop_border=0, y_channel=True, name=None, dtype=None, **kwargs):
        super().__init__(name=name or self.default_name, dtype=dtype, **kwargs)
        self.crop_border = int(crop_border)
        self.y_channel = bool(y_channel)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = keras.ops.clip(keras.ops.cast(y_pred, "float32"), 0.0, 1.0)
        y_true = keras.ops.cast(y_true, "float32")
        values = type(self).fn(y_true, y_pred, crop_border=self.crop_border, y_channel=self.y_channel)
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(crop_border=self.crop_border, y_channel=self.y_channel)
        return config


@keras.saving.register_keras_serializable(package="sr_zoo")
class PSNR(_ImageQualityMetric):
    """Keras metric: mean PSNR (dB) of float images in [0, 1], Y channel and ``crop_border`` by default.

    >>> model.compile(optimizer="adam", loss="mse", metrics=[sr_zoo.metrics.PSNR(crop_border=3)])
    """

    default_name = "psnr"
    fn = staticmethod(psnr_ops)


@keras.saving.register_keras_serializable(package="sr_zoo")
class SSIM(_ImageQualityMetric):
    """Keras metric: mean SSIM of float images in [0, 1] (same conventions as :class:`PSNR`)."""

    default_name = "ssim"
    fn = staticmethod(ssim_ops)

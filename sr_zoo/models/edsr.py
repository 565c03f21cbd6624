"""EDSR (Lim et al., CVPRW 2017): wide residual network without batch norm, sub-pixel upsampler.

Mean shift (subtract the training set's mean colour), a 3x3 head convolution,
``num_blocks`` residual blocks (conv-ReLU-conv, scaled by ``res_scale``, no
batch norm), a 3x3 body convolution with a global skip from the head, a
sub-pixel upsampler (x2 and x3: one 3x3 convolution to ``scale**2 * filters``
channels and a shuffle; x4: two x2 stages), a 3x3 ``"reconstruction"``
convolution to the image and the mean added back.

Presets (parameter counts for RGB):

* ``'baseline'``: 16 blocks, 64 filters, no residual scaling (x2 1.37M, x4 1.52M);
* ``'full'``: 32 blocks, 256 filters, residual scaling 0.1 (x4 43.1M);
* ``'tiny'``: 0 blocks, 16 filters; pass ``filters`` from 4 to 64 for the
  phone-sized variants (``filters=4`` at RGB x2 has 963 parameters).

``mean`` defaults to DIV2K's RGB mean (0.4488, 0.4371, 0.4040) on the 0..1
scale, or its MATLAB Y value for ``channels=1``.

>>> model = sr_zoo.models.get("edsr", scale=4, channels=3)                 # baseline
>>> model = sr_zoo.models.get("edsr", scale=2, channels=3, preset="tiny", filters=4)
"""

import keras
import numpy as np

from sr_zoo.image.color import OFFSET, RGB_TO_YCBCR
from sr_zoo.models import layers

SCALES = (2, 3, 4)
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)
# The same mean colour's Y (MATLAB rgb2ycbcr, 0..1 scale), for Y-channel models.
DIV2K_Y_MEAN = float((RGB_TO_YCBCR[0] @ np.asarray(DIV2K_RGB_MEAN) + OFFSET[0]) / 255.0)
DEFAULTS = {"num_blocks": 16, "filters": 64, "res_scale": 1.0, "mean": None}
PRESETS = {
    "baseline": {"num_blocks": 16, "filters": 64, "res_scale": 1.0},
    "full": {"num_blocks": 32, "filters": 256, "res_scale": 0.1},
    "tiny": {"num_blocks": 0, "filters": 16, "res_scale": 1.0},
}
DEFAULT_PRESET = "baseline"
OPTIONS = {
    "num_blocks": "residual blocks (int >= 0)",
    "filters": "feature channels (positive int; 4..64 for the tiny variants)",
    "res_scale": "residual scaling factor (float > 0)",
    "mean": "per-channel mean on the 0..1 scale, or None for DIV2K's",
}


def build(scale, channels, *, num_blocks, filters, res_scale, mean, name=None):
    """Returns the EDSR functional model; see :func:`sr_zoo.models.get` for the public entry point."""
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 0:
        raise ValueError(f"edsr: num_blocks must be an int >= 0, got {num_blocks!r}")
    if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
        raise ValueError(f"edsr: filters must be a positive int, got {filters!r}")
    if not isinstance(res_scale, (int, float)) or not res_scale > 0:
        raise ValueError(f"edsr: res_scale must be a float > 0, got {res_scale!r}")
    if mean is None:
        mean = DIV2K_RGB_MEAN if channels == 3 else (DIV2K_Y_MEAN,) * channels
    mean = tuple(float(m) for m in np.ravel(mean))
    if len(mean) != channels:
        raise ValueError(f"edsr: mean must hold {channels} values (one per channel), got {len(mean)}")
    conv = dict(padding="same")

    lr = keras.Input((None, None, channels), name="lr")
    x = layers.MeanShift(mean, sign=-1, name="mean_sub")(lr)
    head = keras.layers.Conv2D(filters, 3, name="head", **conv)(x)
    x = head
    for i in range(1, num_blocks + 1):
        r = keras.layers.Conv2D(filters, 3, activation="relu", name=f"block{i}_conv1", **conv)(x)
        r = keras.layers.Conv2D(filters, 3, name=f"block{i}_conv2", **conv)(r)
        if res_scale != 1:
            r = layers.ResidualScaling(res_scale, name=f"block{i}_scale")(r)
        x = keras.layers.Add(name=f"block{i}_add")([x, r])
    x = keras.layers.Conv2D(filters, 3, name="body_conv", **conv)(x)
    x = keras.layers.Add(name="global_skip")([head, x])
    stages = [3] if scale == 3 else [2] * (scale.bit_length() - 1)
    for j, r in enumerate(stages, start=1):
        x = keras.layers.Conv2D(r * r * filters, 3, name=f"upsample_conv{j}", **conv)(x)
        x = layers.SubPixel(r, name=f"upsample_shuffle{j}")(x)
    x = keras.layers.Conv2D(channels, 3, name="reconstruction", **conv)(x)
    sr = layers.MeanShift(mean, sign=1, name="mean_add")(x)
    return keras.Model(lr, sr, name=name or f"edsr_b{num_blocks}_f{filters}_x{scale}")

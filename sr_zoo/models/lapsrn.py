"""LapSRN (Lai et al., CVPR 2017): progressive Laplacian-pyramid super-resolution.

``log2(scale)`` levels, each doubling the resolution. Level ``k`` has a
feature branch of ``depth`` 3x3 convolutions (``filters`` channels, LeakyReLU
with ``negative_slope`` 0.2), a 2x upsampling of the features, a 3x3
convolution predicting the level's residual, and a 2x upsampling of the image;
the level's output is upsampled image + residual, and the next level starts
from the upsampled features and that output. The first level starts with a 3x3
convolution from the image to ``filters`` channels (``"input_conv"``).

Upsampling is by 4x4 stride-2 transposed convolutions initialised as bilinear
upsampling (the paper; ``upsampling="deconv"``) or by sub-pixel convolution
(``upsampling="subpixel"``: a 3x3 convolution to 4x the channels and
:class:`~sr_zoo.models.layers.SubPixel`).

The model returns every level's output, ``[x2, x4, ...]`` (layers
``"sr_x2"``, ``"sr_x4"``, ...), so each can carry its own (Charbonnier) loss as
in the paper; ``outputs="last"`` returns only the final one.

>>> model = sr_zoo.models.get("lapsrn", scale=4)                   # outputs [x2, x4]
>>> model = sr_zoo.models.get("lapsrn", scale=8, outputs="last")
"""

import keras

from sr_zoo.models import layers

SCALES = (2, 4, 8)
UPSAMPLING = ("deconv", "subpixel")
OUTPUTS = ("all", "last")
DEFAULTS = {"depth": 10, "filters": 64, "negative_slope": 0.2, "upsampling": "deconv", "outputs": "all"}
PRESETS = {"lapsrn": {}}
DEFAULT_PRESET = "lapsrn"
OPTIONS = {
    "depth": "convolutions per level (positive int)",
    "filters": "feature channels (positive int)",
    "negative_slope": "LeakyReLU slope (float >= 0)",
    "upsampling": f"one of {UPSAMPLING}",
    "outputs": f"one of {OUTPUTS}: every level's output, or only the last",
}


def build(scale, channels, *, depth, filters, negative_slope, upsampling, outputs, name=None):
    """Returns the LapSRN functional model; see :func:`sr_zoo.models.get` for the public entry point."""
    for key, value in (("depth", depth), ("filters", filters)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"lapsrn: {key} must be a positive int, got {value!r}")
    if not isinstance(negative_slope, (int, float)) or negative_slope < 0:
        raise ValueError(f"lapsrn: negative_slope must be a float >= 0, got {negative_slope!r}")
    if upsampling not in UPSAMPLING:
        raise ValueError(f"lapsrn: upsampling must be one of {UPSAMPLING}, got {upsampling!r}")
    if outputs not in OUTPUTS:
        raise ValueError(f"lapsrn: outputs must be one of {OUTPUTS}, got {outputs!r}")
    conv = dict(padding="same", kernel_initializer="he_normal")
    slope = float(negative_slope)

    def up(x, out_channels, layer_name, use_bias):
        if upsampling == "deconv":
            return layers.SubPixelConv2DTranspose(
                out_channels,
                4,
                strides=2,
                padding="same",  # with a 4x4 kernel: bilinear taps land on the half-pixel grid
                use_bias=use_bias,
                kernel_initializer=layers.BilinearUpsampling(),
                name=layer_name,
            )(x)
        x = keras.layers.Conv2D(4 * out_channels, 3, use_bias=use_bias, name=f"{layer_name}_conv", **conv)(x)
        return layers.SubPixel(2, name=layer_name)(x)

    lr = keras.Input((None, None, channels), name="lr")
    features = keras.layers.Conv2D(filters, 3, name="input_conv", **conv)(lr)
    features = keras.layers.LeakyReLU(slope, name="input_conv_lrelu")(features)
    image = lr
    results = []
    levels = scale.bit_length() - 1
    for level in range(1, levels + 1):
        tag = f"level{level}"
        for i in range(1, depth + 1):
            features = keras.layers.Conv2D(filters, 3, name=f"{tag}_conv{i}", **conv)(features)
            features = keras.layers.LeakyReLU(slope, name=f"{tag}_conv{i}_lrelu")(features)
        features = up(features, filters, f"{tag}_feature_up", use_bias=True)
        features = keras.layers.LeakyReLU(slope, name=f"{tag}_feature_up_lrelu")(features)
        residual = keras.layers.Conv2D(channels, 3, name=f"{tag}_residual", **conv)(features)
        image = up(image, channels, f"{tag}_image_up", use_bias=False)
        image = keras.layers.Add(name=f"sr_x{2**level}")([image, residual])
        results.append(image)
    model_outputs = results if outputs == "all" else results[-1]
    return keras.Model(lr, model_outputs, name=name or f"lapsrn_d{depth}_x{scale}")

"""FSRCNN (Dong et al., ECCV 2016): hourglass network in LR space with a final deconvolution.

Feature extraction (5x5, d), shrinking (1x1, s), ``m`` mapping layers
(3x3, s), expanding (1x1, d), each followed by a per-channel PReLU, and a 9x9
``Conv2DTranspose`` with stride = scale and ``'same'`` padding, so the output
is exactly ``scale`` x the input (a
:class:`~sr_zoo.models.layers.SubPixelConv2DTranspose`: the same layer and
weights, computed as a sub-pixel convolution because CPU transposed
convolutions are slow). Presets: ``'fsrcnn'`` = FSRCNN(56, 12, 4)
(12,464 weights without biases and PReLU) and ``'fsrcnn-s'`` =
FSRCNN-s(32, 5, 1) (3,937). Convolutions start from He et al.'s
initialisation, PReLU slopes from 0.25, the deconvolution from a Gaussian
with standard deviation 0.001, as in the paper.

The deconvolution is named ``"reconstruction"``: the paper trains it with a
10x smaller learning rate (and it is the only layer to change when
fine-tuning a trained model to another scale).

>>> model = sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn-s")
>>> model = sr_zoo.models.get("fsrcnn", scale=2, d=48, s=12, m=3)
"""

import keras

from sr_zoo.models import layers

SCALES = (2, 3, 4)
DEFAULTS = {"d": 56, "s": 12, "m": 4}
PRESETS = {"fsrcnn": {"d": 56, "s": 12, "m": 4}, "fsrcnn-s": {"d": 32, "s": 5, "m": 1}}
DEFAULT_PRESET = "fsrcnn"
OPTIONS = {
    "d": "LR feature dimension (positive int)",
    "s": "shrunk dimension (positive int)",
    "m": "number of 3x3 mapping layers (int >= 0)",
}


def build(scale, channels, *, d, s, m, name=None):
    """Returns the FSRCNN functional model; see :func:`sr_zoo.models.get` for the public entry point."""
    for key, value, low in (("d", d, 1), ("s", s, 1), ("m", m, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"fsrcnn: {key} must be an int >= {low}, got {value!r}")
    conv = dict(padding="same", kernel_initializer="he_normal")

    def prelu(x, layer_name):
        # One slope per channel, shared over space, as in the paper.
        return keras.layers.PReLU(
            alpha_initializer=keras.initializers.Constant(0.25), shared_axes=[1, 2], name=layer_name
        )(x)

    lr = keras.Input((None, None, channels), name="lr")
    x = prelu(keras.layers.Conv2D(d, 5, name="feature_extraction", **conv)(lr), "feature_extraction_prelu")
    x = prelu(keras.layers.Conv2D(s, 1, name="shrinking", **conv)(x), "shrinking_prelu")
    for i in range(1, m + 1):
        x = prelu(keras.layers.Conv2D(s, 3, name=f"mapping_{i}", **conv)(x), f"mapping_{i}_prelu")
    x = prelu(keras.layers.Conv2D(d, 1, name="expanding", **conv)(x), "expanding_prelu")
    sr = layers.SubPixelConv2DTranspose(
        channels,
        9,
        strides=scale,
        padding="same",  # output = scale * input exactly
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
        name="reconstruction",
    )(x)
    return keras.Model(lr, sr, name=name or f"fsrcnn_{d}-{s}-{m}_x{scale}")

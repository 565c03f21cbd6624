"""ESPCN (Shi et al., CVPR 2016): convolutions in LR space, then one sub-pixel shuffle.

(5x5, 64) - (3x3, 32) - (3x3, r*r*channels) followed by
:class:`~sr_zoo.models.layers.SubPixel` (``keras.ops.depth_to_space``). The
paper uses ``tanh``; ``relu``, ``gelu`` and ``hard_tanh`` (clipped to [-1, 1],
which int8 TFLite fuses into the convolution) are options, and the first
layer can have its own (``first_activation``: its tanh works in its linear
range, |z| < 0.3 for 99.9 % of espcn_x2's pre-activations on Set5, where a
clip is the same function and fuses into int8). On the Y channel at x3 the
model has 22,729 parameters with biases, as in the paper.

The last convolution is named ``"reconstruction"``: the paper trains it with a
10x smaller learning rate.

>>> model = sr_zoo.models.get("espcn", scale=3)                     # tanh, Y channel
>>> model = sr_zoo.models.get("espcn", scale=4, channels=3, activation="relu")
>>> model = sr_zoo.models.get("espcn", scale=2, first_activation="hard_tanh")  # clip, then tanh
"""

import keras

from sr_zoo.models import layers

SCALES = (2, 3, 4)
ACTIVATIONS = ("tanh", "relu", "gelu", "hard_tanh")
DEFAULTS = {"activation": "tanh", "first_activation": None, "filters": (64, 32), "kernel_sizes": (5, 3, 3)}
PRESETS = {"espcn": {}}
DEFAULT_PRESET = "espcn"
OPTIONS = {
    "activation": f"one of {ACTIVATIONS}",
    "first_activation": f"the first layer's, one of {ACTIVATIONS} (None: activation)",
    "filters": "(n1, n2): two positive ints",
    "kernel_sizes": "(f1, f2, f3): three positive odd ints",
}


def build(scale, channels, *, activation, filters, kernel_sizes, first_activation=None, name=None):
    """Returns the ESPCN functional model; see :func:`sr_zoo.models.get` for the public entry point."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"espcn: activation must be one of {ACTIVATIONS}, got {activation!r}")
    if first_activation is not None and first_activation not in ACTIVATIONS:
        raise ValueError(f"espcn: first_activation must be None or one of {ACTIVATIONS}, got {first_activation!r}")
    if not (isinstance(filters, (tuple, list)) and len(filters) == 2 and all(isinstance(f, int) and f > 0 for f in filters)):
        raise ValueError(f"espcn: filters must be two positive ints (n1, n2), got {filters!r}")
    if not (
        isinstance(kernel_sizes, (tuple, list))
        and len(kernel_sizes) == 3
        and all(isinstance(k, int) and k > 0 and k % 2 == 1 for k in kernel_sizes)
    ):
        raise ValueError(f"espcn: kernel_sizes must be three positive odd ints, got {kernel_sizes!r}")
    n1, n2 = filters
    f1, f2, f3 = kernel_sizes

    lr = keras.Input((None, None, channels), name="lr")
    x = keras.layers.Conv2D(n1, f1, padding="same", activation=first_activation or activation,
                            name="feature_1")(lr)
    x = keras.layers.Conv2D(n2, f2, padding="same", activation=activation, name="feature_2")(x)
    x = keras.layers.Conv2D(scale * scale * channels, f3, padding="same", name="reconstruction")(x)
    sr = layers.SubPixel(scale, name="subpixel")(x)
    return keras.Model(lr, sr, name=name or f"espcn_{activation}_x{scale}")

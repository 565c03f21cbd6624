"""SRCNN (Dong et al., ECCV 2014 / TPAMI 2016): three convolutions on the bicubic-upscaled image.

Patch extraction (9x9, 64 filters, ReLU), non-linear mapping (f2 x f2, 32
filters, ReLU) and reconstruction (5x5, linear). The paper feeds the network
the MATLAB-bicubic-upscaled image; here that upscaling is the model's first
layer (:class:`~sr_zoo.models.layers.BicubicUpsample`), so SRCNN takes the LR
image like every other zoo model. Convolutions are ``'same'``-padded so the
output is exactly ``scale`` x the input (the paper's training used 'valid'
convolutions and a cropped label; crop ``receptive_field`` // 2 HR pixels to
reproduce that).

Presets name the filter sizes: ``'9-1-5'`` (the base model, 8,032 weights
without biases), ``'9-3-5'`` and ``'9-5-5'`` (57,184). Weights start from a
zero-mean Gaussian with standard deviation 0.001, as in the paper (``init='paper'``),
or from He et al.'s initialisation (``init='he'``): with Adam at 1e-3 the paper's
tiny weights let half the ReLU filters die early, and from them training starts
slowly at any rate (see ``sr_zoo.recipes``).

The last convolution is named ``"reconstruction"``: the paper trains it with a
10x smaller learning rate.

>>> model = sr_zoo.models.get("srcnn", scale=3, preset="9-5-5")
>>> model = sr_zoo.models.get("srcnn", scale=3, preset="9-5-5", init="he")
"""

import keras

from sr_zoo.models import layers

SCALES = (2, 3, 4)
DEFAULTS = {"kernel_sizes": (9, 1, 5), "filters": (64, 32), "init": "paper"}
PRESETS = {
    "9-1-5": {"kernel_sizes": (9, 1, 5)},
    "9-3-5": {"kernel_sizes": (9, 3, 5)},
    "9-5-5": {"kernel_sizes": (9, 5, 5)},
}
DEFAULT_PRESET = "9-1-5"
OPTIONS = {
    "kernel_sizes": "(f1, f2, f3): three positive odd ints",
    "filters": "(n1, n2): two positive ints",
    "init": "'paper' (Gaussian, std 0.001) or 'he' (He normal): the weights a training run starts from",
}
INITS = {"paper": lambda: keras.initializers.RandomNormal(stddev=0.001), "he": lambda: "he_normal"}


def _odd_sizes(sizes):
    return isinstance(sizes, (tuple, list)) and len(sizes) == 3 and all(
        isinstance(k, int) and k > 0 and k % 2 == 1 for k in sizes
    )


def build(scale, channels, *, kernel_sizes, filters, init="paper", name=None):
    """Returns the SRCNN functional model; see :func:`sr_zoo.models.get` for the public entry point."""
    if not _odd_sizes(kernel_sizes):
        raise ValueError(f"srcnn: kernel_sizes must be three positive odd ints, got {kernel_sizes!r}")
    if not (isinstance(filters, (tuple, list)) and len(filters) == 2 and all(isinstance(f, int) and f > 0 for f in filters)):
        raise ValueError(f"srcnn: filters must be two positive ints (n1, n2), got {filters!r}")
    if init not in INITS:
        raise ValueError(f"srcnn: init must be one of {sorted(INITS)}, got {init!r}")
    f1, f2, f3 = kernel_sizes
    n1, n2 = filters
    conv = dict(padding="same", kernel_initializer=INITS[init](), bias_initializer="zeros")

    lr = keras.Input((None, None, channels), name="lr")
    # float32 even under mixed precision: bfloat16 would round the image itself (~3 significant digits).
    x = layers.BicubicUpsample(scale, name="bicubic", dtype="float32")(lr)
    x = keras.layers.Conv2D(n1, f1, activation="relu", name="patch_extraction", **conv)(x)
    x = keras.layers.Conv2D(n2, f2, activation="relu", name="nonlinear_mapping", **conv)(x)
    sr = keras.layers.Conv2D(channels, f3, name="reconstruction", **conv)(x)
    return keras.Model(lr, sr, name=name or f"srcnn_{f1}-{f2}-{f3}_x{scale}")

"""A zoo model in another precision, with the layers that lose accuracy kept in float32.

bfloat16 keeps about 3 significant digits: enough for features, not for the image itself (one
8-bit level is 0.004 on the 0..1 scale, bfloat16's step near 1.0 is 0.0039). So every architecture
computes its image path in float32: the layer that makes the image and what adds to it (EDSR's
mean, LapSRN's upsampled image and residuals, SRCNN's bicubic input, the sub-pixel shuffles after
a reconstruction layer). FSRCNN's transposed convolution is its ``"reconstruction"`` layer, which
oneDNN also runs slower in bfloat16 than in float32.

>>> fast = sr_zoo.models.with_precision(model, "bfloat16")   # a copy; ``model`` is unchanged
>>> fast.get_layer("reconstruction").dtype_policy.name
'float32'
"""

import re

import keras

from sr_zoo import precision as precision_lib

#: Layers computed in float32 whatever the precision (full-match patterns on layer names).
FLOAT32_LAYERS = (
    r"reconstruction",  # SRCNN, ESPCN, FSRCNN (the deconvolution), EDSR: the layer that makes the image
    r"subpixel",  # ESPCN's shuffle of the reconstruction layer's output
    r"bicubic",  # SRCNN's input, the image itself
    r"mean_add",  # EDSR: the mean colour added back to the image
    r"level\d+_residual",  # LapSRN: each level's residual image ...
    r"level\d+_image_up",  # ... the upsampled image it is added to ...
    r"sr_x\d+",  # ... and the sum, each level's output
)
_FLOAT32 = re.compile("|".join(f"(?:{p})" for p in FLOAT32_LAYERS))


#: Architectures that ``precision="auto"`` runs in bfloat16 at inference where the hardware has it, measured by
#: ``benchmarks/bench_precision.py`` on every shipped model (AMX Xeon, 2 cores): EDSR-baseline 3.3-5.0x faster
#: per frame and LapSRN 3.0-3.1x, each within 0.006 dB of float32 on Set5. The others stay float32: ESPCN lost
#: 0.032 / 0.010 / 0.024 dB at x2 / x3 / x4 (1.2-1.35x faster), SRCNN 0.053 / 0.033 / 0.011 (2.3-2.6x faster),
#: and FSRCNN and FSRCNN-s lost up to 0.20 dB while running slower (their transposed convolution).
AUTO_BFLOAT16_INFERENCE = ("edsr", "lapsrn")


#: Architectures whose training ``precision="auto"`` keeps in float32 on a CPU (where it would pick bfloat16), by
#: ``benchmarks/bench_training.py`` on the zoo recipes (AMX Xeon, 2 cores, alone): FSRCNN x3's step ran 3034
#: patches/s in bfloat16 against 3362 in float32 (12-channel layers, where the casts around each op cost more
#: than the convolutions gain); ESPCN x3 was 1.40x faster in bfloat16, LapSRN x2 2.89x, EDSR-baseline x2 3.88x.
AUTO_FLOAT32_CPU_TRAINING = ("fsrcnn",)


def training_precision(model_name, precision="auto"):
    """``(precision, why)``: what ``train.py`` computes ``model_name`` ("fsrcnn", ...) in, and the protocol line's
    reason: ``"auto"`` is the hardware's choice (:func:`sr_zoo.precision.resolve`), except float32 on a CPU for
    the architectures in :data:`AUTO_FLOAT32_CPU_TRAINING`."""
    described = precision_lib.describe(precision)
    resolved = precision_lib.resolve(precision)
    if precision == "auto" and resolved == "bfloat16" and model_name in AUTO_FLOAT32_CPU_TRAINING \
            and not precision_lib.has_gpu():
        return "float32", f"float32 (auto: {model_name} trains faster in float32 than in bfloat16 on this CPU)"
    return resolved, described


def architecture(model):
    """``"edsr"``, ``"espcn"``, ... from a zoo model's name (``"edsr_b16_f64_x2"``), or ``None``."""
    prefix = model.name.split("_")[0].lower()
    return prefix if prefix in ("srcnn", "espcn", "fsrcnn", "lapsrn", "edsr") else None


def inference_precision(model, precision="auto"):
    """The precision :func:`sr_zoo.upscale` runs ``model`` in: ``"auto"`` is the hardware's choice
    (:func:`sr_zoo.precision.resolve`) for the architectures in :data:`AUTO_BFLOAT16_INFERENCE`, and
    float32 for the others (and for models of unknown architecture)."""
    if precision != "auto":
        return precision_lib.resolve(precision)
    resolved = precision_lib.resolve("auto")
    if resolved == "bfloat16" and architecture(model) not in AUTO_BFLOAT16_INFERENCE:
        return "float32"
    return resolved


def keeps_float32(layer_name):
    """Whether :func:`with_precision` keeps the layer called ``layer_name`` in float32."""
    return bool(_FLOAT32.fullmatch(layer_name))


def precision_of(model):
    """``"float32"``, ``"bfloat16"`` or ``"float16"``: the compute dtype of the model's first non-float32 layer."""
    for layer in model.layers:
        dtype = getattr(layer.dtype_policy, "compute_dtype", "float32")
        if dtype != "float32":
            return dtype
    return "float32"


def with_precision(model, precision):
    """``model`` computing in ``precision`` (``"auto"`` resolved by :func:`sr_zoo.precision.resolve`).

    Returns ``model`` itself when its layers already compute as asked; otherwise a copy with the
    same (float32) weights, every layer in the precision's mixed policy (``"mixed_bfloat16"``, ...)
    except the :data:`FLOAT32_LAYERS`, which compute in float32. The copy's own policy is the mixed
    one too, so that ``compile`` adds loss scaling for float16.
    """
    policy = precision_lib.policy(precision)

    def wanted(layer):
        return "float32" if keeps_float32(layer.name) else policy

    if all(layer.dtype_policy.name == wanted(layer) for layer in model.layers
           if not isinstance(layer, keras.layers.InputLayer)):
        return model

    def clone_layer(layer):
        config = layer.get_config()
        config["dtype"] = wanted(layer)
        return layer.__class__.from_config(config)

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        clone = keras.models.clone_model(model, clone_function=clone_layer)
    finally:
        keras.config.set_dtype_policy(previous)
    clone.set_weights(model.get_weights())
    return clone


__all__ = ["FLOAT32_LAYERS", "AUTO_BFLOAT16_INFERENCE", "AUTO_FLOAT32_CPU_TRAINING", "training_precision",
           "architecture", "inference_precision", "keeps_float32",
           "precision_of", "with_precision"]

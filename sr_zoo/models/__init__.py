"""The model zoo: SRCNN, ESPCN, FSRCNN, LapSRN and EDSR as Keras 3 functional models.

Every model takes the low-resolution image, shape ``(None, None, channels)``,
float in [0, 1] (``channels=1``: the Y channel of YCbCr; ``channels=3``: RGB),
and returns the high-resolution image at ``scale`` (LapSRN: a list, one image
per pyramid level). Models are returned uncompiled.

>>> model = sr_zoo.models.get("espcn", scale=3)                          # Y channel
>>> model = sr_zoo.models.get("srcnn", scale=3, preset="9-5-5")
>>> model = sr_zoo.models.get("edsr", scale=4, channels=3, preset="full")
>>> model = sr_zoo.models.get("edsr", scale=2, channels=3, preset="tiny", filters=4)
>>> sr_zoo.models.available()["fsrcnn"]["presets"]
{'fsrcnn': {'d': 56, 's': 12, 'm': 4}, 'fsrcnn-s': {'d': 32, 's': 5, 'm': 1}}

Presets: ``preset`` picks a named configuration from the paper (``None`` =
the architecture's default preset); any other keyword overrides one option of
it, e.g. ``get("edsr", scale=2, preset="tiny", filters=8)``. ``available()``
lists, per name, the scales, presets (with their full options), the default
preset and what each option accepts.

Layer names that training recipes rely on:

* ``"reconstruction"`` is the last layer that produces the image: SRCNN's
  last convolution, ESPCN's last convolution (before the shuffle), FSRCNN's
  deconvolution and EDSR's last convolution. SRCNN, ESPCN and FSRCNN train it
  with a 10x smaller learning rate; :func:`reconstruction_layers` finds it.
* LapSRN's level outputs are the layers ``"sr_x2"``, ``"sr_x4"``, ...

:func:`describe` (scale, receptive field, multiply-adds) and
:func:`receptive_field` read a model's geometry from its layers, so they work
on loaded models too.
"""

from sr_zoo.models import edsr, espcn, fsrcnn, lapsrn, layers, srcnn
from sr_zoo.models.analysis import ModelInfo, describe
from sr_zoo.models.diagnostics import dead_relu_channels
from sr_zoo.models.precision import keeps_float32, precision_of, with_precision
from sr_zoo.models.equalization import equalize_channels
from sr_zoo.models.quantization import is_quantization_aware, quantization_aware
from sr_zoo.models.activation_split import split_activations, split_prelu, split_tanh
from sr_zoo.models.range_tuning import freeze_ranges, tighten_ranges
from sr_zoo.models.transfer import transfer_weights

__all__ = [
    "get",
    "available",
    "describe",
    "dead_relu_channels",
    "receptive_field",
    "reconstruction_layers",
    "transfer_weights",
    "with_precision",
    "quantization_aware",
    "equalize_channels",
    "split_prelu",
    "split_tanh",
    "split_activations",
    "tighten_ranges",
    "freeze_ranges",
    "is_quantization_aware",
    "precision_of",
    "keeps_float32",
    "ModelInfo",
    "RECONSTRUCTION",
    "CHANNELS",
    "layers",
]

_ARCHITECTURES = {"srcnn": srcnn, "espcn": espcn, "fsrcnn": fsrcnn, "lapsrn": lapsrn, "edsr": edsr}

#: Name of the layer that produces the image (the "last layer" of the 10x-lower-learning-rate recipes).
RECONSTRUCTION = "reconstruction"
#: Allowed ``channels``: 1 (Y of YCbCr) or 3 (RGB).
CHANNELS = (1, 3)


def available():
    """Describes every architecture: scales, presets (full option values), default preset, options.

    >>> sorted(sr_zoo.models.available())
    ['edsr', 'espcn', 'fsrcnn', 'lapsrn', 'srcnn']
    >>> sr_zoo.models.available()["edsr"]["scales"]
    (2, 3, 4)
    """
    out = {}
    for name, module in _ARCHITECTURES.items():
        out[name] = {
            "summary": module.__doc__.strip().splitlines()[0],
            "scales": tuple(module.SCALES),
            "channels": CHANNELS,
            "presets": {p: {**module.DEFAULTS, **cfg} for p, cfg in module.PRESETS.items()},
            "default_preset": module.DEFAULT_PRESET,
            "options": dict(module.OPTIONS),
        }
    return out


def _module(name):
    if not isinstance(name, str) or name.lower() not in _ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}; available: {sorted(_ARCHITECTURES)}")
    return name.lower(), _ARCHITECTURES[name.lower()]


def _as_int(value, what):
    if isinstance(value, bool):
        return None
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        return None
    return as_int if as_int == value else None


def get(name, *, scale, channels=1, preset=None, **config):
    """Builds an uncompiled zoo model.

    Args:
      name: ``'srcnn'``, ``'espcn'``, ``'fsrcnn'``, ``'lapsrn'`` or ``'edsr'``.
      scale: upscaling factor; each architecture lists its own in ``available()``.
      channels: 1 (Y channel) or 3 (RGB).
      preset: a named configuration of the architecture (``None``: its default).
      **config: options overriding the preset (see ``available()[name]["options"]``)
        and ``model_name`` for the Keras model's name.

    Returns:
      A functional ``keras.Model`` from ``(None, None, channels)`` LR to HR.

    Raises:
      ValueError: unknown name, scale, channels, preset or option, or a bad option value;
        the message lists what is allowed.

    >>> model = sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn-s")
    >>> model = sr_zoo.models.get("lapsrn", scale=4, outputs="last")
    """
    name, module = _module(name)
    int_scale = _as_int(scale, "scale")
    if int_scale not in module.SCALES:
        raise ValueError(f"{name}: unsupported scale {scale!r}; allowed scales: {list(module.SCALES)}")
    int_channels = _as_int(channels, "channels")
    if int_channels not in CHANNELS:
        raise ValueError(f"{name}: unsupported channels {channels!r}; allowed: {list(CHANNELS)} (1 = Y, 3 = RGB)")
    preset = module.DEFAULT_PRESET if preset is None else preset
    if preset not in module.PRESETS:
        raise ValueError(f"{name}: unknown preset {preset!r}; presets: {list(module.PRESETS)}")
    model_name = config.pop("model_name", None)
    unknown = sorted(set(config) - set(module.DEFAULTS))
    if unknown:
        raise ValueError(f"{name}: unknown option(s) {unknown}; options: {sorted(module.DEFAULTS)} (and 'model_name')")
    options = {**module.DEFAULTS, **module.PRESETS[preset], **config}
    return module.build(int_scale, int_channels, name=model_name, **options)


def receptive_field(model_or_name, **get_kwargs):
    """Side, in LR pixels, of the window of LR pixels that can influence one output pixel.

    Takes a model, or a name plus :func:`get`'s arguments (the model is built
    to read its layers).

    >>> sr_zoo.models.receptive_field("espcn", scale=3)
    9
    """
    model = get(model_or_name, **get_kwargs) if isinstance(model_or_name, str) else model_or_name
    return describe(model).receptive_field


def reconstruction_layers(model):
    """The model's layers named :data:`RECONSTRUCTION` (train them with a 10x lower learning rate).

    SRCNN, ESPCN, FSRCNN and EDSR have exactly one; LapSRN has none.

    >>> [layer.name for layer in sr_zoo.models.reconstruction_layers(model)]
    ['reconstruction']
    """
    return [layer for layer in model.layers if layer.name == RECONSTRUCTION]

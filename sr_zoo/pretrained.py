"""Pretrained zoo models shipped inside the package (``sr_zoo/weights/*.keras``).

Each entry records how it was trained (``train.py`` flags) and what it
measured on Set5 (Y channel, crop = scale) when it was made; ``evaluate.py
--model=NAME`` measures it again.

>>> sr_zoo.pretrained.available()
{'espcn_x3': {...}}
>>> model = sr_zoo.pretrained.load("espcn_x3")
>>> hr = sr_zoo.upscale(model, lr_uint8)
"""

import json
import pathlib

WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent / "weights"


def _registry():
    """Reads ``weights/<name>.json`` beside each ``weights/<name>.keras``."""
    out = {}
    for meta in sorted(WEIGHTS_DIR.glob("*.json")):
        if meta.with_suffix(".keras").exists():
            out[meta.stem] = json.loads(meta.read_text())
    return out


def available():
    """Name -> metadata (model, scale, channels, training command, measured Set5 PSNR/SSIM)."""
    return _registry()


def path(name):
    """Path of the bundled ``.keras`` file of ``name``."""
    registry = _registry()
    if name not in registry:
        known = ", ".join(sorted(registry)) or "none bundled"
        raise ValueError(f"unknown pretrained model {name!r}; available: {known} (or pass a .keras file path)")
    return WEIGHTS_DIR / f"{name}.keras"


def load(name):
    """Loads the pretrained model ``name`` as a ``keras.Model``."""
    import keras

    import sr_zoo  # noqa: F401  (registers the zoo's layers)

    return keras.models.load_model(path(name))

"""The pretrained zoo: ``.keras`` files shipped in ``sr_zoo/weights/`` with a manifest.

Each manifest entry records the architecture and config, the training data, the exact
``train.py`` command (backend and device), steps, wall time, the file's sha256 and the
Set5 / Set14 / B100 Y-PSNR / SSIM measured when it was published (crop = scale, MATLAB LR
images), beside the paper's numbers. Files hold the inference model only (no optimizer).

>>> import sr_zoo
>>> sr_zoo.pretrained.available()["espcn_x3"]["measured"]["set5"]
>>> model = sr_zoo.pretrained.load("espcn_x3")         # checks the sha256 first
>>> sr = sr_zoo.upscale(model, lr_uint8)
>>> int8_ready = sr_zoo.pretrained.load_int8("espcn_x3")  # quantization-aware weights for int8 exports

Command line::

    python -m sr_zoo.pretrained                          # the zoo as a table (shipped and still to train)
    python -m sr_zoo.pretrained --markdown               # the README's table
    python -m sr_zoo.pretrained --update_readme          # writes it and the compute table into README.md
    python -m sr_zoo.pretrained --compute                # training compute spent, and the paper's recipe's
    python -m sr_zoo.pretrained publish espcn_x3 runs/espcn_x3   # measure a run's best.keras and ship it
                                                         # (refused below the shipped Set5; --allow_worse)
    python -m sr_zoo.pretrained publish_int8 espcn_x3 runs/espcn_x3.int8  # a quantization-aware run's weights
                                                         # (refused above a 0.1 dB int8 drop on Set5)
    python -m sr_zoo.pretrained figure docs/zoo_crops.png        # the README's comparison figure
"""

# This package is the runtime users and the library import (manifest, load, path, available, verify).
# The command line above is the maintainers' (sr_zoo/pretrained/__main__.py runs sr_zoo.zoo_tools),
# which nothing here imports.

import json
import os
import pathlib

from sr_zoo.errors import ToolFailure
from sr_zoo.paths import sha256

#: The shipped files and their manifest (``sr_zoo/weights/``).
WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent.parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"
BENCHMARKS = ("set5", "set14", "b100")
PROTOCOL = "Y channel (MATLAB rgb2ycbcr), crop = scale pixels, MATLAB bicubic LR images (SelfExSR)"
# No MATLAB-made x8 LR images are at hand (the EDSR benchmark's X8 folder was made otherwise)
PROTOCOL_X8 = ("Y channel (MATLAB rgb2ycbcr), crop = scale pixels, LR made from the HR by sr_zoo.imresize "
               "(bit-exact with MATLAB's imresize, symmetric borders)")


class IntegrityError(ValueError, ToolFailure):
    """A shipped file does not match the sha256 its manifest entry records (the tools: exit 1)."""


def manifest():
    """The whole manifest: name -> entry (shipped models only)."""
    if not MANIFEST.exists():
        return {}
    return json.loads(MANIFEST.read_text())


def available():
    """Name -> manifest entry of every shipped model whose file is present."""
    return {name: entry for name, entry in manifest().items() if (WEIGHTS_DIR / entry["file"]).exists()}


def path(name):
    """Path of the shipped ``.keras`` file of ``name``."""
    entries = available()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none shipped"
        raise ValueError(f"unknown pretrained model {name!r}; available: {known} (or pass a .keras file path)")
    return WEIGHTS_DIR / entries[name]["file"]


def verify(name):
    """Raises :class:`IntegrityError` unless the file's sha256 is the manifest's."""
    return _checked(path(name), available()[name]["sha256"])


def _checked(file, expected):
    """``file``, after checking that its sha256 is ``expected`` (:class:`IntegrityError` if not)."""
    actual = sha256(file)
    if actual != expected:
        raise IntegrityError(
            f"{file}: sha256 {actual[:16]}... does not match the manifest's {expected[:16]}...; the file is "
            f"corrupt or was replaced (reinstall sr_zoo)"
        )
    return file


def load(name):
    """The pretrained model ``name`` as an uncompiled ``keras.Model``, after checking its sha256."""
    import keras

    import sr_zoo  # noqa: F401  (registers the zoo's layers)

    return keras.models.load_model(verify(name), compile=False)


def int8_path(name):
    """Path of ``name``'s quantization-aware int8 weights (``<name>.int8.keras``), or ``None`` where none ship.

    Those weights are a fine-tune of the float model with TFLite's int8 arithmetic simulated
    (:func:`sr_zoo.models.quantization_aware`): ``python -m sr_zoo.export --quantize=int8`` exports them.
    """
    path(name)  # an unknown name is an error, as for path()
    entry = available()[name].get("int8")
    if not entry or not (WEIGHTS_DIR / entry["file"]).exists():
        return None
    return WEIGHTS_DIR / entry["file"]


def load_int8(name):
    """``name``'s quantization-aware int8 weights as a ``keras.Model``, after checking the sha256."""
    import keras

    import sr_zoo  # noqa: F401  (registers the zoo's layers)

    file = int8_path(name)
    if file is None:
        raise ValueError(f"no int8 weights ship for {name!r}; they ship for: "
                         f"{', '.join(n for n, e in available().items() if e.get('int8')) or 'none'}")
    return keras.models.load_model(_checked(file, available()[name]["int8"]["sha256"]), compile=False)


def load_model(spec):
    """Loads a model from a ``.keras`` path or a pretrained name; returns ``(model, label)``."""
    import keras

    import sr_zoo  # noqa: F401  (registers the zoo's layers for deserialization)

    if os.path.exists(spec):
        try:
            return keras.models.load_model(spec), spec
        except Exception as e:  # Keras raises several types for a bad file
            raise ValueError(f"cannot load model file {spec}: {e}") from e
    if spec.endswith(".keras"):
        raise FileNotFoundError(f"model file not found: {spec}")
    return load(spec), f"{spec} (pretrained)"


__all__ = ["available", "load", "load_model", "path", "int8_path", "load_int8", "manifest", "verify", "sha256", "IntegrityError", "WEIGHTS_DIR",
           "MANIFEST", "BENCHMARKS"]

"""Files written so that a kill never leaves half of one: JSON, ``.keras`` models, the float32 inference model."""

import os
import pathlib

import keras

from sr_zoo import models


def _write_atomically(path, text):
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

def save_model_atomically(model, path):
    """``model.save(path)`` through a temporary file, so a kill never leaves a broken ``.keras``."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)

def save_inference_model(model, path, *, build=None):
    """Saves what an app needs: the uncompiled float32 model, no optimizer, no training state.

    ``keras.models.load_model(path)`` then opens it after ``import sr_zoo`` alone, whatever
    optimizer (``LayerwiseSGD`` included) or precision policy trained it. ``build`` makes a fresh
    float32 copy of the architecture (default: ``keras.models.clone_model``).
    """
    save_model_atomically(float32_copy(model, build=build), path)

def float32_copy(model, *, build=None):
    """A float32 copy of ``model`` with its weights; ``build`` makes the architecture (default: a clone).

    The copy lives on the default device, outside any ``keras.distribution`` the model trains under.
    """
    policy = keras.config.dtype_policy()
    distribution = keras.distribution.distribution()
    keras.config.set_dtype_policy("float32")
    keras.distribution.set_distribution(None)
    try:
        clone = build() if build is not None else models.with_precision(model, "float32")
    finally:
        keras.config.set_dtype_policy(policy)
        keras.distribution.set_distribution(distribution)
    clone.set_weights(model.get_weights())
    return clone

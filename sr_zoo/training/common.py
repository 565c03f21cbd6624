"""What the training modules share: the error they raise, the backend checks and the run folder's file names."""

import keras

from sr_zoo.errors import ToolFailure

CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.json"
BEST_MODEL = "best.keras"
RUN_CONFIG = "run_config.json"


class TrainingError(RuntimeError, ToolFailure):
    """Training stopped for a reason the user must see (NaN loss, inconsistent resume, ...).

    The tools report it as ``training stopped: <message>``, exit 1 (:class:`sr_zoo.errors.ToolFailure`).
    """

    prefix = "training stopped: "

def tensorflow_backend():
    """True under ``KERAS_BACKEND=tensorflow``: the tf.data / tf.distribute / tf.summary edges are used only then."""
    return keras.backend.backend() == "tensorflow"

def _tf():
    import tensorflow as tf  # only reached under the TensorFlow backend

    return tf

def _has_gpu():
    """Whether the backend computes on a GPU (one answer for training and precision: sr_zoo.precision)."""
    from sr_zoo import precision

    return precision.has_gpu()

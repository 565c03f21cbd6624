"""Quiet TensorFlow start-up: imported first by ``sr_zoo/__init__.py``.

TensorFlow 2.21 logs oneDNN / CUDA / cpu_feature_guard lines through absl before absl's
logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not silence them and every tool
would open with a screen of them. When the user has not set ``TF_CPP_MIN_LOG_LEVEL``, it
is set to 2 and stderr points at /dev/null while TensorFlow loads and lists its devices.
Set ``TF_CPP_MIN_LOG_LEVEL=0`` to see them. Nothing happens if TensorFlow is already
imported, is not the Keras backend, or is not installed.
"""

import os
import sys


def quiet_tensorflow_import():
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    try:
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no usable file descriptor 2 (some embedded interpreters)
        return
    os.dup2(null, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # CUDA probing logs here, not at import
    except Exception:  # noqa: BLE001 - whoever needs TensorFlow reports it, with stderr back
        pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


quiet_tensorflow_import()

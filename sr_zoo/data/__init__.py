"""Data for SR training and evaluation: tf.data pipelines over the TFDS builders in ``tfds_builders/``,
and :class:`FolderPairs`, a TensorFlow-free ``keras.utils.PyDataset`` for the JAX and PyTorch backends.

>>> import sr_zoo.data
>>> train = sr_zoo.data.train_dataset(["t91", "bsd200"], scale=3, lr_patch_size=17, batch_size=64, seed=0)
>>> test = sr_zoo.data.eval_dataset("sr_benchmarks/set5", scale=3)   # stored MATLAB LR, HR modcropped
>>> train = sr_zoo.data.FolderPairs("../shared/data/T91", scale=3, lr_patch_size=17, batch_size=64)  # no TF

``patch_size`` is the HR patch side; ``lr_patch_size`` the LR side (give one).
A TFDS dataset that is not built raises :class:`DatasetNotBuiltError`, whose
message holds the ``tfds build tfds_builders/<name> --manual_dir=...`` command.

The tf.data names (everything but ``io``, ``kernels`` and ``FolderPairs``) are
imported on first use, so ``import sr_zoo.data`` works without TensorFlow;
using them there raises an ``ImportError`` saying what to install.
"""

import importlib

from sr_zoo.data import io, kernels
from sr_zoo.data.numpy_dataset import FolderPairs

# name -> module that defines it (imported lazily: both need TensorFlow).
_LAZY = {
    "train_dataset": "pipeline",
    "eval_dataset": "pipeline",
    "load_images": "pipeline",
    "tfds_builder": "pipeline",
    "build_command": "pipeline",
    "default_data_dir": "pipeline",
    "DatasetNotBuiltError": "pipeline",
    "FSRCNN_RESCALE": "pipeline",
    "to_rgb_uint8": "pipeline",
    "pipeline": None,
    "degradations": None,
}

#: What to install for the tf.data pipelines.
TF_REQUIREMENT = "pip install tensorflow tensorflow-datasets"


def require_tensorflow(feature):
    """Imports TensorFlow, or raises a one-line ``ImportError`` naming ``feature`` and what to install."""
    try:
        return importlib.import_module("tensorflow")
    except ImportError:
        raise ImportError(f"{feature} needs TensorFlow, which is not installed: {TF_REQUIREMENT}") from None


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'sr_zoo.data' has no attribute {name!r}")
    require_tensorflow(f"sr_zoo.data.{name}")
    module = importlib.import_module(f"sr_zoo.data.{_LAZY[name] or name}")
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "train_dataset",
    "eval_dataset",
    "load_images",
    "tfds_builder",
    "build_command",
    "default_data_dir",
    "DatasetNotBuiltError",
    "FSRCNN_RESCALE",
    "to_rgb_uint8",
    "FolderPairs",
    "require_tensorflow",
    "degradations",
    "io",
    "kernels",
]

"""Data for SR training and evaluation: tf.data pipelines over the TFDS builders in ``tfds_builders/``.

>>> import sr_zoo.data
>>> train = sr_zoo.data.train_dataset(["t91", "bsd200"], scale=3, lr_patch_size=17, batch_size=64, seed=0)
>>> test = sr_zoo.data.eval_dataset("sr_benchmarks/set5", scale=3)   # stored MATLAB LR, HR modcropped

``patch_size`` is the HR patch side; ``lr_patch_size`` the LR side (give one).
A TFDS dataset that is not built raises :class:`DatasetNotBuiltError`, whose
message holds the ``tfds build tfds_builders/<name> --manual_dir=...`` command.
"""

from sr_zoo.data import degradations, io, kernels
from sr_zoo.data.pipeline import (
    FSRCNN_RESCALE,
    DatasetNotBuiltError,
    build_command,
    default_data_dir,
    eval_dataset,
    load_images,
    tfds_builder,
    to_rgb_uint8,
    train_dataset,
)

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
    "degradations",
    "io",
    "kernels",
]

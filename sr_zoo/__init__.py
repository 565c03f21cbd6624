"""sr_zoo: a super-resolution model zoo for Keras 3 (TensorFlow, JAX or PyTorch backend).

Importing it needs no TensorFlow; the TensorFlow-only parts (tf.data pipelines,
TFDS, the in-graph TF imresize) are imported on first use.

>>> import sr_zoo
>>> lr = sr_zoo.imresize(hr, 1 / 4)                   # MATLAB-exact bicubic
>>> sr_zoo.metrics.psnr(hr, sr, crop_border=4)        # Y channel, 4-pixel crop
"""

from sr_zoo import _startup  # noqa: F401  (first: quiet TensorFlow start-up lines; see the module)
from sr_zoo import metrics, paths
from sr_zoo.image import imresize, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from sr_zoo import losses, models
from sr_zoo.inference import upscale
from sr_zoo.deploy import upscale_video  # PyAV is imported on first call

__version__ = "0.1.0"

__all__ = ["imresize", "rgb_to_ycbcr", "ycbcr_to_rgb", "rgb_to_y", "metrics", "paths", "losses", "models", "upscale", "upscale_video", "pretrained"]


def __getattr__(name):
    # Imported on first use: `python -m sr_zoo.pretrained` must not find it imported already.
    if name == "pretrained":
        import importlib

        return importlib.import_module("sr_zoo.pretrained")
    raise AttributeError(f"module 'sr_zoo' has no attribute {name!r}")

"""Image operations with MATLAB semantics: ``imresize`` and YCbCr conversion."""

from sr_zoo.image.color import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from sr_zoo.image.resize import imresize

__all__ = ["imresize", "rgb_to_ycbcr", "ycbcr_to_rgb", "rgb_to_y"]

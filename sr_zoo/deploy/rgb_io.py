"""uint8 RGB in, uint8 RGB out: :func:`sr_zoo.upscale`'s colour pipeline as Keras layers around a zoo model.

The TFLite and ONNX files are made from :func:`rgb_model`, so they take what a
user has (an 8-bit RGB image of any size) and return what a user wants (the
8-bit RGB image at the scale), with nothing to reimplement outside the file:

* a Y model (ESPCN, SRCNN, FSRCNN, LapSRN) sees MATLAB ``rgb2ycbcr``'s rounded
  Y in [0, 1]; its output is rounded to 8 bits, joined with the LR image's
  chroma upscaled by MATLAB bicubic (:class:`~sr_zoo.models.layers.BicubicUpsample`,
  rounded after each pass) and turned back to RGB with ``ycbcr2rgb`` (a 1x1
  convolution);
* an RGB model (EDSR) sees RGB in [0, 1] and its output is rounded to 8 bits.

The arithmetic is float32 (``sr_zoo.upscale``: float64 for the colour steps),
so a pixel at a rounding tie can differ by a level. The HR steps are few and
runtime-friendly (a 1x1 convolution, ReLUs rather than min/max, which ONNX
Runtime ran 4x slower at 1080p).

>>> wrapped = rgb_model(sr_zoo.pretrained.load("espcn_x3"))
>>> wrapped(np.zeros((24, 32, 3), np.uint8)).shape           # (72, 96, 3), uint8
"""

import keras
import numpy as np

from sr_zoo.image import color
from sr_zoo.models.layers import BicubicUpsample

_PACKAGE = "sr_zoo"


def _round_to_levels(x):
    """MATLAB's im2uint8 on values already on the 0..255 scale, kept in float32.

    Clipped with ReLUs: ONNX Runtime's Min and Max against a constant took 4x as long at 1080p.
    """
    return 255.0 - keras.ops.relu(255.0 - keras.ops.relu(keras.ops.floor(x + 0.5)))


def _combine(channels, matrix, offset):
    """``matrix @ (r, g, b) + offset`` per pixel on the 0..255 scale, term by term (as MATLAB's imlincomb).

    Multiply-adds of single channels rather than a matmul: every runtime has
    them, and an int8 converter keeps them exact enough.
    """
    out = []
    for row, o in zip(matrix, offset):
        acc = channels[0] * float(row[0]) + channels[1] * float(row[1]) + channels[2] * float(row[2])
        out.append(acc + float(o) if o else acc)
    return out


def _split(x):
    return [x[..., k : k + 1] for k in range(3)]


@keras.saving.register_keras_serializable(package=_PACKAGE)
class RgbToModelInput(keras.layers.Layer):
    """uint8 RGB ``(H, W, 3)`` -> float32 ``(1, H, W, channels)`` in [0, 1], the zoo model's input.

    ``channels=1``: MATLAB ``rgb2ycbcr``'s Y, rounded to 8 bits as ``sr_zoo.upscale`` does;
    ``channels=3``: the RGB values.

    >>> lr = RgbToModelInput(1)(keras.Input(batch_shape=(None, None, 3), dtype="uint8"))   # (1, H, W, 1)
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        if channels not in (1, 3):
            raise ValueError(f"RgbToModelInput: channels must be 1 (Y) or 3 (RGB), got {channels!r}")
        self.channels = int(channels)

    def call(self, image):
        x = keras.ops.expand_dims(keras.ops.cast(image, "float32"), 0)
        if self.channels == 1:
            (y,) = _combine(_split(x), color.RGB_TO_YCBCR[:1] / 255.0, color.OFFSET[:1])
            x = _round_to_levels(y)
        return x / 255.0

    def compute_output_shape(self, input_shape):
        h, w, _ = input_shape
        return (1, h, w, self.channels)

    def compute_output_spec(self, image):
        return keras.KerasTensor(self.compute_output_shape(image.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ModelOutputToRgb(keras.layers.Layer):
    """A zoo model's float output ``(1, sH, sW, C)`` and the uint8 LR image ``(H, W, 3)`` -> uint8 RGB ``(sH, sW, 3)``.

    ``C=1`` (a Y model): the output rounded to 8 bits becomes Y; Cb and Cr are
    the LR image's, upscaled with MATLAB bicubic; ``ycbcr2rgb`` gives RGB.
    ``C=3``: the output rounded to 8 bits.

    >>> rgb = ModelOutputToRgb(scale=3, channels=1)(sr_y, lr_image)
    """

    def __init__(self, scale, channels, **kwargs):
        super().__init__(**kwargs)
        if channels not in (1, 3):
            raise ValueError(f"ModelOutputToRgb: channels must be 1 (Y) or 3 (RGB), got {channels!r}")
        self.scale = int(scale)
        self.channels = int(channels)
        self.chroma_upsample = BicubicUpsample(self.scale, name="chroma_bicubic") if self.channels == 1 else None
        # ycbcr2rgb as a 1x1 convolution: (Y, Cb, Cr) times the inverse matrix, its offsets and the rounding's
        # 0.5 in the bias (element-wise steps on the HR planes cost ONNX Runtime ~10 ms each at 1080p)
        self._to_rgb = (color.YCBCR_TO_RGB * 255.0).T.reshape(1, 1, 3, 3).astype(np.float32)
        self._to_rgb_bias = (0.5 - color.YCBCR_TO_RGB * 255.0 @ color.OFFSET).astype(np.float32)

    def call(self, sr, image):
        sr = _round_to_levels(keras.ops.cast(sr, "float32") * 255.0)
        if self.channels == 3:
            return keras.ops.cast(sr[0], "uint8")
        rgb = _split(keras.ops.expand_dims(keras.ops.cast(image, "float32"), 0))
        cbcr = [_round_to_levels(c) for c in _combine(rgb, color.RGB_TO_YCBCR[1:] / 255.0, color.OFFSET[1:])]
        # uint8 in: BicubicUpsample rounds after each pass, as MATLAB's imresize does for uint8 images
        cbcr = keras.ops.cast(self.chroma_upsample(keras.ops.cast(keras.ops.concatenate(cbcr, -1), "uint8")),
                              "float32")
        out = keras.ops.conv(keras.ops.concatenate([sr, cbcr], -1), self._to_rgb, padding="valid") + self._to_rgb_bias
        # clipped to [0, 255] with ReLUs (min/max against a constant were 4x slower in ONNX Runtime), then the
        # cast's truncation finishes the rounding
        out = 255.0 - keras.ops.relu(255.0 - keras.ops.relu(out))
        return keras.ops.cast(out[0], "uint8")

    def compute_output_shape(self, sr_shape, image_shape):
        _, h, w, _ = sr_shape
        return (h, w, 3)

    def compute_output_spec(self, sr, image):
        return keras.KerasTensor(self.compute_output_shape(sr.shape, image.shape), dtype="uint8")

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale, channels=self.channels)
        return config


def rgb_model(model, info=None):
    """``model`` wrapped between :class:`RgbToModelInput` and :class:`ModelOutputToRgb`.

    Input ``image``: uint8 ``(H, W, 3)``, any size; output: uint8 ``(sH, sW, 3)``
    (LapSRN: its last pyramid level). ``info``: the model's
    :func:`sr_zoo.models.analysis.describe` (computed when omitted).
    """
    if info is None:
        from sr_zoo.models.analysis import describe

        info = describe(model)
    image = keras.Input(batch_shape=(None, None, 3), dtype="uint8", name="image")
    sr = model(RgbToModelInput(info.channels, name="to_model_input")(image))
    if isinstance(sr, (list, tuple)):
        sr = sr[-1]
    out = ModelOutputToRgb(info.scale, info.channels, name="to_rgb")(sr, image)
    return keras.Model(image, out, name=f"{model.name}_rgb")


__all__ = ["RgbToModelInput", "ModelOutputToRgb", "rgb_model"]

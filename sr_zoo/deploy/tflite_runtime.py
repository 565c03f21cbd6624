"""Running exported TFLite files: LiteRT's interpreter (``ai-edge-litert``), ``tf.lite`` as the fallback."""

import numpy as np


def tflite_interpreter(path, num_threads=None):
    """``(interpreter, runtime name)``: LiteRT's maintained ``ai-edge-litert`` when installed, else ``tf.lite``."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        runtime = "ai-edge-litert"
    except ImportError:
        import tensorflow as tf

        Interpreter, runtime = tf.lite.Interpreter, "tf.lite.Interpreter"
    return Interpreter(model_path=str(path), num_threads=num_threads), runtime


class TFLiteModel:
    """Runs an exported ``.tflite`` file on one image, resizing the interpreter's input to the image's size.

    An RGB-in/out file (the default export) takes and returns uint8 RGB
    ``(H, W, 3)``, as :func:`sr_zoo.upscale` does; a grey image goes through
    it as R = G = B and comes back grey (the channels' mean). A model-only file
    (``io="model"``) takes float LR ``(H, W, C)`` in [0, 1] and returns
    ``model(lr[None])[0]``; int8 inputs are quantized and int8 outputs
    dequantized with the file's parameters.

    >>> TFLiteModel("espcn_x3.tflite")(lr_rgb)                   # uint8 (3H, 3W, 3)
    >>> TFLiteModel("espcn_x3_model.tflite")(lr_y[..., None] / 255.0)   # float (3H, 3W, 1)
    """

    def __init__(self, path, num_threads=None):
        self.interpreter, self.runtime = tflite_interpreter(path, num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[-1]  # LapSRN: the last pyramid level

    @property
    def rgb_io(self):
        """Whether the file takes uint8 RGB ``(H, W, 3)`` (the default export) rather than the model's input."""
        return len(self.input["shape_signature"]) == 3 and self.input["dtype"] == np.uint8

    def __call__(self, lr):
        grey = np.ndim(lr) == 2 or (np.ndim(lr) == 3 and np.shape(lr)[-1] == 1)
        if self.rgb_io and grey:
            # grey (HxW or HxWx1): through the RGB file as R = G = B, the channels' mean back (the file itself
            # takes RGB only; XNNPACK fails to resize its graph to one channel)
            image = np.asarray(lr, np.uint8)
            out = self._run(np.repeat(image.reshape(*image.shape[:2], 1), 3, axis=-1))
            out = np.round(out.mean(axis=-1, keepdims=True)).astype(np.uint8)
            return out[..., 0] if image.ndim == 2 else out
        return self._run(np.asarray(lr, np.uint8) if self.rgb_io else np.asarray(lr, np.float32)[None])

    def _run(self, lr):
        it = self.interpreter
        if tuple(self.input["shape"]) != lr.shape:
            it.resize_tensor_input(self.input["index"], lr.shape, strict=False)
            it.allocate_tensors()
            self.input = it.get_input_details()[0]
            self.output = it.get_output_details()[-1]
        it.set_tensor(self.input["index"], lr if self.rgb_io else _quantize(lr, self.input))
        it.invoke()
        out = it.get_tensor(self.output["index"])
        return out if self.rgb_io else _dequantize(out, self.output)[0]


def _quantize(x, detail):
    if detail["dtype"] == np.float32:
        return x
    scale, zero = detail["quantization"]
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])


def _dequantize(x, detail):
    if detail["dtype"] == np.float32:
        return x
    scale, zero = detail["quantization"]
    return (x.astype(np.float32) - zero) * scale

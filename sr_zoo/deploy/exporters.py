"""Exporting zoo models: SavedModel, TFLite (float32/float16/dynamic/int8) and ONNX, RGB in and out.

Every format takes what a user has and returns what a user wants by default
(``io="rgb"``): an 8-bit image of any size in, the 8-bit image at the scale out,
with :func:`sr_zoo.upscale`'s colour pipeline inside the file (for a Y model:
MATLAB rgb2ycbcr, Y through the network, MATLAB-bicubic chroma, back to RGB).

- ``saved_model``: Keras 3's :class:`keras.export.ExportArchive`, signature
  ``serve``: ``image`` (H, W, C) uint8 -> (sH, sW, C) uint8, C = 1 (grey),
  2 (grey+alpha), 3 (RGB) or 4 (RGBA), the same TensorFlow functions as
  ``sr_zoo.upscale`` (byte-identical). Whole images, no tiling.
- ``tflite`` (``model.export(format="litert")``, TFLite builtin ops only: a
  model needing TensorFlow "flex" ops is refused, naming the layer): ``image``
  uint8 (H, W, 3) -> uint8 (sH, sW, 3), dynamic size by default (call the
  interpreter's ``resize_tensor_input`` with the image's shape, then
  ``allocate_tensors``), or a fixed ``input_size`` (that size only: the
  colour steps fold it into constants). ``quantize``:
  ``none`` (float32), ``float16`` weights, ``dynamic`` (int8 weights, float
  activations), ``int8`` (int8 convolutions calibrated on LR crops of
  training images).
- ``onnx`` (``model.export(format="onnx")``, Keras 3 drives tf2onnx):
  ``image`` uint8 (H, W, 3) -> ``upscaled`` uint8 (sH, sW, 3), dynamic size.

``io="model"`` keeps the network's own graph instead: float32 NHWC in [0, 1]
(TFLite: batch 1, default input :data:`DEFAULT_INPUT_SIZE`, resizable; int8:
int8 in and out), Y for Y models, colour steps left to
the caller (:func:`sr_zoo.inference.to_model_input` / ``from_model_output``).
Every file carries metadata (:mod:`sr_zoo.deploy.metadata`): model name,
scale, io, input, output, colour handling, value range and, given ``source``,
the sha256 of the ``.keras`` file it came from.

>>> sr_zoo.deploy.export(model, "espcn_x3.tflite", format="tflite", input_size=(360, 640))
>>> sr_zoo.deploy.export(model, "espcn_x3.onnx", format="onnx", source="espcn_x3.keras")
>>> sr_zoo.deploy.export(model, "espcn_x3_model.tflite", format="tflite", io="model", quantize="int8")
"""

import pathlib
import re

from sr_zoo.deploy.errors import ExportError
from sr_zoo.deploy.tflite_export import IMAGE_SUFFIXES, calibration_crops  # noqa: F401  (public here)
from sr_zoo.deploy.tflite_runtime import TFLiteModel, tflite_interpreter  # noqa: F401  (public here)

FORMATS = ("saved_model", "tflite", "onnx")
QUANTIZE = ("none", "float16", "dynamic", "int8")
IO = ("rgb", "model")
#: TFLite's default fixed LR input (height, width): a 640x360 frame, 1920x1080 at x3.
DEFAULT_INPUT_SIZE = (360, 640)


def export(model, output, *, format, quantize="none", input_size=None, io="rgb", calibration_images=None,
           calibration_samples=16, seed=0, name=None, source=None):
    """Exports ``model`` to ``output`` and returns a dict describing the file.

    Args:
      model: a zoo ``keras.Model`` (Y or RGB; LapSRN: its last pyramid level
        with ``io="rgb"``, every level with ``io="model"``).
      output: a folder (``saved_model``) or a ``.tflite`` / ``.onnx`` file.
      format: ``saved_model``, ``tflite`` or ``onnx``.
      quantize: TFLite only: ``none``, ``float16``, ``dynamic`` or ``int8``.
      input_size: TFLite only: ``(height, width)`` of the LR input or
        ``"dynamic"``; default dynamic for ``io="rgb"`` (a fixed size is then the
        only size), :data:`DEFAULT_INPUT_SIZE` for ``io="model"`` (resizable).
      io: ``rgb`` (uint8 image in and out, the colour pipeline inside) or
        ``model`` (the network's float graph).
      calibration_images: ``int8`` only: a folder of HR training images or a
        list of uint8 arrays; default ``T91`` in the shared data folder.
      calibration_samples: number of LR crops (``input_size``, or 96x96 when
        dynamic) fed to the int8 calibrator.
      seed: crop positions.
      name: the model's name in the file's metadata (default ``model.name``).
      source: the ``.keras`` file the model was loaded from: its name and
        sha256 go into the metadata.

    Returns:
      dict with ``path``, ``format``, ``quantize``, ``io``, ``input_size``,
      ``bytes``, ``metadata`` and, for TFLite, ``input_dtype``.

    Raises:
      ExportError: an unknown option, or a model the converter refuses (the
        message names the layer and the op).
    """
    from sr_zoo.deploy import metadata, onnx_export, rgb_io, tflite_export
    from sr_zoo.models.analysis import describe
    from sr_zoo.models.quantization import conversion_graph, is_quantization_aware

    output = pathlib.Path(output)
    check_options(output, format, quantize, input_size, io)
    try:
        info = describe(model)
    except ValueError as e:
        raise ExportError(str(e)) from None
    if info.channels not in (1, 3):
        raise ExportError(f"model {model.name!r} takes {info.channels} channels; supported: 1 (Y) or 3 (RGB)")
    if source is not None and not pathlib.Path(source).is_file():
        raise ExportError(f"source file not found: {source}")
    output.parent.mkdir(parents=True, exist_ok=True)
    quantization_aware = is_quantization_aware(model)
    meta = metadata.build(model, info, format=format, io=io, quantize=quantize, quantization_aware=quantization_aware,
                          name=name, source=source)
    result = {"path": str(output), "format": format, "quantize": quantize, "io": io, "input_size": "dynamic",
              "metadata": meta}
    # a quantization-aware copy's PReLUs as the one op the converter turns into an int8 PRELU
    network = conversion_graph(model) if format == "tflite" else model
    graph = rgb_io.rgb_model(network, info) if io == "rgb" and format != "saved_model" else network
    if format == "saved_model":
        (_saved_model if io == "rgb" else _saved_model_of_network)(model, info, output, meta)
    elif format == "onnx":
        onnx_export.export_onnx(graph, info, output, io)
        metadata.write_onnx(output, meta)
    else:
        size = _input_size(input_size, io)
        result["input_size"] = "dynamic" if size == (None, None) else f"{size[0]}x{size[1]}"
        result["input_dtype"] = tflite_export.export_tflite(
            graph, info, output, io=io, quantize=quantize, size=size, calibration_images=calibration_images,
            samples=calibration_samples, seed=seed, metadata=meta,
            quantization_aware=quantization_aware)
    result["bytes"] = _size(output)
    return result


def check_options(output, format, quantize="none", input_size=None, io="rgb"):
    """Raises :class:`ExportError` for an option :func:`export` would refuse (cheap: no model needed)."""
    if format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if quantize not in QUANTIZE:
        raise ExportError(f"quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    if io not in IO:
        raise ExportError(f"io must be one of {', '.join(IO)}, got {io!r}")
    if format != "tflite" and quantize != "none":
        raise ExportError(f"quantize={quantize} applies to TFLite only; {format} keeps the float graph")
    if format != "tflite" and input_size not in (None, "dynamic"):
        raise ExportError(f"input_size applies to TFLite only; {format} takes any size")
    if format == "tflite":
        _input_size(input_size, io)
    suffix = {"tflite": ".tflite", "onnx": ".onnx"}.get(format)
    if suffix and pathlib.Path(output).suffix.lower() != suffix:
        raise ExportError(f"output {output} must end in {suffix} for format={format}")


def _size(path):
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _input_size(input_size, io):
    if input_size is None:  # an RGB file's colour steps fold a fixed size into constants: no resizing later
        return DEFAULT_INPUT_SIZE if io == "model" else (None, None)
    if input_size == "dynamic":
        return (None, None)
    if isinstance(input_size, str):
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", input_size)
        if not match:
            raise ExportError(f"input_size must be HxW (e.g. 360x640) or 'dynamic', got {input_size!r}")
        input_size = (int(match[1]), int(match[2]))
    h, w = input_size
    if int(h) < 1 or int(w) < 1:
        raise ExportError(f"input_size must be positive, got {h}x{w}")
    return int(h), int(w)


# --- SavedModel -----------------------------------------------------------------------------------


def _saved_model(model, info, output, meta):
    import json

    import keras
    import tensorflow as tf

    from sr_zoo import inference

    def pipeline(color_channels):
        """uint8 (H, W, C) -> uint8 (sH, sW, C), as sr_zoo.upscale does for C channels."""

        def run(image, channels):
            img = tf.ensure_shape(image, [None, None, channels])[None]
            return inference.upscale_graph(model, img, channels=info.channels, color_channels=color_channels,
                                           scale=info.scale)[0]

        return run

    grey, rgb = pipeline(1), pipeline(3)
    branches = [lambda i: grey(i, 1), lambda i: grey(i, 2), lambda i: rgb(i, 3), lambda i: rgb(i, 4)]

    def serve(image):
        channels = tf.shape(image)[-1]
        check = tf.debugging.assert_less_equal(
            tf.abs(channels - 2) + tf.abs(channels - 3), 3, message="image must have 1, 2, 3 or 4 channels"
        )
        with tf.control_dependencies([check]):
            return tf.switch_case(channels - 1, [lambda b=b: b(image) for b in branches])

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec([None, None, None], tf.uint8, name="image")])
    archive.add_endpoint("metadata", tf.function(lambda: tf.constant(json.dumps(meta))), input_signature=[])
    archive.write_out(str(output), verbose=False)


def _saved_model_of_network(model, info, output, meta):
    """``io="model"``: the network alone, ``serve``: float32 ``(N, H, W, C)`` in [0, 1] -> ``(N, sH, sW, C)``."""
    import json

    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda lr: model(lr, training=False),
                         input_signature=[tf.TensorSpec([None, None, None, info.channels], tf.float32, name="lr")])
    archive.add_endpoint("metadata", tf.function(lambda: tf.constant(json.dumps(meta))), input_signature=[])
    archive.write_out(str(output), verbose=False)

"""Exporting zoo models: SavedModel (with the colour pipeline), TFLite (float32/float16/dynamic/int8) and ONNX.

- ``saved_model``: Keras 3's :class:`keras.export.ExportArchive` with one
  ``serve`` signature, ``image`` (H, W, C) uint8 -> (sH, sW, C) uint8, any size,
  C = 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA). :func:`sr_zoo.upscale`'s
  colour pipeline runs inside the graph (the same TensorFlow functions): for a
  Y model MATLAB rgb2ycbcr, Y through the model, MATLAB-bicubic chroma, back
  to RGB. Whole images, no tiling.
- ``tflite``: the model's own graph, ``(1, H, W, C)`` in [0, 1] -> ``(1, sH, sW, C)``,
  via ``model.export(format="litert")``. Fixed input size (default
  :data:`DEFAULT_INPUT_SIZE`) or ``input_size="dynamic"``; TFLite builtin ops
  only (a model needing TensorFlow "flex" ops is refused, naming the layer).
  ``quantize``: ``none`` (float32), ``float16`` weights, ``dynamic`` (int8
  weights, float activations), ``int8`` (full integer, int8 input and output,
  calibrated on LR crops of training images).
- ``onnx``: the float graph with dynamic batch and spatial size, ``(N, H, W, C)``
  NHWC, via ``model.export(format="onnx")`` (Keras 3 drives tf2onnx).

>>> sr_zoo.deploy.export(model, "espcn_x3_int8.tflite", format="tflite", quantize="int8", input_size=(360, 640))
>>> sr_zoo.deploy.export(model, "espcn_x3_savedmodel", format="saved_model")
>>> sr_zoo.deploy.export(model, "espcn_x3.onnx", format="onnx")
"""

import os
import pathlib
import re

import numpy as np

FORMATS = ("saved_model", "tflite", "onnx")
QUANTIZE = ("none", "float16", "dynamic", "int8")
#: TFLite's default fixed LR input (height, width): a 640x360 frame, 1920x1080 at x3.
DEFAULT_INPUT_SIZE = (360, 640)
IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


class ExportError(ValueError):
    """A model or option that cannot be exported; the message is one line."""


def export(model, output, *, format, quantize="none", input_size=None, calibration_images=None,
           calibration_samples=16, seed=0):
    """Exports ``model`` to ``output`` and returns a dict describing the file.

    Args:
      model: a zoo ``keras.Model`` (Y or RGB; LapSRN exports its pyramid outputs).
      output: a folder (``saved_model``) or a ``.tflite`` / ``.onnx`` file.
      format: ``saved_model``, ``tflite`` or ``onnx``.
      quantize: TFLite only: ``none``, ``float16``, ``dynamic`` or ``int8``.
      input_size: TFLite only: ``(height, width)`` of the LR input (default
        :data:`DEFAULT_INPUT_SIZE`) or ``"dynamic"``; the interpreter's input can
        be resized either way when the graph allows it.
      calibration_images: ``int8`` only: a folder of HR training images or a
        list of uint8 arrays; default ``T91`` in the shared data folder.
      calibration_samples: number of LR crops (``input_size``, or 96x96 when
        dynamic) fed to the int8 calibrator.
      seed: crop positions.

    Returns:
      dict with ``path``, ``format``, ``quantize``, ``input_size``, ``bytes``
      and, for TFLite, ``input_dtype``.

    Raises:
      ExportError: an unknown option, or a model the converter refuses (the
        message names the layer and the op).
    """
    from sr_zoo.models.analysis import describe

    output = pathlib.Path(output)
    check_options(output, format, quantize, input_size)
    try:
        info = describe(model)
    except ValueError as e:
        raise ExportError(str(e)) from None
    if info.channels not in (1, 3):
        raise ExportError(f"model {model.name!r} takes {info.channels} channels; supported: 1 (Y) or 3 (RGB)")
    output.parent.mkdir(parents=True, exist_ok=True)
    result = {"path": str(output), "format": format, "quantize": quantize, "input_size": "dynamic"}
    if format == "saved_model":
        _saved_model(model, info, output)
    elif format == "onnx":
        _onnx(model, info, output)
    else:
        size = _input_size(input_size)
        result["input_size"] = "dynamic" if size == (None, None) else f"{size[0]}x{size[1]}"
        result["input_dtype"] = _tflite(model, info, output, quantize, size, calibration_images,
                                        calibration_samples, seed)
    result["bytes"] = _size(output)
    return result


def check_options(output, format, quantize="none", input_size=None):
    """Raises :class:`ExportError` for an option :func:`export` would refuse (cheap: no model needed)."""
    if format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if quantize not in QUANTIZE:
        raise ExportError(f"quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    if format != "tflite" and quantize != "none":
        raise ExportError(f"quantize={quantize} applies to TFLite only; {format} keeps the float graph")
    if format != "tflite" and input_size not in (None, "dynamic"):
        raise ExportError(f"input_size applies to TFLite only; {format} takes any size")
    if format == "tflite":
        _input_size(input_size)
    suffix = {"tflite": ".tflite", "onnx": ".onnx"}.get(format)
    if suffix and pathlib.Path(output).suffix.lower() != suffix:
        raise ExportError(f"output {output} must end in {suffix} for format={format}")


def _size(path):
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _input_size(input_size):
    if input_size is None:
        return DEFAULT_INPUT_SIZE
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


def _saved_model(model, info, output):
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
    archive.write_out(str(output), verbose=False)


# --- ONNX -----------------------------------------------------------------------------------------


def _onnx(model, info, output):
    import tensorflow as tf

    import warnings

    signature = [tf.TensorSpec([None, None, None, info.channels], tf.float32, name="lr")]
    try:
        with warnings.catch_warnings():  # Keras' tf2onnx patch probes np.object (a numpy 2 FutureWarning)
            warnings.simplefilter("ignore", FutureWarning)
            model.export(str(output), format="onnx", input_signature=signature, verbose=False)
    except Exception as e:  # tf2onnx raises plain Exceptions with multi-line text
        raise ExportError(f"cannot convert model {model.name!r} to ONNX: {_explain(model, e)}") from None
    _restore_dropped_squeeze(output, info.channels)
    _check_onnx(model, info, output)


def _restore_dropped_squeeze(output, channels):
    """Puts back the output Squeeze that tf2onnx's optimizer sometimes drops.

    tf2onnx (1.17) writes a one-channel model's final NCHW->NHWC transpose as Reshape to (1, N, H, W, 1)
    followed by Squeeze(axis 0). Depending on Python's string-hash order (``PYTHONHASHSEED``: 3 drops it for
    ``espcn_x3``, 0-2 and 4-5 do not) the optimizer removes the Squeeze and declares the output (1, N, H, W, 1).
    """
    import onnx

    proto = onnx.load(str(output))
    if len(proto.graph.output) != 1:
        return
    (declared,) = proto.graph.output
    dims = declared.type.tensor_type.shape.dim
    producers = [n for n in proto.graph.node if declared.name in n.output]
    if (len(dims) != 5 or dims[0].dim_value != 1 or dims[4].dim_value != channels or len(producers) != 1
            or producers[0].op_type != "Reshape"):
        return
    (reshape,) = producers
    rank5 = f"{declared.name}__rank5"
    reshape.output[list(reshape.output).index(declared.name)] = rank5
    axes = onnx.numpy_helper.from_array(np.array([0], np.int64), f"{rank5}__axes")
    proto.graph.initializer.append(axes)
    proto.graph.node.append(onnx.helper.make_node("Squeeze", [rank5, axes.name], [declared.name]))
    dims.remove(dims[0])
    onnx.save(proto, str(output))


def _check_onnx(model, info, output):
    """ONNX's checker and strict shape inference on the written file: one (N, H, W, C) output, or an error.

    tf2onnx rewrites the NHWC<->NCHW transposes of one-channel models into Unsqueeze/Reshape/Squeeze chains;
    a chain that lost a node would still load and run, with a wrong output rank.
    """
    import onnx

    try:
        proto = onnx.shape_inference.infer_shapes(onnx.load(str(output)), check_type=True, strict_mode=True)
        onnx.checker.check_model(proto)
    except Exception as e:  # onnx's checker and inference errors have no common base class
        raise ExportError(f"the ONNX file {output} of model {model.name!r} is malformed: {e}") from None
    shapes = [[d.dim_value or None for d in o.type.tensor_type.shape.dim] for o in proto.graph.output]
    if len(shapes) != 1 or len(shapes[0]) != 4 or shapes[0][3] != info.channels:
        raise ExportError(f"the ONNX file {output} of model {model.name!r} has outputs of shapes {shapes}, "
                          f"expected one (N, H, W, {info.channels})")


# --- TFLite ---------------------------------------------------------------------------------------


def _tflite(model, info, output, quantize, size, calibration_images, samples, seed):
    import tensorflow as tf

    signature = [tf.TensorSpec([1, size[0], size[1], info.channels], tf.float32, name="lr")]
    builtins = tf.lite.OpsSet.TFLITE_BUILTINS
    options = {"target_spec": {"supported_ops": [builtins]}}  # Keras would also allow flex ops, which phones lack
    if quantize == "float16":
        options = {"optimizations": [tf.lite.Optimize.DEFAULT],
                   "target_spec": {"supported_ops": [builtins], "supported_types": [tf.float16]}}
    elif quantize == "dynamic":
        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    elif quantize == "int8":
        crops = calibration_crops(info, size, calibration_images, samples, seed)
        options = {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "representative_dataset": lambda: ([c[None]] for c in crops),
            "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
            "inference_input_type": tf.int8,
            "inference_output_type": tf.int8,
        }
    try:
        _convert(model, output, signature, options)
    except Exception as e:
        if quantize != "int8":
            raise ExportError(f"cannot convert model {model.name!r} to TFLite: {_explain(model, e)}") from None
        # Some graphs cannot take int8 at their edges; keep int8 inside, float32 in and out.
        options.pop("inference_input_type"), options.pop("inference_output_type")
        try:
            _convert(model, output, signature, options)
        except Exception as e2:
            raise ExportError(f"cannot convert model {model.name!r} to int8 TFLite: {_explain(model, e2)}") from None
        return "float32"
    return "int8" if quantize == "int8" else "float32"


def _convert(model, output, signature, options):
    import contextlib
    import io

    tmp = output.with_name(f".{output.stem}.partial.tflite")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the converter's progress prints
            model.export(str(tmp), format="litert", input_signature=signature, verbose=False, **options)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def _explain(model, error):
    """One line from a converter error: the layer and op it names, else the error's first line."""
    text = str(error)
    op = None
    for pattern in (r"'([\w.]+)' op is neither a custom op nor a flex op",
                    r"failed to legalize operation '([\w.]+)'",
                    r"op '([\w.]+)' is not supported", r"[Uu]nsupported ops?:?\s*([\w.]+)"):
        match = re.search(pattern, text)
        if match:
            op = match[1]
            break
    layer = None
    for suffix in ("", r"(?:_\d+)?"):  # graph names may carry Keras' "_1" suffixes: exact names first
        layer = layer or next((l.name for l in sorted(model.layers, key=lambda l: -len(l.name))
                               if re.search(rf"[\"/]{re.escape(l.name)}{suffix}[/\"@:]", text)), None)
    if layer and op:
        return f"layer {layer!r} uses {op}, which has no builtin kernel in the target runtime"
    if op:
        return f"op {op} has no builtin kernel in the target runtime"
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return f"layer {layer!r}: {first}" if layer else first


def calibration_crops(info, size, images=None, samples=16, seed=0):
    """Float32 LR crops ``(H, W, C)`` in [0, 1] for int8 calibration, as the model sees its inputs.

    HR training images are MATLAB-bicubic downscaled by the model's scale
    (Y for Y models), mirrored where an image is smaller than the crop, and
    cropped at random positions (one per sample, images in turn).
    """
    from sr_zoo.image import imresize, rgb_to_ycbcr

    images = _load_images(images)
    h, w = (96, 96) if size == (None, None) else size
    rng = np.random.default_rng(seed)
    lrs = []
    for hr in images[: max(samples, 1) * 4]:
        hr = hr[..., :3] if hr.ndim == 3 else np.repeat(hr[..., None], 3, axis=-1)
        lr = imresize(hr, 1 / info.scale)
        lrs.append(rgb_to_ycbcr(lr)[..., :1] if info.channels == 1 else lr)
    crops = []
    for k in range(samples):
        lr = lrs[k % len(lrs)]
        pad_h, pad_w = max(0, h - lr.shape[0]), max(0, w - lr.shape[1])
        if pad_h or pad_w:  # mirror-extend: still natural-image statistics
            lr = np.pad(lr, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
        y, x = rng.integers(0, lr.shape[0] - h + 1), rng.integers(0, lr.shape[1] - w + 1)
        crops.append(lr[y : y + h, x : x + w].astype(np.float32) / 255.0)
    return crops


def _load_images(images):
    from PIL import Image

    from sr_zoo import paths

    if images is None:
        root = paths.shared_data_dir()
        if root is None or not (root / "T91").is_dir():
            raise ExportError("int8 needs calibration images: pass calibration_images (--calibration_data=DIR); "
                              "the default, T91 in the shared data folder, is absent")
        images = root / "T91"
    if isinstance(images, (str, os.PathLike)):
        folder = pathlib.Path(images)
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
        if not files:
            raise ExportError(f"no calibration images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
        out = []
        for p in files:
            try:
                with Image.open(p) as im:
                    out.append(np.array(im.convert("RGB")))
            except OSError as e:
                raise ExportError(f"cannot read calibration image {p}: {e}") from None
        return out
    out = [np.asarray(a) for a in images]
    if not out or any(a.dtype != np.uint8 for a in out):
        raise ExportError("calibration_images must be a folder or a non-empty list of uint8 images")
    return out


# --- Running exported TFLite files ------------------------------------------------------------------


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
    """Runs an exported ``.tflite`` on float LR images ``(H, W, C)`` in [0, 1], like ``model(lr[None])[0]``.

    Quantizes int8 inputs and dequantizes int8 outputs with the file's
    parameters, and resizes the interpreter's input when an image's size
    differs from the current one.

    >>> tfl = TFLiteModel("espcn_x3_int8.tflite")
    >>> hr_y = tfl(lr_y[..., None] / 255.0)        # float (3H, 3W, 1)
    """

    def __init__(self, path, num_threads=None):
        self.interpreter, self.runtime = tflite_interpreter(path, num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[-1]  # LapSRN: the last pyramid level

    def __call__(self, lr):
        lr = np.asarray(lr, np.float32)[None]
        it = self.interpreter
        if tuple(self.input["shape"]) != lr.shape:
            it.resize_tensor_input(self.input["index"], lr.shape, strict=False)
            it.allocate_tensors()
            self.input = it.get_input_details()[0]
            self.output = it.get_output_details()[-1]
        it.set_tensor(self.input["index"], _quantize(lr, self.input))
        it.invoke()
        return _dequantize(it.get_tensor(self.output["index"]), self.output)[0]


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

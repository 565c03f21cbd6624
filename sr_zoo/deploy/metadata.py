"""What an exported file says about itself: model, scale, colour handling, value range, source file.

Written where each format keeps such things, so that the file's own runtime
(or a few lines without sr_zoo) reads it back:

* TFLite: an entry named ``sr_zoo`` in the flatbuffer's ``metadata`` list (the
  list the converter already uses for ``min_runtime_version``), holding UTF-8 JSON;
* ONNX: ``metadata_props``, one string per key (onnxruntime:
  ``session.get_modelmeta().custom_metadata_map``);
* SavedModel: a ``metadata`` signature without inputs that returns the JSON.

>>> meta = read("espcn_x3.onnx")        # {"model": "espcn_x3", "scale": "3", "io": "rgb", ...}
"""

import json
import pathlib

import numpy as np

from sr_zoo.paths import sha256

KEY = "sr_zoo"

_RGB_IN = "image: uint8 RGB (H, W, 3), values 0..255, any size"
_RGB_OUT = "uint8 RGB (scale*H, scale*W, 3), values 0..255"
_COLOUR = {
    ("rgb", 1): "inside the file, as sr_zoo.upscale: the network sees MATLAB rgb2ycbcr's Y (BT.601, rounded to 8 "
                "bits) in [0, 1]; its output, rounded to 8 bits, becomes Y; Cb and Cr are the input's, upscaled with "
                "MATLAB bicubic; ycbcr2rgb gives RGB",
    ("rgb", 3): "inside the file: RGB in [0, 1] through the network, the output rounded to 8 bits",
    ("model", 1): "outside the file: the input is MATLAB rgb2ycbcr's Y in [0, 1], the output Y in [0, 1]; upscale "
                  "Cb and Cr with MATLAB bicubic and convert back (sr_zoo.inference.to_model_input / "
                  "from_model_output do both)",
    ("model", 3): "outside the file: RGB in [0, 1] in and out",
}


def build(model, info, *, format, io, quantize="none", quantization_aware=False, name=None, source=None):
    """The metadata dict (string values) of an export of ``model`` (``info``: its ``describe``;
    ``quantization_aware``: it carries FakeQuant ranges)."""
    from sr_zoo import __version__

    if io == "rgb" and format == "saved_model":  # the serve signature also takes grey and alpha
        layout = {"input": "image: uint8 (H, W, C), C = 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA), values "
                           "0..255, any size",
                  "output": "uint8 (scale*H, scale*W, C), values 0..255", "value_range": "0..255 (uint8) in and out"}
    elif io == "rgb":
        layout = {"input": _RGB_IN, "output": _RGB_OUT, "value_range": "0..255 (uint8) in and out"}
    else:
        kind = "Y" if info.channels == 1 else "RGB"
        batch = "(1, H, W, {c})" if format == "tflite" else "(N, H, W, {c})"
        layout = {"input": f"lr: float32 {batch.format(c=info.channels)} {kind} in [0, 1]",
                  "output": f"float32 {batch.format(c=info.channels).replace('H, W', 'scale*H, scale*W')} {kind}, "
                            f"nominally [0, 1] (clip, then round x*255)",
                  "value_range": "[0, 1] float in and out"}
        if quantize == "int8":
            layout["value_range"] += " (int8 at the file's edges: scale and zero point in its tensor details)"
    meta = {
        "model": name or model.name,
        "scale": str(info.scale),
        "io": io,
        **layout,
        "colour": _COLOUR[(io, info.channels)],
        "quantize": quantize + (" (quantization-aware weights)" if quantize == "int8" and quantization_aware else ""),
        "producer": f"sr_zoo {__version__} (python -m sr_zoo.export)",
    }
    if source is not None:
        meta["source_file"] = pathlib.Path(source).name
        meta["source_sha256"] = sha256(source)
    return meta


def write_tflite(path, meta):
    """Adds ``meta`` as the ``sr_zoo`` metadata entry of the ``.tflite`` file at ``path``."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = KEY, len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (KEY, KEY.encode())] + [entry]
    flatbuffer_utils.write_model(model, str(path))


def write_onnx(path, meta):
    """Sets ``meta`` as the ``metadata_props`` of the ``.onnx`` file at ``path``."""
    import onnx

    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, meta)
    proto.doc_string = f"{meta['model']} x{meta['scale']}: {meta['input']} -> {meta['output']}"
    onnx.save(proto, str(path))


def read(path):
    """The metadata dict of an exported ``.tflite``, ``.onnx`` or SavedModel folder (``{}`` when it has none)."""
    path = pathlib.Path(path)
    if path.is_dir():
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        return json.loads(loaded.metadata().numpy().decode()) if hasattr(loaded, "metadata") else {}
    if path.suffix.lower() == ".onnx":
        import onnx

        return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    for entry in model.metadata or []:
        if entry.name in (KEY, KEY.encode()):
            return json.loads(bytes(model.buffers[entry.buffer].data).decode("utf-8"))
    return {}


__all__ = ["KEY", "build", "read", "write_onnx", "write_tflite"]

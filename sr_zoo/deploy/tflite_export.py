"""TFLite export: ``model.export(format="litert")`` with TFLite builtin ops only, and int8 calibration.

``io="rgb"``: the graph of :func:`sr_zoo.deploy.rgb_io.rgb_model`, input
``image`` uint8 ``(H, W, 3)``, output uint8 ``(sH, sW, 3)``; ``int8`` quantizes
the network's convolutions and leaves the colour steps to whichever kernels
the converter finds exact enough (float where int8 has none).
``io="model"``: the network alone, ``(1, H, W, C)`` float32 in [0, 1]
(``int8``: int8 in and out). A fixed size (the interpreter can resize the
input when the graph allows) or dynamic (``None``: resize before
``allocate_tensors``).
"""

import os
import pathlib

import numpy as np

from sr_zoo.deploy.errors import ExportError, explain

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


def export_tflite(model, info, output, *, io, quantize, size, calibration_images=None, samples=16, seed=0,
                  metadata=None, quantization_aware=False):
    """Writes ``model`` (already wrapped by ``rgb_model`` when ``io == "rgb"``) to ``output``; returns the
    input dtype's name. ``metadata``: a dict stored in the file (:mod:`sr_zoo.deploy.metadata`).
    ``quantization_aware``: the network carries FakeQuant ranges (:mod:`sr_zoo.models.quantization`)."""
    import tensorflow as tf

    if io == "rgb":
        signature = [tf.TensorSpec([size[0], size[1], 3], tf.uint8, name="image")]
    else:
        signature = [tf.TensorSpec([1, size[0], size[1], info.channels], tf.float32, name="lr")]
    builtins = tf.lite.OpsSet.TFLITE_BUILTINS
    options = {"target_spec": {"supported_ops": [builtins]}}  # Keras would also allow flex ops, which phones lack
    if quantize == "float16":
        options = {"optimizations": [tf.lite.Optimize.DEFAULT],
                   "target_spec": {"supported_ops": [builtins], "supported_types": [tf.float16]}}
    elif quantize == "dynamic":
        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    elif quantize == "int8" and quantization_aware:
        # The copy's FakeQuant ranges quantize the network; no calibration, so the colour steps (no ranges)
        # stay float32, and the file computes exactly what the copy simulated in training.
        options = {"optimizations": [tf.lite.Optimize.DEFAULT], "target_spec": {"supported_ops": [builtins]}}
        if io == "model":
            options.update(inference_input_type=tf.int8, inference_output_type=tf.int8)
    elif quantize == "int8":
        crops = calibration_crops(info, size, calibration_images, samples, seed, io=io)
        batch = (lambda c: c) if io == "rgb" else (lambda c: c[None])
        options = {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "representative_dataset": lambda: ([batch(c)] for c in crops),
            "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
        }
        if io == "rgb":  # uint8 already at the edges; the colour steps may stay float
            options["target_spec"]["supported_ops"].append(builtins)
        else:
            options.update(inference_input_type=tf.int8, inference_output_type=tf.int8)
    try:
        _convert(model, output, signature, options, metadata)
    except Exception as e:
        if quantize != "int8" or io == "rgb":
            raise ExportError(f"cannot convert model {model.name!r} to {'int8 ' if quantize == 'int8' else ''}"
                              f"TFLite: {explain(model, e)}") from None
        # Some graphs cannot take int8 at their edges; keep int8 inside, float32 in and out.
        options.pop("inference_input_type"), options.pop("inference_output_type")
        try:
            _convert(model, output, signature, options, metadata)
        except Exception as e2:
            raise ExportError(f"cannot convert model {model.name!r} to int8 TFLite: {explain(model, e2)}") from None
        return "float32"
    if io == "rgb":
        return "uint8"
    return "int8" if quantize == "int8" else "float32"


def _convert(model, output, signature, options, metadata):
    import contextlib
    import io

    from sr_zoo.deploy import metadata as file_metadata

    tmp = output.with_name(f".{output.stem}.partial.tflite")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the converter's progress prints
            model.export(str(tmp), format="litert", input_signature=signature, verbose=False, **options)
        if metadata:
            file_metadata.write_tflite(tmp, metadata)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def calibration_crops(info, size, images=None, samples=16, seed=0, io="model"):
    """LR crops for int8 calibration, as the file sees its inputs.

    ``io="model"``: float32 ``(H, W, C)`` in [0, 1] (Y for Y models);
    ``io="rgb"``: uint8 RGB ``(H, W, 3)``. HR training images are
    MATLAB-bicubic downscaled by the model's scale, mirrored where an image is
    smaller than the crop, and cropped at random positions (one per sample,
    images in turn).
    """
    from sr_zoo.image import imresize, rgb_to_ycbcr

    images = _load_images(images)
    h, w = (96, 96) if size == (None, None) else size
    rng = np.random.default_rng(seed)
    lrs = []
    for hr in images[: max(samples, 1) * 4]:
        hr = hr[..., :3] if hr.ndim == 3 else np.repeat(hr[..., None], 3, axis=-1)
        lr = imresize(hr, 1 / info.scale)
        lrs.append(rgb_to_ycbcr(lr)[..., :1] if info.channels == 1 and io == "model" else lr)
    crops = []
    for k in range(samples):
        lr = lrs[k % len(lrs)]
        pad_h, pad_w = max(0, h - lr.shape[0]), max(0, w - lr.shape[1])
        if pad_h or pad_w:  # mirror-extend: still natural-image statistics
            lr = np.pad(lr, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
        y, x = rng.integers(0, lr.shape[0] - h + 1), rng.integers(0, lr.shape[1] - w + 1)
        crop = lr[y : y + h, x : x + w]
        crops.append(crop if io == "rgb" else crop.astype(np.float32) / 255.0)
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



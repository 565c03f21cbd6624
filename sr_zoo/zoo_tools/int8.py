"""int8 weights: measure a quantization-aware run the way a phone will run it, and ship it beside the float model.

The measurement: the run's ``best.keras`` exported as the default TFLite file
(uint8 RGB in and out, int8 convolutions) and run in LiteRT's interpreter on
Set5, Set14 and B100, beside the shipped float model through
``sr_zoo.upscale`` in float32 (Y-PSNR, crop = scale, MATLAB LR images).
"""

import contextlib
import json
import os
import pathlib
import tempfile

from sr_zoo import pretrained

#: The largest Set5 drop (dB) of the int8 file against the float model that the zoo ships.
MAX_DROP = 0.1


@contextlib.contextmanager
def _float_and_int8(name, model, calibration_data=None):
    """``{"float": upscaler, "int8": upscaler}``: the shipped float model through ``sr_zoo.upscale`` and
    ``model`` exported once to an int8 TFLite file run in LiteRT; the file lives as long as the context."""
    from sr_zoo import evaluation
    from sr_zoo.deploy import exporters

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / f"{name}.int8.tflite"
        exporters.export(model, path, format="tflite", quantize="int8", calibration_images=calibration_data)
        tflite = exporters.TFLiteModel(path)
        yield {"float": evaluation.model_upscaler(pretrained.load(name))[0], "int8": lambda lr, s: tflite(lr)}


def _scores(methods, name, benchmarks, data_dir):
    """``{benchmark: {"float": dB, "int8": dB, "drop": dB}}`` of the two upscalers."""
    from sr_zoo import evaluation

    scale = pretrained.available()[name]["scale"]
    out = {}
    for s in evaluation.evaluate(methods, list(benchmarks), [scale], data_dir=data_dir):
        out.setdefault(s.benchmark, {})[s.method] = round(s.psnr, 4)
    for b in out.values():
        b["drop"] = round(b["float"] - b["int8"], 4)
    return out


def measure_int8(name, model, *, benchmarks=("set5",), data_dir=None, calibration_data=None):
    """``{benchmark: {"float": dB, "int8": dB, "drop": dB}}`` for ``model`` exported to int8 TFLite, against
    the shipped float model ``name``."""
    with _float_and_int8(name, model, calibration_data) as methods:
        return _scores(methods, name, benchmarks, data_dir)


def publish_int8(name, source, *, data_dir=None, allow_worse=False):
    """Ships the quantization-aware ``best.keras`` of the run folder (or file) ``source`` as ``<name>.int8.keras``.

    Refused (``ValueError``, nothing written) when the model is not quantization-aware, when its int8 file
    drops more than :data:`MAX_DROP` dB on Set5 against the float model, or when it is below the shipped int8
    weights (unless ``allow_worse``).
    """
    import keras

    from sr_zoo import models, recipes
    from sr_zoo.training import save_model_atomically
    from sr_zoo.zoo_tools.record import _training_record

    entry = pretrained.available().get(name)
    if entry is None:
        raise ValueError(f"{name!r} is not a shipped float model; int8 weights ship beside one")
    source = pathlib.Path(source)
    file = source / "best.keras" if source.is_dir() else source
    model = keras.models.load_model(file, compile=False)
    if not models.is_quantization_aware(model):
        raise ValueError(f"{file} is not quantization-aware (train it with --quantization_aware)")
    with _float_and_int8(name, model) as methods:  # one export: Set5 first (the gate), then the others
        measured = _scores(methods, name, ["set5"], data_dir)
        drop = measured["set5"]["drop"]
        if drop > MAX_DROP:
            raise ValueError(f"{file}: its int8 file loses {drop:.3f} dB on Set5 against the float {name} (at most "
                             f"{MAX_DROP} ships); nothing written")
        shipped = entry.get("int8")
        if shipped and not allow_worse and measured["set5"]["int8"] < shipped["measured"]["set5"]["int8"]:
            raise ValueError(f"{file}: int8 Set5 {measured['set5']['int8']:.4f} dB is below the shipped "
                             f"{shipped['measured']['set5']['int8']:.4f} dB; nothing replaced (--allow_worse)")
        measured.update(_scores(methods, name, ["set14", "b100"], data_dir))
    out = pretrained.WEIGHTS_DIR / f"{name}.int8.keras"
    save_model_atomically(model, out)
    record = _training_record(recipes.zoo(name), source) if source.is_dir() else {}
    keep = ("data", "backend", "device", "steps", "steps_run", "batch_size", "precision", "wall_seconds",
            "validation_curve")
    training = {"command": recipes.int8_command(name), **{k: record[k] for k in keep if k in record}}
    entries = pretrained.manifest()
    entries[name]["int8"] = {
        "file": out.name,
        "sha256": pretrained.sha256(out),
        "bytes": out.stat().st_size,
        "float_sha256": entry["sha256"],
        "measured": {"protocol": "int8 TFLite file (uint8 RGB in and out, python -m sr_zoo.export "
                                 "--quantize=int8) in LiteRT's interpreter against the float model through "
                                 "sr_zoo.upscale (float32); " + pretrained.PROTOCOL, **measured},
        "training": training,
    }
    tmp = pretrained.MANIFEST.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(entries, indent=1) + "\n")
    os.replace(tmp, pretrained.MANIFEST)
    return entries[name]["int8"]

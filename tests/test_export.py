"""sr_zoo.deploy.export / python -m sr_zoo.export: SavedModel, TFLite and ONNX against the Keras model."""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import sr_zoo
import sr_zoo.pretrained
from sr_zoo.deploy import exporters

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
DATA = sr_zoo.paths.shared_data_dir()
needs_data = pytest.mark.skipif(DATA is None, reason="shared SR data (../shared/data or $SR_ZOO_DATA) not found")


def _set5_lr(scale):
    folder = DATA / "Set5" / "SelfExSR" / f"image_SRF_{scale}"
    return [np.array(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*_LR.png"))]


def _y(rgb):
    return sr_zoo.rgb_to_ycbcr(rgb)[..., :1].astype(np.float32) / 255.0


@needs_data
def test_saved_model_is_byte_identical_to_upscale_in_a_fresh_process(tmp_path):
    espcn = sr_zoo.pretrained.load("espcn_x3")  # Y model: rgb2ycbcr, Y, bicubic chroma inside the graph
    edsr = sr_zoo.models.get("edsr", scale=2, channels=3, preset="tiny")  # RGB model
    exporters.export(espcn, tmp_path / "espcn", format="saved_model")
    exporters.export(edsr, tmp_path / "edsr", format="saved_model")
    images = _set5_lr(3)
    jobs = {f"espcn_{k}": ("espcn", im) for k, im in enumerate(images)}
    jobs["espcn_grey"] = ("espcn", images[1][..., :1])
    jobs["edsr_rgb"] = ("edsr", images[2])
    jobs["edsr_grey"] = ("edsr", images[3][..., :1])
    np.savez(tmp_path / "in.npz", **{k: im for k, (_, im) in jobs.items()})
    (tmp_path / "models.json").write_text(json.dumps({k: m for k, (m, _) in jobs.items()}))
    script = (
        "import json, sys, numpy as np, tensorflow as tf\n"  # no sr_zoo import: the SavedModel stands alone
        "d = sys.argv[1]; models = json.load(open(d + '/models.json')); inputs = np.load(d + '/in.npz')\n"
        "loaded = {m: tf.saved_model.load(d + '/' + m) for m in set(models.values())}\n"
        "np.savez(d + '/out.npz', **{k: loaded[m].serve(tf.constant(inputs[k])).numpy() for k, m in models.items()})\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=tmp_path, env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")
    models = {"espcn": espcn, "edsr": edsr}
    for key, (name, image) in jobs.items():
        np.testing.assert_array_equal(out[key], sr_zoo.upscale(models[name], image, precision="float32"), err_msg=key)


@needs_data
def test_onnx_runs_in_onnxruntime_like_keras(tmp_path):
    import onnx
    import onnxruntime

    model = sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn-s")  # PReLU, sub-pixel transposed convolution
    path = tmp_path / "fsrcnn.onnx"
    result = exporters.export(model, path, format="onnx")
    assert result["bytes"] == path.stat().st_size > 0
    # (export has already refused a file that fails ONNX's checker or whose one output is not (N, H, W, 1))
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    # onnxruntime with every graph optimisation but the CPU-specific layout pass (ORT_ENABLE_ALL adds the NCHWc
    # transformer, which rewrites the graph for the machine's SIMD width: one CI machine's default session
    # returned this file's output as (1, 1, H, W, 1), which no machine here reproduced)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    for image in _set5_lr(3):  # dynamic spatial size: every Set5 image through one file
        y = _y(image)[None]
        np.testing.assert_allclose(session.run(None, {name: y})[0], model(y, training=False), atol=1e-4, rtol=0,
                                   err_msg=f"graph: {ops}")


def _remove_last_squeeze(proto):
    """Removes the graph's last Squeeze, wiring its producer straight to the Squeeze's output."""
    (squeeze,) = [n for n in proto.graph.node if n.op_type == "Squeeze"][-1:]
    (producer,) = [n for n in proto.graph.node if squeeze.input[0] in n.output]
    producer.output[list(producer.output).index(squeeze.input[0])] = squeeze.output[0]
    proto.graph.node.remove(squeeze)


def test_onnx_file_that_lost_a_node_is_refused(tmp_path, monkeypatch):
    # tf2onnx turns a one-channel model's NCHW->NHWC output transpose into Reshape + Squeeze; without the
    # Squeeze the file still runs, returning (1, N, H, W, 1). The exporter's check must refuse such a file.
    import onnx

    model = sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn-s")
    export = model.export

    def export_and_drop_the_last_squeeze(filepath, **kwargs):
        export(filepath, **kwargs)
        proto = onnx.load(filepath)
        _remove_last_squeeze(proto)
        onnx.save(proto, filepath)

    monkeypatch.setattr(model, "export", export_and_drop_the_last_squeeze)
    refused = r"fsrcnn\.onnx of model .* (is malformed: .*differ in rank|has outputs)"
    with pytest.raises(exporters.ExportError, match=refused):
        exporters.export(model, tmp_path / "fsrcnn.onnx", format="onnx")


def test_onnx_output_squeeze_that_tf2onnx_dropped_is_restored(tmp_path, monkeypatch):
    # What tf2onnx writes under some PYTHONHASHSEEDs (3 for espcn_x3): no final Squeeze, and the output
    # declared as (1, N, H, W, 1). The exporter puts the Squeeze back; the file must then run like Keras.
    import onnx
    import onnxruntime

    model = sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn-s")
    export = model.export

    def export_as_tf2onnx_sometimes_does(filepath, **kwargs):
        export(filepath, **kwargs)
        proto = onnx.load(filepath)
        _remove_last_squeeze(proto)
        (declared,) = proto.graph.output
        declared.CopyFrom(onnx.helper.make_tensor_value_info(declared.name, onnx.TensorProto.FLOAT,
                                                             [1, None, None, None, 1]))
        onnx.save(proto, filepath)

    monkeypatch.setattr(model, "export", export_as_tf2onnx_sometimes_does)
    path = tmp_path / "fsrcnn.onnx"
    exporters.export(model, path, format="onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y = np.random.default_rng(0).random((1, 20, 24, 1), dtype=np.float32)
    np.testing.assert_allclose(session.run(None, {"lr": y})[0], model(y, training=False), atol=1e-4, rtol=0)


@needs_data
def test_tflite_variants_against_keras(tmp_path):
    model = sr_zoo.pretrained.load("espcn_x3")
    lr, hr_image = _set5_lr(3)[2], None  # butterfly
    hr_image = np.array(Image.open(DATA / "Set5" / "SelfExSR" / "image_SRF_3" / "img_003_SRF_3_HR.png").convert("RGB"))
    y = _y(lr)
    reference = np.asarray(model(y[None], training=False))[0]
    hr_y = sr_zoo.rgb_to_ycbcr(hr_image)[..., 0].astype(np.float64)

    def psnr(sr):
        sr_y = np.clip(np.floor(sr[..., 0] * 255.0 + 0.5), 0, 255)
        mse = np.mean((sr_y - hr_y)[3:-3, 3:-3] ** 2)
        return 10 * np.log10(255.0**2 / mse)

    sizes = {}
    for quantize, tolerance in [("none", 1e-4), ("float16", 2e-2), ("dynamic", 5e-2), ("int8", None)]:
        path = tmp_path / f"espcn_{quantize}.tflite"
        result = exporters.export(model, path, format="tflite", quantize=quantize, input_size=(24, 32),
                                  calibration_samples=4)
        sizes[quantize] = result["bytes"]
        tfl = exporters.TFLiteModel(path)
        assert tuple(tfl.input["shape"]) == (1, 24, 32, 1)
        assert tfl.input["dtype"] == (np.int8 if quantize == "int8" else np.float32)
        assert tfl(y[:24, :32]).shape == (72, 96, 1)
        sr = tfl(y)  # the whole image: the interpreter's input is resized
        if tolerance is not None:
            assert np.abs(sr - reference).max() < tolerance, quantize
        # Quantisation costs (the shipped ESPCN x3; benchmarks/bench_export.py measures all of Set5): float16
        # nothing, dynamic-range ~0.1 dB, full int8 ~1 dB today (above the 0.2 dB target: open work).
        limit = {"none": 0.02, "float16": 0.02, "dynamic": 0.2, "int8": 1.5}[quantize]
        assert psnr(reference) - psnr(sr) < limit, quantize
    assert sizes["dynamic"] < sizes["float16"] < sizes["none"] and sizes["int8"] < sizes["float16"]


def test_layer_without_tflite_kernel_is_named(tmp_path):
    import tensorflow as tf

    class Digamma(keras.layers.Layer):
        def call(self, x):
            return tf.math.digamma(x + 1.0)

    inputs = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = Digamma(name="odd_activation")(x)
    outputs = keras.layers.Conv2D(1, 3, padding="same")(x)
    model = keras.Model(inputs, outputs, name="odd")
    with pytest.raises(exporters.ExportError, match=r"layer 'odd_activation' uses tf\.Digamma") as error:
        exporters.export(model, tmp_path / "odd.tflite", format="tflite", input_size=(8, 8))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "odd.tflite").exists()


def test_export_cli(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "sr_zoo.export", *map(str, args)], cwd=ROOT, env=ENV,
                              capture_output=True, text=True, timeout=300)

    ok = cli("--model=espcn_x3", "--format=tflite", "--quantize=float16", "--input_size=16x16", tmp_path / "m.tflite")
    assert ok.returncode == 0 and ok.stderr == "", ok.stderr[-2000:]
    assert "quantize=float16, input 16x16 float32" in ok.stdout
    assert exporters.TFLiteModel(tmp_path / "m.tflite")(np.zeros((16, 16, 1))).shape == (48, 48, 1)
    cases = [
        (["--model=espcn_x3", "--format=onnx", tmp_path / "x.tflite"], ".onnx"),
        (["--model=espcn_x3", "--format=tflite", "--input_size=big", tmp_path / "y.tflite"], "input_size"),
    ]
    runs = [subprocess.Popen([sys.executable, "-m", "sr_zoo.export", *map(str, args)], cwd=ROOT, env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args, _ in cases]
    for (args, named), run in zip(cases, runs):
        _, stderr = run.communicate(timeout=300)
        lines = stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and "Traceback" not in stderr, (args, stderr[-2000:])
        assert lines[0].startswith("python -m sr_zoo.export: error: ") and lines[0].endswith("(see --help)"), lines
        assert named in lines[0], (args, lines)

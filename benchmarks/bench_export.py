"""Exported variants beside the Keras model: Set5 Y-PSNR, file size, latency per 640x360 frame.

    python benchmarks/bench_export.py                      # espcn_x3, fsrcnn x3, edsr tiny x2
    python benchmarks/bench_export.py --models=espcn_x3 --repeats=3

PSNR: Set5 (SelfExSR MATLAB LR), Y channel, crop = scale; the TFLite files are
exported at 360x640 and their interpreter input is resized per image. int8 is
calibrated on 16 LR crops of T91. Latency: one 360x640 LR input (640x360
frame) through the model graph, median of --repeats after a warm-up, on this
CPU (the interpreter with its default threads; Keras through
sr_zoo.inference.predict). FSRCNN and tiny EDSR are the zoo's untrained
(initialised) models: their PSNR column is not a result, their drop is what
quantization costs those graphs. Also states whether OpenCV's
cv2.dnn.readNetFromONNX runs each ONNX file (max |difference| to Keras).
"""

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import sr_zoo  # noqa: E402
import sr_zoo.pretrained  # noqa: E402
from sr_zoo import inference  # noqa: E402
from sr_zoo.deploy import exporters  # noqa: E402

def _shipped_or_initialised(zoo_name, **config):
    """The zoo's trained model where one is shipped, else the architecture's initialised weights."""
    if zoo_name in sr_zoo.pretrained.available():
        return lambda: sr_zoo.pretrained.load(zoo_name)
    return lambda: sr_zoo.models.get(**config)


MODELS = {
    "espcn_x3": _shipped_or_initialised("espcn_x3", name="espcn", scale=3),
    "fsrcnn-s_x3": _shipped_or_initialised("fsrcnn-s_x3", name="fsrcnn", scale=3, preset="fsrcnn-s"),
    "edsr-tiny_x2": _shipped_or_initialised("edsr-tiny_x2", name="edsr", scale=2, channels=3, preset="tiny",
                                            filters=4),
}


def set5(scale):
    folder = sr_zoo.paths.shared_data_dir() / "Set5" / "SelfExSR" / f"image_SRF_{scale}"
    pairs = []
    for lr_path in sorted(folder.glob("*_LR.png")):
        hr_path = lr_path.with_name(lr_path.name.replace("_LR", "_HR"))
        pairs.append((np.array(Image.open(lr_path).convert("RGB")), np.array(Image.open(hr_path).convert("RGB"))))
    return pairs


def y_psnr(hr, lr, sr_float, scale):
    """The zoo's protocol (evaluate.py, the manifest): PSNR on the Y of the RGB image that
    sr_zoo.upscale would return for this output."""
    return sr_zoo.metrics.psnr(hr, inference.from_model_output(sr_float, lr, scale), crop_border=scale)


def timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calibration_samples", type=int, default=16, help="int8: LR crops of T91 to calibrate on")
    args = parser.parse_args()
    rows = []
    runtime = None
    frame = np.random.default_rng(0).random((360, 640, 3), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            model = MODELS[name]()
            trained = name in sr_zoo.pretrained.available()
            info = sr_zoo.models.describe(model)
            c, s = info.channels, info.scale
            pairs = set5(s)
            keras_psnr = np.mean([y_psnr(hr, lr, inference.predict(model, inference.to_model_input(lr, c), precision="float32"), s) for lr, hr in pairs])
            x = frame[..., :c]
            keras_latency = timed(lambda: inference.predict(model, x, precision="float32"), args.repeats)
            keras_path = pathlib.Path(tmp) / f"{name}.keras"
            model.save(keras_path)
            rows.append((name, "Keras (.keras)", keras_psnr, 0.0, keras_path.stat().st_size, keras_latency,
                         "shipped weights" if trained else "initialised, untrained weights"))
            for quantize in exporters.QUANTIZE:
                path = pathlib.Path(tmp) / f"{name}_{quantize}.tflite"
                result = exporters.export(model, path, format="tflite", quantize=quantize, input_size=(360, 640),
                                          calibration_samples=args.calibration_samples)
                tfl = exporters.TFLiteModel(path)
                runtime = tfl.runtime
                psnr = np.mean([y_psnr(hr, lr, tfl(inference.to_model_input(lr, c)), s) for lr, hr in pairs])
                tfl = exporters.TFLiteModel(path)  # back to its exported 360x640 input
                latency = timed(lambda: tfl(x), args.repeats)
                label = f"TFLite {'float32' if quantize == 'none' else quantize}"
                rows.append((name, label, psnr, psnr - keras_psnr, result["bytes"], latency, result["input_dtype"]))
            onnx_path = pathlib.Path(tmp) / f"{name}.onnx"
            exporters.export(model, onnx_path, format="onnx")
            import onnxruntime

            session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
            run = lambda im: session.run(None, {"lr": im[None]})[-1][0]  # noqa: E731
            psnr = np.mean([y_psnr(hr, lr, run(inference.to_model_input(lr, c)), s) for lr, hr in pairs])
            rows.append((name, "ONNX (onnxruntime)", psnr, psnr - keras_psnr, onnx_path.stat().st_size,
                         timed(lambda: run(x), args.repeats), "float32"))
            rows[-1] = rows[-1][:6] + (rows[-1][6] + "; cv2.dnn: " + opencv_check(onnx_path, model, x[:64, :64]),)
    print(f"TFLite interpreter: {runtime}; Set5 Y-PSNR (crop = scale); latency per 640x360 frame (360x640 LR input)\n")
    print("| model | variant | Set5 PSNR (dB) | vs Keras (dB) | size (KiB) | latency (ms) | notes |")
    print("|---|---|---|---|---|---|---|")
    for name, label, psnr, drop, size, latency, notes in rows:
        print(f"| {name} | {label} | {psnr:.2f} | {drop:+.3f} | {size / 1024:.0f} | {latency * 1000:.0f} | {notes} |")


def opencv_check(path, model, x):
    try:
        import cv2
    except ImportError:
        return "not installed"
    try:
        net = cv2.dnn.readNetFromONNX(str(path))
        net.setInput(x[None])
        out = net.forward()
        ref = np.asarray(model(x[None], training=False))
        out = out.reshape(ref.shape) if out.size == ref.size else out
        return f"runs (OpenCV {cv2.__version__}, max diff {np.abs(out - ref).max():.1e})"
    except Exception as e:  # report, don't fail the table
        return f"fails (OpenCV {cv2.__version__}: {str(e).splitlines()[0][:80]})"


if __name__ == "__main__":
    main()

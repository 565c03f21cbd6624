"""Choose a model: every shipped model's quality, size and speed per runtime, on this CPU.

    python benchmarks/bench_export.py --models=espcn_x3,fsrcnn-s_x3 --repeats=3
    python benchmarks/bench_export.py       # every shipped model (LapSRN and EDSR-baseline: minutes each;
                                            # LapSRN x8's 5120x2880 output needed more than 24 GB)

Per model: Set5 Y-PSNR (crop = scale, MATLAB LR; the manifest's float number,
and the int8 TFLite file's own, measured here in LiteRT), parameters, and the
milliseconds one 640x360 RGB frame takes from uint8 RGB in to uint8 RGB out:

* Keras: ``sr_zoo.upscale`` in float32 and in ``precision="auto"`` (bfloat16
  for EDSR and LapSRN on CPUs with AMX / AVX512-BF16);
* TFLite: the default export (uint8 RGB in and out, dynamic size resized to
  the frame) in float32 and int8 (the zoo's quantization-aware weights where
  they ship, else the float weights calibrated on T91), LiteRT's interpreter
  with XNNPACK on 1 and 2 threads;
* ONNX Runtime: the default export, CPU provider, 2 intra-op threads.

Median of --repeats after one warm-up run; the load average is printed
beside the table. Ends with one recommendation per use and scale.
"""

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import sr_zoo  # noqa: E402
import sr_zoo.pretrained  # noqa: E402
from sr_zoo import evaluation  # noqa: E402
from sr_zoo.deploy import exporters  # noqa: E402

FRAME = (360, 640)  # LR height, width: a 640x360 frame
PHONE_MS = 100  # "phone": int8 TFLite on one thread within this per 640x360 frame
SERVER_MS = 1000  # "CPU server": the fastest runtime within this


def timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def tflite_runner(path, threads, shape):
    tfl = exporters.TFLiteModel(path, num_threads=threads)
    frame = np.zeros(shape, np.uint8)
    tfl(frame)  # resizes the dynamic input to the frame once
    return lambda: tfl(frame)


def onnx_runner(path, shape):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    frame = np.zeros(shape, np.uint8)
    return lambda: session.run(None, {"image": frame})


def opencv_check(path, image):
    """Whether OpenCV's DNN module runs the ONNX file, and its largest difference to onnxruntime (levels)."""
    try:
        import cv2
    except ImportError:
        return "OpenCV not installed"
    import onnxruntime

    reference = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"image": image})[0]
    try:
        net = cv2.dnn.readNetFromONNX(str(path))
        net.setInput(image, "image")
        out = net.forward().reshape(reference.shape)
    except Exception as e:  # report, don't fail the table
        return f"cv2.dnn {cv2.__version__} fails: {str(e).splitlines()[0][:80]}"
    return f"cv2.dnn {cv2.__version__} runs it (max difference {np.abs(out.astype(int) - reference).max()})"


def int8_model(name):
    path = sr_zoo.pretrained.int8_path(name)
    return (sr_zoo.pretrained.load_int8(name), "QAT") if path else (sr_zoo.pretrained.load(name), "PTQ")


def measure(name, repeats, tmp):
    entry = sr_zoo.pretrained.available()[name]
    model, scale = sr_zoo.pretrained.load(name), entry["scale"]
    frame = np.random.default_rng(0).integers(0, 256, (*FRAME, 3), dtype=np.uint8)
    row = {"name": name, "scale": scale, "set5": entry["measured"]["set5"]["psnr"], "params": entry["parameters"]}
    row["keras_f32"] = timed(lambda: sr_zoo.upscale(model, frame, precision="float32"), repeats)
    row["keras_auto"] = timed(lambda: sr_zoo.upscale(model, frame, precision="auto"), repeats)
    f32 = pathlib.Path(tmp) / f"{name}.tflite"
    exporters.export(model, f32, format="tflite")
    for threads in (1, 2):
        row[f"tfl_f32_{threads}"] = timed(tflite_runner(f32, threads, frame.shape), repeats)
    i8 = pathlib.Path(tmp) / f"{name}.int8.tflite"
    weights, row["int8_weights"] = int8_model(name)
    try:
        exporters.export(weights, i8, format="tflite", quantize="int8")
        for threads in (1, 2):
            row[f"tfl_i8_{threads}"] = timed(tflite_runner(i8, threads, frame.shape), repeats)
        tfl = exporters.TFLiteModel(i8)
        (score,) = evaluation.evaluate({"int8": lambda lr, s: tfl(lr)}, ["set5"], [scale])
        row["set5_int8"] = score.psnr
    except (RuntimeError, ValueError) as e:  # report it in the table, keep measuring the rest
        row["int8_error"] = str(e).splitlines()[0][:70]
    onnx = pathlib.Path(tmp) / f"{name}.onnx"
    exporters.export(model, onnx, format="onnx")
    row["onnx"] = timed(onnx_runner(onnx, frame.shape), repeats)
    row["opencv"] = opencv_check(onnx, frame[:48, :64])
    return row


def recommendations(rows):
    lines = []
    for scale in sorted({r["scale"] for r in rows}):
        at = [r for r in rows if r["scale"] == scale]
        phone = [r for r in at if r.get("tfl_i8_1", float("inf")) <= PHONE_MS]
        fastest = lambda r: min(r["keras_auto"], r["tfl_f32_2"], r["onnx"])  # noqa: E731
        server = [r for r in at if fastest(r) <= SERVER_MS]
        best = max(at, key=lambda r: r["set5"])
        parts = []
        if phone:
            p = max(phone, key=lambda r: r["set5_int8"])
            parts.append(f"phone: {p['name']} int8 TFLite ({p['set5_int8']:.2f} dB, {p['tfl_i8_1']:.0f} ms on one "
                         f"thread)")
        if server:
            s = max(server, key=lambda r: r["set5"])
            parts.append(f"CPU server: {s['name']} ({s['set5']:.2f} dB, {fastest(s):.0f} ms at its fastest)")
        parts.append(f"best quality: {best['name']} ({best['set5']:.2f} dB, {fastest(best):.0f} ms at its fastest)")
        lines.append(f"- x{scale}: " + "; ".join(parts))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(sr_zoo.pretrained.available()))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            rows.append(measure(name, args.repeats, tmp))
            print(f"measured (load average {os.getloadavg()[0]:.2f}): {rows[-1]}", file=sys.stderr, flush=True)
    print(f"ms per 640x360 RGB frame, uint8 in and out, on this CPU ({os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}); Set5 Y-PSNR (dB), crop = scale\n")
    print("| model | Set5 float | Set5 int8 TFLite | parameters | Keras float32 | Keras auto | TFLite float32 "
          "1 / 2 threads | TFLite int8 1 / 2 threads | ONNX Runtime |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "int8_error" in r:
            int8_psnr, int8_ms = f"fails ({r['int8_error']})", "-"
        else:
            int8_psnr, int8_ms = f"{r['set5_int8']:.2f} ({r['int8_weights']})", f"{r['tfl_i8_1']:.0f} / {r['tfl_i8_2']:.0f}"
        print(f"| {r['name']} | {r['set5']:.2f} | {int8_psnr} | {r['params']:,} | {r['keras_f32']:.0f} | "
              f"{r['keras_auto']:.0f} | {r['tfl_f32_1']:.0f} / {r['tfl_f32_2']:.0f} | {int8_ms} | {r['onnx']:.0f} |")
    print("\nONNX files in OpenCV: " + "; ".join(f"{r['name']}: {r['opencv']}" for r in rows))
    print("QAT: the zoo's quantization-aware int8 weights; PTQ: the float weights calibrated on 16 T91 crops.")
    print(f"Phone: int8 TFLite within {PHONE_MS} ms on one thread; CPU server: the fastest runtime within "
          f"{SERVER_MS} ms.\n")
    print("\n".join(recommendations(rows)))


if __name__ == "__main__":
    main()

"""Choose a model: every shipped model's quality, size and speed per runtime, on this CPU.

    python benchmarks/bench_export.py --models=espcn_x3,fsrcnn-s_x3 --repeats=3
    python benchmarks/bench_export.py       # every shipped model (LapSRN and EDSR-baseline: minutes each)

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

Each model is measured in a child process that saves its row after each
runtime: when one runtime fails or is killed (LapSRN x8's 5120x2880 output
can need more than 24 GB in TFLite), its cells read "–", the reason is
printed under the table, and the other runtimes and models are still measured.
"""

import argparse
import json
import multiprocessing
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


def keras_cells(row, model, frame, repeats, tmp):
    return {"keras_f32": timed(lambda: sr_zoo.upscale(model, frame, precision="float32"), repeats),
            "keras_auto": timed(lambda: sr_zoo.upscale(model, frame, precision="auto"), repeats)}


def tflite_float32_cells(row, model, frame, repeats, tmp):
    path = pathlib.Path(tmp) / f"{row['name']}.tflite"
    exporters.export(model, path, format="tflite")
    return {f"tfl_f32_{threads}": timed(tflite_runner(path, threads, frame.shape), repeats) for threads in (1, 2)}


def tflite_int8_cells(row, model, frame, repeats, tmp):
    path = pathlib.Path(tmp) / f"{row['name']}.int8.tflite"
    weights, kind = int8_model(row["name"])
    cells = {"int8_weights": kind}
    exporters.export(weights, path, format="tflite", quantize="int8")
    for threads in (1, 2):
        cells[f"tfl_i8_{threads}"] = timed(tflite_runner(path, threads, frame.shape), repeats)
    tfl = exporters.TFLiteModel(path)
    (score,) = evaluation.evaluate({"int8": lambda lr, s: tfl(lr)}, ["set5"], [row["scale"]])
    cells["set5_int8"] = score.psnr
    return cells


def onnx_cells(row, model, frame, repeats, tmp):
    path = pathlib.Path(tmp) / f"{row['name']}.onnx"
    exporters.export(model, path, format="onnx")
    return {"onnx": timed(onnx_runner(path, frame.shape), repeats), "opencv": opencv_check(path, frame[:48, :64])}


#: The runtimes measured per model, in order: their names in the table and the function measuring their cells.
STAGES = {"keras": ("Keras", keras_cells), "tflite_float32": ("TFLite float32", tflite_float32_cells),
          "tflite_int8": ("TFLite int8", tflite_int8_cells), "onnx": ("ONNX Runtime", onnx_cells)}


def save(row_path, row):
    row_path.write_text(json.dumps(row))


def measure_stages(row_path, repeats, tmp):
    """Child process: measures the row's stages not yet done, saving the row after each (a killed process
    keeps what it measured; ``running`` names the stage it died in)."""
    row = json.loads(row_path.read_text())
    model = sr_zoo.pretrained.load(row["name"])
    frame = np.random.default_rng(0).integers(0, 256, (*FRAME, 3), dtype=np.uint8)
    for stage in STAGES:
        if stage in row["done"]:
            continue
        row["running"] = stage
        save(row_path, row)
        try:
            row.update(STAGES[stage][1](row, model, frame, repeats, tmp))
        except Exception as e:  # report it in the table, keep measuring the rest
            row["failed"][stage] = str(e).splitlines()[0][:70]
        row["done"].append(stage)
        del row["running"]
        save(row_path, row)


def exit_reason(exitcode):
    if exitcode == -9:
        return "killed by signal 9 (out of memory?)"
    return f"killed by signal {-exitcode}" if exitcode < 0 else f"exit code {exitcode}"


def measure(name, repeats, tmp):
    """One model's row. Its stages run in a child process; when the out-of-memory killer (or anything else)
    ends it, the stage it was in is marked failed and a new process measures the rest."""
    entry = sr_zoo.pretrained.available()[name]
    row = {"name": name, "scale": entry["scale"], "set5": entry["measured"]["set5"]["psnr"],
           "params": entry["parameters"], "done": [], "failed": {}}
    row_path = pathlib.Path(tmp) / f"{name}.row.json"
    save(row_path, row)
    while len(row["done"]) < len(STAGES):
        child = multiprocessing.get_context("spawn").Process(target=measure_stages, args=(row_path, repeats, tmp))
        child.start()
        child.join()
        row = json.loads(row_path.read_text())
        if child.exitcode != 0:
            stage = row.pop("running", list(STAGES)[len(row["done"])])
            row["failed"][stage] = exit_reason(child.exitcode)
            row["done"].append(stage)
            save(row_path, row)
    return row


def fastest(row):
    """The row's fastest float runtime in ms (inf when none was measured)."""
    return min((row[k] for k in ("keras_auto", "tfl_f32_2", "onnx") if k in row), default=float("inf"))


def recommendations(rows):
    lines = []
    for scale in sorted({r["scale"] for r in rows}):
        at = [r for r in rows if r["scale"] == scale]
        phone = [r for r in at if r.get("tfl_i8_1", float("inf")) <= PHONE_MS]
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
        speed = f"{fastest(best):.0f} ms at its fastest" if fastest(best) < float("inf") else "no runtime measured"
        parts.append(f"best quality: {best['name']} ({best['set5']:.2f} dB, {speed})")
        lines.append(f"- x{scale}: " + "; ".join(parts))
    return lines


def cells(row, *keys):
    """Milliseconds joined by " / ", "–" where a stage failed."""
    return " / ".join(f"{row[k]:.0f}" if k in row else "–" for k in keys)


def table(rows):
    lines = ["| model | Set5 float | Set5 int8 TFLite | parameters | Keras float32 | Keras auto | TFLite float32 "
             "1 / 2 threads | TFLite int8 1 / 2 threads | ONNX Runtime |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        int8 = f"{r['set5_int8']:.2f} ({r['int8_weights']})" if "set5_int8" in r else "–"
        lines.append(f"| {r['name']} | {r['set5']:.2f} | {int8} | {r['params']:,} | {cells(r, 'keras_f32')} | "
                     f"{cells(r, 'keras_auto')} | {cells(r, 'tfl_f32_1', 'tfl_f32_2')} | "
                     f"{cells(r, 'tfl_i8_1', 'tfl_i8_2')} | {cells(r, 'onnx')} |")
    failures = [f"{r['name']} {STAGES[stage][0]}: {why}" for r in rows for stage, why in r["failed"].items()]
    if failures:
        lines.append("\nNot measured (–): " + "; ".join(failures))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(sr_zoo.pretrained.available()))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    unknown = [n for n in args.models.split(",") if n not in sr_zoo.pretrained.available()]
    if unknown:
        parser.error(f"--models: not in the zoo: {', '.join(unknown)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            rows.append(measure(name, args.repeats, tmp))
            print(f"measured (load average {os.getloadavg()[0]:.2f}): {rows[-1]}", file=sys.stderr, flush=True)
    print(f"ms per 640x360 RGB frame, uint8 in and out, on this CPU ({os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}); Set5 Y-PSNR (dB), crop = scale\n")
    print("\n".join(table(rows)))
    opencv = [f"{r['name']}: {r['opencv']}" for r in rows if "opencv" in r]
    print("\nONNX files in OpenCV: " + "; ".join(opencv))
    print("QAT: the zoo's quantization-aware int8 weights; PTQ: the float weights calibrated on 16 T91 crops.")
    print(f"Phone: int8 TFLite within {PHONE_MS} ms on one thread; CPU server: the fastest runtime within "
          f"{SERVER_MS} ms.\n")
    print("\n".join(recommendations(rows)))


if __name__ == "__main__":
    main()

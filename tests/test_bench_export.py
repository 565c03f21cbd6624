"""benchmarks/bench_export.py's table when a runtime fails for a model (measured rows are kept)."""

import benchmark_scripts

bench_export = benchmark_scripts.load("bench_export")


def _row(name, scale, set5, **cells):
    return {"name": name, "scale": scale, "set5": set5, "params": 1000, "done": list(bench_export.STAGES),
            "failed": cells.pop("failed", {}), **cells}


def test_failed_stage_reads_dash_and_is_explained():
    light = _row("espcn_x8", 8, 25.0, keras_f32=50, keras_auto=40, tfl_f32_1=90, tfl_f32_2=60, tfl_i8_1=80,
                 tfl_i8_2=50, set5_int8=24.95, int8_weights="QAT", onnx=70)
    heavy = _row("lapsrn_x8", 8, 26.0, keras_f32=9000, keras_auto=3000, onnx=12000,
                 failed={"tflite_float32": "killed by signal 9 (out of memory?)", "tflite_int8": "killed by signal 9"})
    lines = bench_export.table([light, heavy])
    heavy_line = next(line for line in lines if line.startswith("| lapsrn_x8"))
    assert heavy_line == "| lapsrn_x8 | 26.00 | – | 1,000 | 9000 | 3000 | – / – | – / – | 12000 |"
    assert lines[-1] == ("\nNot measured (–): lapsrn_x8 TFLite float32: killed by signal 9 (out of memory?); "
                         "lapsrn_x8 TFLite int8: killed by signal 9")
    # recommendations use what was measured: lapsrn_x8's fastest is Keras auto, its phone pick is the light model
    (line,) = bench_export.recommendations([light, heavy])
    assert line == ("- x8: phone: espcn_x8 int8 TFLite (24.95 dB, 80 ms on one thread); CPU server: espcn_x8 "
                    "(25.00 dB, 40 ms at its fastest); best quality: lapsrn_x8 (26.00 dB, 3000 ms at its fastest)")


def test_row_with_no_runtime_measured():
    row = _row("lapsrn_x8", 8, 26.0, failed={s: "killed by signal 9" for s in bench_export.STAGES})
    assert bench_export.recommendations([row]) == ["- x8: best quality: lapsrn_x8 (26.00 dB, no runtime measured)"]
    assert bench_export.table([row])[2] == "| lapsrn_x8 | 26.00 | – | 1,000 | – | – | – / – | – / – | – |"


def test_exit_reasons():
    assert bench_export.exit_reason(-9) == "killed by signal 9 (out of memory?)"
    assert bench_export.exit_reason(-15) == "killed by signal 15"
    assert bench_export.exit_reason(1) == "exit code 1"

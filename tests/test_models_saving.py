"""Acceptance: every architecture and preset saves to .keras and loads in a fresh process.

The fresh process does only ``import sr_zoo`` and ``keras.models.load_model(path)``
(default ``safe_mode=True``), then must reproduce the outputs bit for bit. All
models go through ONE subprocess to keep the test fast.
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import sr_zoo
from sr_zoo import models

# (file stem, get() arguments): every architecture, every preset, every option value that adds layers.
CONFIGS = [
    ("srcnn_9-1-5", dict(name="srcnn", scale=3, preset="9-1-5")),
    ("srcnn_9-3-5", dict(name="srcnn", scale=2, preset="9-3-5")),
    ("srcnn_9-5-5_rgb", dict(name="srcnn", scale=4, preset="9-5-5", channels=3)),
    ("espcn_tanh", dict(name="espcn", scale=3)),
    ("espcn_relu_rgb", dict(name="espcn", scale=2, channels=3, activation="relu")),
    ("espcn_gelu", dict(name="espcn", scale=4, activation="gelu")),
    ("fsrcnn", dict(name="fsrcnn", scale=3, preset="fsrcnn")),
    ("fsrcnn-s", dict(name="fsrcnn", scale=2, preset="fsrcnn-s")),
    ("lapsrn_x4", dict(name="lapsrn", scale=4)),
    ("lapsrn_x8_subpixel_last", dict(name="lapsrn", scale=8, depth=2, upsampling="subpixel", outputs="last")),
    ("edsr_baseline_x2", dict(name="edsr", scale=2, channels=3, preset="baseline")),
    ("edsr_baseline_y_x3", dict(name="edsr", scale=3, channels=1, preset="baseline", num_blocks=2)),
    ("edsr_full_x4", dict(name="edsr", scale=4, channels=3, preset="full")),
    ("edsr_tiny_4", dict(name="edsr", scale=2, channels=3, preset="tiny", filters=4)),
]

LOADER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import sr_zoo
    import keras

    manifest = json.load(open(sys.argv[1]))
    report = {}
    for stem, entry in manifest["models"].items():
        model = keras.models.load_model(entry["path"])
        x = np.load(entry["input"])
        out = model(x)
        outs = [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]
        expected = np.load(entry["expected"])
        refs = [expected[f"out{i}"] for i in range(len(expected.files))]
        report[stem] = {
            "class": type(model).__name__,
            "params": int(model.count_params()),
            "identical": len(outs) == len(refs) and all(np.array_equal(a, b) for a, b in zip(outs, refs)),
        }
        if stem == manifest["upscale_with"]:
            image = np.load(manifest["image"])
            report["upscale"] = sr_zoo.upscale(model, image, jit_compile=False).tolist()
    compiled = keras.models.load_model(manifest["compiled"])
    report["compiled"] = {
        "loss": type(compiled.loss).__name__,
        "epsilon": getattr(compiled.loss, "epsilon", None),
        "metrics": sorted(type(m).__name__ for m in compiled.metrics[-1].metrics)
        if hasattr(compiled.metrics[-1], "metrics") else None,
    }
    print("REPORT" + json.dumps(report))
    """
)


def test_every_model_round_trips_through_keras_file_in_a_fresh_process(tmp_path):
    rng = np.random.default_rng(0)
    manifest = {"models": {}}
    params = {}
    for stem, config in CONFIGS:
        config = dict(config)
        model = models.get(config.pop("name"), **config)
        channels = model.inputs[0].shape[-1]
        x = rng.random((1, 6, 5, channels), dtype=np.float32)
        out = model(x)
        outs = [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]
        path = tmp_path / f"{stem}.keras"
        model.save(path)
        np.save(tmp_path / f"{stem}_in.npy", x)
        np.savez(tmp_path / f"{stem}_out.npz", **{f"out{i}": o for i, o in enumerate(outs)})
        manifest["models"][stem] = {
            "path": str(path),
            "input": str(tmp_path / f"{stem}_in.npy"),
            "expected": str(tmp_path / f"{stem}_out.npz"),
        }
        params[stem] = model.count_params()
        if stem == "espcn_tanh":
            image = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
            np.save(tmp_path / "image.npy", image)
            expected_upscale = sr_zoo.upscale(model, image, jit_compile=False)
    manifest["upscale_with"] = "espcn_tanh"
    manifest["image"] = str(tmp_path / "image.npy")

    compiled = models.get("lapsrn", scale=2, depth=1, outputs="last")
    compiled.compile(
        optimizer="adam",
        loss=sr_zoo.losses.Charbonnier(epsilon=2e-3),
        metrics=[sr_zoo.metrics.PSNR(crop_border=2), sr_zoo.metrics.SSIM(crop_border=2)],
    )
    y = rng.random((2, 16, 16, 1), dtype=np.float32)
    compiled.fit(y[:, ::2, ::2], y, epochs=1, verbose=0)  # builds the metrics
    compiled.save(tmp_path / "compiled.keras")
    manifest["compiled"] = str(tmp_path / "compiled.keras")
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path / "manifest.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("REPORT")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    report = json.loads(lines[-1][len("REPORT") :])
    for stem, _ in CONFIGS:
        assert report[stem] == {"class": "Functional", "params": params[stem], "identical": True}, stem
    np.testing.assert_array_equal(np.asarray(report["upscale"], np.uint8), expected_upscale)
    assert report["compiled"]["loss"] == "Charbonnier"
    assert report["compiled"]["epsilon"] == pytest.approx(2e-3)


def test_every_preset_is_covered_by_the_acceptance_list():
    covered = {(c["name"], c.get("preset") or models.available()[c["name"]]["default_preset"]) for _, c in CONFIGS}
    every = {(name, preset) for name, meta in models.available().items() for preset in meta["presets"]}
    assert every <= covered


def test_custom_objects_are_registered_under_sr_zoo():
    for obj in (
        models.layers.BicubicUpsample,
        models.layers.SubPixel,
        models.layers.MeanShift,
        models.layers.ResidualScaling,
        models.layers.BilinearUpsampling,
        sr_zoo.losses.MSE,
        sr_zoo.losses.L1,
        sr_zoo.losses.Charbonnier,
        sr_zoo.losses.PerceptualLoss,
        sr_zoo.losses.mse,
        sr_zoo.losses.l1,
        sr_zoo.losses.charbonnier,
    ):
        name = keras.saving.get_registered_name(obj)
        assert name.startswith("sr_zoo>"), name
        assert keras.saving.get_registered_object(name) is obj

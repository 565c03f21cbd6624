"""python -m sr_zoo.upscale: a file, a folder (with a broken file), and the function it wraps."""

import os
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image

import sr_zoo

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_file_and_folder(tmp_path):
    model = sr_zoo.models.get("espcn", scale=2)
    model_path = tmp_path / "espcn_x2.keras"
    model.save(model_path)
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    photos.mkdir()
    images = {
        "rgb.png": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "gray.png": rng.integers(0, 256, (17, 13), dtype=np.uint8),
        "rgba.png": rng.integers(0, 256, (12, 12, 4), dtype=np.uint8),
    }
    for name, array in images.items():
        Image.fromarray(array).save(photos / name)
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")

    single = subprocess.run(
        [sys.executable, "-m", "sr_zoo.upscale", f"--model={model_path}", str(photos / "rgb.png"), str(tmp_path / "rgb_x2.png")],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    out = np.array(Image.open(tmp_path / "rgb_x2.png"))
    np.testing.assert_array_equal(out, sr_zoo.upscale(model, images["rgb.png"]))

    folder = subprocess.run(
        [sys.executable, "-m", "sr_zoo.upscale", f"--model={model_path}", str(photos), str(tmp_path / "out")],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert folder.returncode == 1  # one file could not be read: reported, the others written
    assert "broken.png" in folder.stderr
    assert "3 of 4 images written" in folder.stdout
    assert np.array(Image.open(tmp_path / "out" / "gray.png")).shape == (34, 26)
    assert np.array(Image.open(tmp_path / "out" / "rgba.png")).shape == (24, 24, 4)


def test_bad_model_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sr_zoo.upscale", "--model=no_such_model", str(ROOT / "README.md"), str(tmp_path / "x.png")],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "unknown pretrained model 'no_such_model'" in result.stderr


def test_importing_the_cli_module_keeps_the_function():
    import importlib

    importlib.import_module("sr_zoo.upscale")
    model = sr_zoo.models.get("espcn", scale=2)
    assert sr_zoo.upscale(model, np.zeros((8, 8), np.uint8)).shape == (16, 16)

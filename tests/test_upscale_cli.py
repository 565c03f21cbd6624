"""python -m sr_zoo.upscale: a file, a folder (with a broken file), bad inputs, and the function it wraps."""

import os
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

import sr_zoo
import sr_zoo.pretrained

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
    assert result.returncode == 2  # a usage error (sr_zoo.cli)
    assert "unknown pretrained model 'no_such_model'" in result.stderr


def test_importing_the_cli_module_keeps_the_function():
    import importlib

    importlib.import_module("sr_zoo.upscale")
    model = sr_zoo.models.get("espcn", scale=2)
    assert sr_zoo.upscale(model, np.zeros((8, 8), np.uint8)).shape == (16, 16)


def _cli(*args, env=ENV):
    return subprocess.run([sys.executable, "-m", "sr_zoo.upscale", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_bad_input_matrix_is_one_line_exit_2(tmp_path):
    """Each bad input ends in one line naming the file or flag, exit code 2 (a usage error), no traceback (issue 9)."""
    rng = np.random.default_rng(1)
    good = tmp_path / "good.png"
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(good)
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    broken_model = tmp_path / "broken.keras"
    broken_model.write_bytes((ROOT / "sr_zoo" / "weights" / "espcn_x3.keras").read_bytes()[:1000])
    cases = [
        (["--model=espcn_x3", text, tmp_path / "o1.png"], "notes.png"),
        (["--model=espcn_x3", empty, tmp_path / "o2.png"], "empty.png"),
        (["--model=espcn_x3", truncated, tmp_path / "o3.png"], "truncated.png"),
        (["--model=espcn_x3", "--tile=0", good, tmp_path / "o4.png"], "--tile"),
        (["--model=espcn_x3", good, tmp_path / "o5.txt"], "o5.txt"),
        ([f"--model={broken_model}", good, tmp_path / "o6.png"], "broken.keras"),
    ]
    # Started together: most of each run is TensorFlow's import.
    runs = [subprocess.Popen([sys.executable, "-m", "sr_zoo.upscale", *map(str, args)], cwd=ROOT, env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args, _ in cases]
    for (args, named), run in zip(cases, runs):
        _, stderr = run.communicate(timeout=300)
        result = subprocess.CompletedProcess(args, run.returncode, "", stderr)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, (args, result.stderr[-2000:])
        assert len(lines) == 1 and lines[0].startswith("python -m sr_zoo.upscale: error: "), (args, result.stderr)
        assert lines[0].endswith("(see --help)"), (args, lines)
        assert named in lines[0], (args, lines)
        assert "File not found" not in lines[0]  # Keras' words for a truncated .keras that exists


def test_help_exits_0_and_no_tensorflow_startup_lines(tmp_path):
    help_ = _cli("--help")
    assert help_.returncode == 0 and "--model" in help_.stdout and "--crf" in help_.stdout
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 256, (12, 14, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the user's default
    quiet = _cli("--model=espcn_x3", tmp_path / "a.png", tmp_path / "a_x3.png", env=env)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert quiet.stderr == "", quiet.stderr[-2000:]  # no oneDNN/CUDA/absl/XLA lines, no retracing warnings
    assert quiet.stdout.startswith(f"{tmp_path / 'a.png'} -> ")


def test_an_output_that_is_its_input_is_refused(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    image = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(image).save(photos / "a.png")
    before = (photos / "a.png").read_bytes()
    (tmp_path / "link.png").symlink_to(photos / "a.png")
    cases = [
        (photos / "a.png", photos / "a.png", "is the input"),
        (photos / "a.png", photos / ".." / "photos" / "a.png", "is the input"),  # another spelling
        (photos / "a.png", tmp_path / "link.png", "is the input"),  # a symlink to it
        (photos, photos, "is the input"),
        (photos, photos / "x2", "inside the input folder"),
    ]
    import importlib

    from sr_zoo.cli_argparse import CliError

    upscale_cli = importlib.import_module("sr_zoo.upscale")  # the module (sr_zoo.upscale is also the function)

    for source, target, message in cases:  # the check itself, in this process
        with pytest.raises(CliError, match=message):
            upscale_cli._refuse_output_over_input(source, target)
    # ... and what the tool does with it, once in a process of its own: one line, exit 2, nothing replaced
    run = subprocess.run(
        [sys.executable, "-m", "sr_zoo.upscale", "--model=espcn_x2", "--overwrite", str(photos / "a.png"),
         str(tmp_path / "link.png")], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "is the input" in run.stderr, run.stderr[-1000:]
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert (photos / "a.png").read_bytes() == before and sorted(p.name for p in photos.iterdir()) == ["a.png"]


NO_TF_UPSCALE = (
    "import sys, runpy\n"
    "for name in ('tensorflow', 'tensorflow_datasets', 'tf_keras'): sys.modules[name] = None\n"
    "sys.argv[0] = 'sr_zoo.upscale'\n"
    "runpy.run_module('sr_zoo.upscale', run_name='__main__')\n"
)


def test_upscale_cli_runs_without_tensorflow(tmp_path):
    """No TensorFlow, no KERAS_BACKEND: the package picks JAX and upscales as under TensorFlow."""
    pytest.importorskip("jax")
    image = np.random.default_rng(4).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "a.png")
    env = {k: v for k, v in ENV.items() if k != "KERAS_BACKEND"}
    run = subprocess.run([sys.executable, "-c", NO_TF_UPSCALE, "--model=espcn_x3", str(tmp_path / "a.png"),
                          str(tmp_path / "a_x3.png")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = np.array(Image.open(tmp_path / "a_x3.png"))
    diff = np.abs(out.astype(int) - sr_zoo.upscale(sr_zoo.pretrained.load("espcn_x3"), image, precision="float32"))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-2

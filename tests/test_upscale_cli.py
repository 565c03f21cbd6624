"""python -m sr_zoo.upscale: a file, a folder (with a broken file), bad inputs, and the function it wraps."""

import os
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
from cli_batch import run_batch

import sr_zoo
import sr_zoo.pretrained

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The tests' command lines whose process boundary is not what they check, in one process
    (tests/cli_batch.py: each as `python -m sr_zoo.upscale ...` would, output captured per command).
    The tool in processes of its own: test_help_exits_0_and_no_tensorflow_startup_lines (its quiet
    start-up), test_upscale_cli_runs_without_tensorflow, and tests/test_cli_errors.py (one line, exit 2)."""
    root = tmp_path_factory.mktemp("upscale")
    rng = np.random.default_rng(0)
    photos = root / "photos"
    photos.mkdir()
    images = {
        "rgb.png": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "gray.png": rng.integers(0, 256, (17, 13), dtype=np.uint8),
        "rgba.png": rng.integers(0, 256, (12, 12, 4), dtype=np.uint8),
    }
    for name, array in images.items():
        Image.fromarray(array).save(photos / name)
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    model = sr_zoo.models.get("espcn", scale=2)
    model.save(root / "espcn_x2.keras")
    bad, cases = _bad_inputs(root / "bad")
    own = root / "own"  # an output that is its input (through a symlink)
    own.mkdir()
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(own / "a.png")
    (root / "link.png").symlink_to(own / "a.png")
    before = (own / "a.png").read_bytes()
    commands = {
        "single": [f"--model={root / 'espcn_x2.keras'}", photos / "rgb.png", root / "rgb_x2.png"],
        "folder": [f"--model={root / 'espcn_x2.keras'}", photos, root / "out"],
        "bad_model": ["--model=no_such_model", ROOT / "README.md", root / "x.png"],
        "help": ["--help"],
        "own": ["--model=espcn_x2", "--overwrite", own / "a.png", root / "link.png"],
        **{f"bad{i}": args for i, (args, _) in enumerate(cases)},
    }
    results = run_batch([["-m", "sr_zoo.upscale", *args] for args in commands.values()], cwd=ROOT, env=ENV)
    return {"root": root, "model": model, "images": images, "bad_inputs": cases, "own_before": before,
            **dict(zip(commands, results))}


def test_file_and_folder(batch):
    root, single, folder = batch["root"], batch["single"], batch["folder"]
    assert single.returncode == 0, single.stderr[-2000:]
    out = np.array(Image.open(root / "rgb_x2.png"))
    np.testing.assert_array_equal(out, sr_zoo.upscale(batch["model"], batch["images"]["rgb.png"]))

    assert folder.returncode == 1  # one file could not be read: reported, the others written
    assert "broken.png" in folder.stderr
    assert "3 of 4 images written" in folder.stdout
    assert np.array(Image.open(root / "out" / "gray.png")).shape == (34, 26)
    assert np.array(Image.open(root / "out" / "rgba.png")).shape == (24, 24, 4)


def test_bad_model_is_a_clear_error(batch):
    result = batch["bad_model"]
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


def _bad_inputs(folder):
    folder.mkdir()
    rng = np.random.default_rng(1)
    good = folder / "good.png"
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(good)
    text = folder / "notes.png"
    text.write_text("not an image\n")
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    truncated = folder / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    broken_model = folder / "broken.keras"
    broken_model.write_bytes((ROOT / "sr_zoo" / "weights" / "espcn_x3.keras").read_bytes()[:1000])
    return folder, [
        (["--model=espcn_x3", text, folder / "o1.png"], "notes.png"),
        (["--model=espcn_x3", empty, folder / "o2.png"], "empty.png"),
        (["--model=espcn_x3", truncated, folder / "o3.png"], "truncated.png"),
        (["--model=espcn_x3", "--tile=0", good, folder / "o4.png"], "--tile"),
        (["--model=espcn_x3", good, folder / "o5.txt"], "o5.txt"),
        ([f"--model={broken_model}", good, folder / "o6.png"], "broken.keras"),
    ]


def test_bad_input_matrix_is_one_line_exit_2(batch):
    """Each bad input ends in one line naming the file or flag, exit code 2 (a usage error), no traceback (issue 9)."""
    for i, (args, named) in enumerate(batch["bad_inputs"]):
        result = batch[f"bad{i}"]
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, (args, result.stderr[-2000:])
        assert len(lines) == 1 and lines[0].startswith("python -m sr_zoo.upscale: error: "), (args, result.stderr)
        assert lines[0].endswith("(see --help)"), (args, lines)
        assert named in lines[0], (args, lines)
        assert "File not found" not in lines[0]  # Keras' words for a truncated .keras that exists
    assert sorted(p.name for p in (batch["root"] / "bad").iterdir()) == [  # no output written
        "broken.keras", "empty.png", "good.png", "notes.png", "truncated.png"]


def test_help_exits_0_and_no_tensorflow_startup_lines(batch, tmp_path):
    help_ = batch["help"]
    assert help_.returncode == 0 and "--model" in help_.stdout and "--crf" in help_.stdout
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 256, (12, 14, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the user's default
    quiet = _cli("--model=espcn_x3", tmp_path / "a.png", tmp_path / "a_x3.png", env=env)  # a process of its own
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert quiet.stderr == "", quiet.stderr[-2000:]  # no oneDNN/CUDA/absl/XLA lines, no retracing warnings
    assert quiet.stdout.startswith(f"{tmp_path / 'a.png'} -> ")


def test_an_output_that_is_its_input_is_refused(batch, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    image = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(image).save(photos / "a.png")
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
    # ... and what the tool does with it (the batch's command, as `python -m sr_zoo.upscale`): one line, exit 2,
    # nothing replaced
    run, own = batch["own"], batch["root"] / "own"
    assert run.returncode == 2 and "is the input" in run.stderr, run.stderr[-1000:]
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert (own / "a.png").read_bytes() == batch["own_before"] and sorted(p.name for p in own.iterdir()) == ["a.png"]


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

"""What the README calls muted stays muted: stderr of `import sr_zoo`, a LapSRN training step, a first TFDS build."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# the user's environment: TensorFlow's own log level left to the package's defaults
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def _stderr_lines(args, **kwargs):
    run = subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300,
                         **kwargs)
    assert run.returncode == 0, run.stderr[-2000:]
    return [line for line in run.stderr.splitlines() if line.strip()], run.stdout


def test_import_is_silent():
    lines, _ = _stderr_lines(["-c", "import sr_zoo, keras; sr_zoo.models.get('espcn', scale=3)"])
    assert lines == []


def test_lapsrn_training_step_has_no_grappler_errors(data_dir, tmp_path):
    lines, stdout = _stderr_lines([
        "train.py", "--model=lapsrn", "--scale=4", f"--datasets={data_dir / 'T91'}", "--model_options=depth=2",
        "--patch_size=48", "--batch_size=4", "--epochs=1", "--steps_per_epoch=3", "--validation=none",
        f"--output_dir={tmp_path / 'run'}", "--verbose=0"])
    assert lines == [], lines[:5]  # e.g. "E0000 ... meta_optimizer.cc ... remapper failed" (LeakyReLU's gradient)
    assert "Model:" in stdout


def test_first_tfds_build_prints_one_line_and_no_progress_bars(tmp_path):
    lines, stdout = _stderr_lines([
        "train.py", "--model=espcn", "--scale=3", "--datasets=sample_images", "--validation=sample_images",
        "--epochs=1", "--steps_per_epoch=2", f"--tfds_data_dir={tmp_path / 'tfds'}",
        f"--output_dir={tmp_path / 'run'}", "--verbose=0"])
    assert lines == [], lines[:5]  # TFDS's "I... dataset_info.py" lines and tqdm bars
    assert "Building the embedded TFDS dataset sample_images" in stdout and "Built sample_images in" in stdout
    assert "Downloading and preparing" not in stdout

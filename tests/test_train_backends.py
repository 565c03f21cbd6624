"""train.py under KERAS_BACKEND=jax with TensorFlow unimportable: image folders through FolderPairs,
LayerwiseSGD, checkpoints and resume after SIGKILL, validation and best.keras (loaded here under
TensorFlow), LapSRN's pyramid targets, the NaN guard, and one-line errors for TF-only features."""

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
from cli_batch import run_batch
from kill_resume import kill_after_checkpoint

import sr_zoo  # noqa: F401  (registers the zoo's layers for loading)
from sr_zoo import recipes

pytestmark = [
    pytest.mark.backends,
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install jax)"),
]

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONUNBUFFERED": "1"}
# train.py with `import tensorflow` failing, as where TensorFlow is not installed.
NO_TF_TRAIN = (
    "import sys, runpy\n"
    "for name in ('tensorflow', 'tensorflow_datasets', 'tf_keras'): sys.modules[name] = None\n"
    "sys.argv[0] = 'train.py'\n"
    "runpy.run_path('train.py', run_name='__main__')\n"
)


def command(args):
    return [sys.executable, "-c", NO_TF_TRAIN, *args]


def run(args, timeout=600):
    return subprocess.run(command(args), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def _latest(out):
    path = out / "checkpoints" / "latest.json"
    return json.loads(path.read_text()) if path.exists() else None


@pytest.fixture(scope="module")
def t91(data_dir):
    return str(data_dir / "T91")


def test_sigkill_then_resume_under_jax_and_best_model_loads_under_tensorflow(t91, data_dir, tmp_path):
    out = tmp_path / "run"
    # ESPCN's recipe optimizer: SGD with the 10x slower reconstruction layer (LayerwiseSGD), a step schedule.
    args = ["--model=espcn", "--scale=3", f"--datasets={t91}", "--batch_size=16", "--epochs=3",
            "--steps_per_epoch=20", "--lr_schedule=step", "--lr_decay_steps=25", "--lr_decay_factor=0.5",
            "--checkpoint_every=7", f"--validation_dir={data_dir}", f"--output_dir={out}", "--verbose=0"]
    killed_at = kill_after_checkpoint(command(args), cwd=ROOT, env=ENV, out=out, min_step=14, timeout=300)
    assert 14 <= killed_at["global_step"] < 60, killed_at

    resumed = run(args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    m = re.search(r"Resuming from \S+ at step (\d+)", resumed.stdout)
    assert m and int(m.group(1)) >= killed_at["global_step"], resumed.stdout[-2000:]
    final = _latest(out)
    assert final["global_step"] == final["optimizer_iterations"] == 60  # optimizer state restored
    assert final["learning_rate"] == pytest.approx(recipes.get("espcn", 3).learning_rate * 0.5 ** (60 // 25))
    line = resumed.stdout.strip().splitlines()[-1]
    match = re.match(r"Best model: (\S+) \(set5 x3 PSNR ([\d.]+) dB vs bicubic ([\d.]+) dB; Y, crop 3\)", line)
    assert match, line
    assert float(match.group(3)) == pytest.approx(30.39, abs=0.02)
    # The JAX-trained best.keras opens under TensorFlow (this process) with default arguments.
    assert keras.backend.backend() == "tensorflow"
    model = keras.models.load_model(match.group(1))
    best = json.loads((out / "best.json").read_text())
    assert best["psnr"] == pytest.approx(float(match.group(2)), abs=0.005)
    assert [c[0] for c in final["callbacks"]["validation"]["curve"]] == [1, 2, 3]  # validation state resumed too
    x = np.random.default_rng(0).random((1, 10, 10, 1), dtype=np.float32)
    assert model(x).shape == (1, 30, 30, 1)


def test_lapsrn_pyramid_nan_guard_and_tf_only_features_under_jax(t91, tmp_path):
    refusals = [
        (["--datasets=t91"], "dataset 't91': under KERAS_BACKEND=jax training reads image folders; TFDS datasets "
                             "need KERAS_BACKEND=tensorflow (pip install tensorflow tensorflow-datasets)"),
        ([f"--datasets={t91}", "--strategy=mirrored"], "--strategy=mirrored is a tf.distribute strategy"),
        ([f"--datasets={t91}", "--degradation=gaussian", "--blur_sigma=1.6"],
         "degradation='gaussian' needs the tf.data pipeline"),
    ]
    # The five commands in one process without TensorFlow (tests/cli_batch.py, each as `python train.py ...`
    # would); the real process is test_sigkill_then_resume_under_jax_and_best_model_loads_under_tensorflow's.
    lapsrn, nan, *refused = run_batch([["train.py", *args] for args in [
        ["--model=lapsrn", "--scale=4", f"--datasets={t91}", "--model_options=depth=2", "--batch_size=2",
         "--rescale=1,0.7",  # the paper's scale augmentation, through FolderPairs
         "--epochs=1", "--steps_per_epoch=3", "--validation=none", f"--output_dir={tmp_path / 'lapsrn'}",
         "--verbose=0"],
        ["--model=espcn", "--scale=3", f"--datasets={t91}", "--optimizer=sgd", "--learning_rate=1e12",
         "--lr_schedule=constant", "--epochs=1", "--steps_per_epoch=30", "--checkpoint_every=1",
         "--validation=none", f"--output_dir={tmp_path / 'nan'}", "--verbose=0"],
        *[["--model=espcn", "--scale=3", *flags, f"--output_dir={tmp_path / 'x'}", "--dry_run"]
          for flags, _ in refusals],
    ]], cwd=ROOT, env=ENV, block_tensorflow=True)
    assert lapsrn.returncode == 0, lapsrn.stderr[-3000:]
    assert _latest(tmp_path / "lapsrn")["global_step"] == 3

    assert nan.returncode == 1, nan.stdout[-2000:] + nan.stderr[-2000:]
    bad_step = int(re.search(r"loss became NaN/Inf at step (\d+)", nan.stderr).group(1))
    assert _latest(tmp_path / "nan")["global_step"] == bad_step - 1

    for (_, message), result in zip(refusals, refused):
        assert result.returncode == 2, result.stdout[-1000:] + result.stderr[-1000:]
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("train.py: error: ") and message in lines[0], result.stderr

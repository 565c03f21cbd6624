"""train.py --strategy=data_parallel: Keras' keras.distribution.DataParallel under KERAS_BACKEND=jax.

Four logical CPU devices stand in for four GPUs (XLA_FLAGS=--xla_force_host_platform_device_count=4, as
Keras' own CI does). A data-parallel run follows the single-device run step by step (same seed, same global
batch), writes the same checkpoints and a best.keras that loads under TensorFlow, resumes after SIGKILL, and
leaves no distribution set behind; the strategies of the other backend and an indivisible batch are refused
with one line.
"""

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from kill_resume import kill_after_checkpoint

pytestmark = [
    pytest.mark.backends,
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install jax)"),
]

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEVICES = 4
ENV = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONUNBUFFERED": "1",
       "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={DEVICES}".strip()}
ENV.pop("JAX_PLATFORMS", None)
# train.py with TensorFlow unimportable; every step's logged loss (the epoch's running mean) and the
# distribution left set after train() go to $SR_ZOO_TEST_LOG.
TRAIN = (
    "import sys, runpy, json, os\n"
    "for name in ('tensorflow', 'tensorflow_datasets', 'tf_keras'): sys.modules[name] = None\n"
    "import keras\n"
    "from sr_zoo import training\n"
    "steps = []\n"
    "record = training.NonFiniteLossGuard.on_train_batch_end\n"
    "def on_train_batch_end(self, batch, logs=None):\n"
    "    steps.append([batch, float(logs['loss'])])\n"
    "    record(self, batch, logs)\n"
    "training.NonFiniteLossGuard.on_train_batch_end = on_train_batch_end\n"
    "sys.argv[0] = 'train.py'\n"
    "try:\n"
    "    runpy.run_path('train.py', run_name='__main__')\n"
    "finally:\n"
    "    if os.environ.get('SR_ZOO_TEST_LOG'):\n"
    "        with open(os.environ['SR_ZOO_TEST_LOG'], 'w') as f:\n"
    "            json.dump({'steps': steps, 'distribution': repr(keras.distribution.distribution())}, f)\n"
)
# ESPCN x3 with Adam on 17x17 LR patches: a few milliseconds a step on a CPU.
QUICK = ["--model=espcn", "--scale=3", "--optimizer=adam", "--learning_rate=3e-3", "--lr_schedule=constant",
         "--reconstruction_lr_multiplier=1", "--batch_size=8", "--verbose=0"]


def command(args):
    return [sys.executable, "-c", TRAIN, *args]


def run(args, log=None, env=None, timeout=300):
    env = {**(env or ENV), **({"SR_ZOO_TEST_LOG": str(log)} if log else {})}
    return subprocess.run(command(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _latest(out):
    path = out / "checkpoints" / "latest.json"
    return json.loads(path.read_text()) if path.exists() else None


def _h5_arrays(path):
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: arrays.setdefault(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return arrays


@pytest.fixture(scope="module")
def t91(data_dir):
    return str(data_dir / "T91")


def test_data_parallel_on_four_devices_follows_the_single_device_run(t91, tmp_path):
    args = [*QUICK, f"--datasets={t91}", "--epochs=2", "--steps_per_epoch=4", "--checkpoint_every=100",
            "--validation=none", "--seed=3"]
    results = {}
    for strategy in ("default", "data_parallel"):
        out, log = tmp_path / strategy, tmp_path / f"{strategy}.json"
        proc = run([*args, f"--strategy={strategy}", f"--output_dir={out}"], log=log)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        replicas = DEVICES if strategy == "data_parallel" else 1
        assert f"Strategy: {strategy} ({replicas} replicas)" in proc.stdout, proc.stdout[-2000:]
        results[strategy] = (out, json.loads(log.read_text()))

    (single_out, single), (dp_out, dp) = results["default"], results["data_parallel"]
    assert dp["distribution"] == "None"  # train() unsets the distribution it set for the run
    assert [b for b, _ in dp["steps"]] == [b for b, _ in single["steps"]] == [0, 1, 2, 3] * 2
    single_losses, dp_losses = np.array([v for _, v in single["steps"]]), np.array([v for _, v in dp["steps"]])
    assert np.all(np.isfinite(dp_losses)) and dp_losses[-1] < dp_losses[0]
    np.testing.assert_allclose(dp_losses, single_losses, rtol=1e-4)  # same batches, same steps: only summation order

    # The checkpoints hold the same variables (weights and Adam's state, same names and shapes), nearly equal.
    single_state, dp_state = _latest(single_out), _latest(dp_out)
    assert dp_state["global_step"] == dp_state["optimizer_iterations"] == single_state["global_step"] == 8
    a = _h5_arrays(single_out / "checkpoints" / single_state["weights"])
    b = _h5_arrays(dp_out / "checkpoints" / dp_state["weights"])
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape and a[k].dtype == b[k].dtype for k in a)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-3, atol=1e-5, err_msg=k)

    # final.keras (no validation) is the usual inference model: it opens under TensorFlow here.
    import keras

    import sr_zoo  # noqa: F401  (registers the zoo's layers for loading)

    assert keras.backend.backend() == "tensorflow"
    x = np.random.default_rng(0).random((1, 12, 12, 1), dtype=np.float32)
    y_single = keras.models.load_model(single_out / "final.keras")(x)
    y_dp = keras.models.load_model(dp_out / "final.keras")(x)
    assert y_dp.shape == (1, 36, 36, 1)
    np.testing.assert_allclose(np.asarray(y_dp), np.asarray(y_single), atol=1e-4)


def test_data_parallel_resumes_after_sigkill_and_best_model_loads_under_tensorflow(t91, data_dir, tmp_path):
    out = tmp_path / "run"
    args = [*QUICK, f"--datasets={t91}", "--strategy=data_parallel", "--epochs=2", "--steps_per_epoch=40",
            "--checkpoint_every=3", f"--validation_dir={data_dir}", f"--output_dir={out}"]
    killed_at = kill_after_checkpoint(command(args), cwd=ROOT, env=ENV, out=out, min_step=3, timeout=120, poll=0.02)
    # 80 steps: room for the kill when another test (an xdist worker) shares the cores
    assert 3 <= killed_at["global_step"] < 80, killed_at

    resumed = run(args)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    assert f"Strategy: data_parallel ({DEVICES} replicas)" in resumed.stdout
    m = re.search(r"Resuming from \S+ at step (\d+)", resumed.stdout)
    assert m and int(m.group(1)) >= killed_at["global_step"], resumed.stdout[-2000:]
    final = _latest(out)
    assert final["global_step"] == final["optimizer_iterations"] == 80  # optimizer state restored
    assert [c[0] for c in final["callbacks"]["validation"]["curve"]] == [1, 2]
    line = resumed.stdout.strip().splitlines()[-1]
    match = re.match(r"Best model: (\S+) \(set5 x3 PSNR ([\d.]+) dB vs bicubic ([\d.]+) dB; Y, crop 3\)", line)
    assert match, line
    assert float(match.group(3)) == pytest.approx(30.39, abs=0.02)

    import keras

    import sr_zoo  # noqa: F401

    assert keras.backend.backend() == "tensorflow"
    model = keras.models.load_model(match.group(1))
    x = np.random.default_rng(0).random((1, 10, 10, 1), dtype=np.float32)
    assert model(x).shape == (1, 30, 30, 1)


def _one_line_error(result):
    assert result.returncode == 2, result.stdout[-1000:] + result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train.py: error: "), result.stderr[-2000:]
    return lines[0]


def test_wrong_backend_strategies_and_indivisible_batch_are_refused_with_one_line(t91, tmp_path):
    base = ["--model=espcn", "--scale=3", f"--datasets={t91}", f"--output_dir={tmp_path / 'x'}", "--dry_run"]
    tf_env = {**ENV, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = {  # started together: each is mostly start-up
        "tf": subprocess.Popen([sys.executable, "train.py", *base, "--strategy=data_parallel"], cwd=ROOT, env=tf_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        "mirrored": subprocess.Popen(command([*base, "--strategy=mirrored"]), cwd=ROOT, env=ENV,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        "batch": subprocess.Popen(command([*base, "--strategy=data_parallel", "--batch_size=10"]), cwd=ROOT,
                                  env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    }
    results = {}
    for name, p in procs.items():
        stdout, stderr = p.communicate(timeout=180)
        results[name] = subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)

    line = _one_line_error(results["tf"])
    assert "--strategy=data_parallel" in line and "needs KERAS_BACKEND=jax (now tensorflow)" in line, line
    assert "--strategy=mirrored" in line and "--strategy=multi_worker" in line, line

    line = _one_line_error(results["mirrored"])
    assert "--strategy=mirrored is a tf.distribute strategy and needs KERAS_BACKEND=tensorflow (now jax)" in line
    assert "use --strategy=data_parallel" in line, line

    line = _one_line_error(results["batch"])
    assert f"batch size 10 is not divisible by the {DEVICES} replicas" in line, line
    assert f"Strategy: data_parallel ({DEVICES} replicas)" in results["batch"].stdout
    assert not (tmp_path / "x").exists()

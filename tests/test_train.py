"""train.py end to end: beats bicubic, resumes after SIGKILL, stops on NaN, refuses bad flags, distributes."""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_batch import run_batch

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}

# A quick recipe: ESPCN x3 on T91 with Adam (the paper's SGD recipe needs hours to pass bicubic).
QUICK = ["--model=espcn", "--scale=3", "--optimizer=adam", "--learning_rate=3e-3", "--lr_schedule=constant",
         "--reconstruction_lr_multiplier=1", "--batch_size=32"]


def run(args, timeout=600, **kwargs):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=kwargs.pop("env", ENV), capture_output=True,
                          text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="module")
def t91(data_dir):
    return str(data_dir / "T91")


BAD_FLAGS = [
    # --cpu_devices splits the CPU before TensorFlow starts its devices: first in the batch below
    (["--model=espcn", "--scale=3", "--strategy=mirrored", "--cpu_devices=2", "--batch_size=5"],
     "not divisible by the 2 replicas"),
    (["--model=vdsr", "--scale=3"], "no recipe for model 'vdsr'"),
    (["--model=espcn", "--scale=5"], "unsupported scale 5"),
    (["--model=srcnn", "--scale=3", "--lr_patch_size=3"], "smaller than srcnn's receptive field"),
]
RESCALE = [("espcn", "--rescale=1,0.8", "rescale=(1.0, 0.8)"), ("fsrcnn", "--rescale=none", "rescale=None")]


@pytest.fixture(scope="module")
def refused_and_dry_runs(tmp_path_factory):
    """train.py's refusals, --dry_run commands and the NaN run below, in one process (tests/cli_batch.py: each
    command as `python train.py ...` would, its output and exit code captured; the real process is tested in
    tests/test_cli_errors.py). The commands that read T91 only where the shared data is."""
    from sr_zoo import paths

    root = tmp_path_factory.mktemp("train_py")
    commands = {f"bad{i}": [*flags, f"--output_dir={root / f'bad{i}'}", "--datasets=/nonexistent"]
                for i, (flags, _) in enumerate(BAD_FLAGS)}
    commands["missing"] = ["--model=espcn", "--scale=3", "--datasets=t91", f"--tfds_data_dir={root / 'tfds'}",
                           "--validation=none", f"--output_dir={root / 'missing'}"]
    data = paths.shared_data_dir()
    if data is not None:
        t91 = data / "T91"
        for model, flag, _ in RESCALE:
            commands[model] = [f"--model={model}", "--scale=2", f"--datasets={t91}", flag,
                               f"--output_dir={root / model}", "--dry_run"]
        commands["warm_start"] = ["--model=edsr", "--preset=tiny", "--model_options=filters=4", "--scale=4",
                                  f"--datasets={t91}", "--warm_start=edsr-tiny_x2",
                                  f"--output_dir={root / 'warm_start'}", "--dry_run"]
        commands["nan"] = ["--model=espcn", "--scale=3", f"--datasets={t91}", "--optimizer=sgd", "--learning_rate=1e12",
                           "--lr_schedule=constant", "--epochs=1", "--steps_per_epoch=50", "--checkpoint_every=1",
                           "--validation=none", f"--output_dir={root / 'nan'}", "--verbose=0"]
        commands["gaussian"] = [*QUICK, f"--datasets={t91}", "--degradation=gaussian", "--blur_sigma=1.6",
                                "--epochs=1", "--steps_per_epoch=4", "--validation=none",
                                f"--output_dir={root / 'gaussian'}", "--verbose=0"]
    results = run_batch([["train.py", *args] for args in commands.values()], cwd=ROOT, env=ENV)
    return root, dict(zip(commands, results))


def test_gaussian_degradation_trains_with_its_blur_sigma(data_dir, refused_and_dry_runs):
    # ESPCN's LR synthesis (Gaussian blur, then every scale-th pixel): the sigma reaches the pipeline and the record
    root, results = refused_and_dry_runs
    result = results["gaussian"]
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads((root / "gaussian" / "run_config.json").read_text())
    assert (config["degradation"], config["blur_sigma"]) == ("gaussian", 1.6)
    assert (root / "gaussian" / "final.keras").exists()


def test_trained_model_beats_bicubic_on_set5_and_evaluates(t91, data_dir, tmp_path):
    out = tmp_path / "espcn"
    result = run(["train.py", *QUICK, f"--datasets={t91}", "--epochs=3", "--steps_per_epoch=300",
                  f"--validation_dir={data_dir}", f"--output_dir={out}", "--verbose=0"])
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    match = re.match(r"Best model: (\S+) \(set5 x3 PSNR ([\d.]+) dB vs bicubic ([\d.]+) dB; Y, crop 3\)", last)
    assert match, last
    path, psnr, bicubic = match.group(1), float(match.group(2)), float(match.group(3))
    assert pathlib.Path(path) == out / "best.keras"
    assert bicubic == pytest.approx(30.39, abs=0.02)
    assert psnr > bicubic, f"trained ESPCN {psnr} dB does not beat bicubic {bicubic} dB"
    # TensorBoard got scalars and validation images.
    assert list((out / "tensorboard").rglob("events.out.tfevents.*"))

    # evaluate.py reads the same file and prints bicubic first, then the model.
    json_path = tmp_path / "scores.json"
    ev = run(["evaluate.py", f"--model={path}", "--datasets=set5", f"--data_dir={data_dir}", f"--json={json_path}",
              f"--save_images={tmp_path / 'images'}"])
    assert ev.returncode == 0, ev.stderr[-3000:]
    rows = [line for line in ev.stdout.splitlines() if line.startswith("| ") and "Method" not in line]
    assert rows[0].startswith("| bicubic |") and rows[1].startswith("| best |")
    scores = json.loads(json_path.read_text())
    model_score = next(s for s in scores if s["method"] == "best")
    best = json.loads((out / "best.json").read_text())
    assert model_score["psnr"] == pytest.approx(best["psnr"], abs=1e-9)  # same file, same protocol, same number
    assert best["psnr"] == pytest.approx(psnr, abs=0.005)  # the printed line rounds to 2 decimals
    assert (tmp_path / "images" / "set5_x3" / "best" / "baby.png").exists()
    assert (tmp_path / "images" / "set5_x3" / "best" / "baby_bicubic_sr_hr.png").exists()


def _latest(out):
    path = out / "checkpoints" / "latest.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_sigkill_then_resume_keeps_optimizer_step_and_schedule(t91, tmp_path):
    out = tmp_path / "run"
    args = ["train.py", *QUICK, f"--datasets={t91}", "--epochs=3", "--steps_per_epoch=40", "--validation=none",
            "--lr_schedule=step", "--lr_decay_steps=25", "--lr_decay_factor=0.5", "--checkpoint_every=7",
            f"--output_dir={out}", "--verbose=0"]
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        state = _latest(out)
        if state and state["global_step"] >= 14:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("no checkpoint appeared: " + proc.communicate()[0][-3000:])
    proc.send_signal(signal.SIGKILL)  # a real kill, mid-training, maybe mid-write
    proc.wait()
    killed_at = _latest(out)
    assert 14 <= killed_at["global_step"] < 120, killed_at

    resumed = run(args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    m = re.search(r"Resuming from \S+ at step (\d+)", resumed.stdout)
    assert m, resumed.stdout[-2000:]
    assert int(m.group(1)) >= killed_at["global_step"]
    final = _latest(out)
    assert final["global_step"] == 120
    assert final["optimizer_iterations"] == 120  # optimizer state was restored, not restarted
    assert final["learning_rate"] == pytest.approx(3e-3 * 0.5 ** (120 // 25))
    assert (out / "final.keras").exists()
    import keras

    import sr_zoo  # noqa: F401

    keras.models.load_model(out / "final.keras")  # every file left behind is readable


def test_nan_loss_stops_with_message_and_keeps_last_good_checkpoint(data_dir, refused_and_dry_runs):
    root, runs = refused_and_dry_runs
    out, result = root / "nan", runs["nan"]
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]  # a failure while running
    assert re.search(r"train.py: error: training stopped: loss became NaN/Inf at step (\d+)", result.stderr), \
        result.stderr[-2000:]
    bad_step = int(re.search(r"at step (\d+)", result.stderr).group(1))
    state = _latest(out)
    assert state is not None and state["global_step"] == bad_step - 1
    import h5py

    arrays = []
    with h5py.File(out / "checkpoints" / state["weights"], "r") as f:
        f.visititems(lambda name, obj: arrays.append(obj[()]) if isinstance(obj, h5py.Dataset) else None)
    assert arrays and all(np.all(np.isfinite(a)) for a in arrays)  # the kept checkpoint holds no NaN


@pytest.mark.parametrize("index", range(len(BAD_FLAGS)))
def test_bad_flags_fail_before_work_with_one_line(index, refused_and_dry_runs):
    root, runs = refused_and_dry_runs
    result, message = runs[f"bad{index}"], BAD_FLAGS[index][1]
    assert result.returncode == 2  # a usage error (sr_zoo.cli)
    assert message in result.stderr, result.stderr[-2000:]
    assert not (root / f"bad{index}" / "checkpoints").exists()


def test_mirrored_on_two_logical_cpus(t91, tmp_path):
    out = tmp_path / "mirrored"
    result = run(["train.py", *QUICK, f"--datasets={t91}", "--strategy=mirrored", "--cpu_devices=2",
                  "--epochs=1", "--steps_per_epoch=5", "--validation=none", f"--output_dir={out}", "--verbose=0"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 replicas" in result.stdout
    assert _latest(out)["optimizer_iterations"] == 5


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_multi_worker_two_processes_agree_on_weights(t91, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    out = tmp_path / "mw"
    procs = []
    for index in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen(
            [sys.executable, "train.py", *QUICK, f"--datasets={t91}", "--strategy=multi_worker", "--epochs=1",
             "--steps_per_epoch=4", "--validation=none", f"--output_dir={out}", "--verbose=0"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n---\n".join(o[-2000:] for o in outputs)
    import keras

    import sr_zoo  # noqa: F401

    chief = keras.models.load_model(out / "final.keras")
    worker = keras.models.load_model(out / "worker-1" / "final.keras")
    for a, b in zip(chief.get_weights(), worker.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert _latest(out)["optimizer_iterations"] == 4


def test_offline_first_run_builds_the_embedded_dataset(tmp_path):
    # The README's main job: nothing downloaded, sample_images built on first use, validated on its test split.
    from sr_zoo import recipes, training

    recipe = recipes.get("espcn", 3).replace(datasets=("sample_images",), epochs=1, steps_per_epoch=2, batch_size=4)
    result = training.train(recipe, tmp_path / "run", validation="sample_images", tfds_data_dir=tmp_path / "tfds",
                            verbose=0)
    assert (tmp_path / "tfds" / "sample_images").is_dir()
    assert result.validation == "sample_images" and np.isfinite(result.bicubic_psnr)
    assert pathlib.Path(result.best_model_path).exists()


def test_missing_dataset_names_the_build_command(refused_and_dry_runs):
    result = refused_and_dry_runs[1]["missing"]
    assert result.returncode == 2
    assert "tfds build tfds_builders/t91 --manual_dir=" in result.stderr


@pytest.mark.parametrize("schedule, min_lr, expected", [
    # step: 0 (start), 5 (mid warm-up), 10 (warm-up done), 55 (mid cosine), 100 (end)
    ("cosine", 1e-5, [0.0, 1e-3, 2e-3, 1e-5 + (2e-3 - 1e-5) / 2, 1e-5]),
    ("constant", 0.0, [0.0, 1e-3, 2e-3, 2e-3, 2e-3]),
])
def test_warmup_ramps_linearly_then_follows_the_schedule(schedule, min_lr, expected):
    from sr_zoo import models, recipes, training

    recipe = recipes.get("espcn", 3).replace(optimizer="adam", learning_rate=2e-3, lr_schedule=schedule,
                                             min_learning_rate=min_lr, reconstruction_lr_multiplier=1.0,
                                             epochs=2, steps_per_epoch=50, warmup_steps=10)
    optimizer = training.make_optimizer(recipe, models.get("espcn", scale=3))
    got = []
    for step in (0, 5, 10, 55, 100):  # the rate the optimizer applies, and the checkpoints record, at each step
        optimizer.iterations.assign(step)
        got.append(training.current_learning_rate(optimizer))
    assert got == pytest.approx(expected, rel=1e-4, abs=1e-9)
    with pytest.raises(ValueError, match="warmup_steps needs lr_schedule 'constant' or 'cosine'"):
        training.make_optimizer(recipe.replace(lr_schedule="step", lr_decay_steps=10), models.get("espcn", scale=3))


def _estimate_lines(estimate, steps, seconds_per_step, epoch_ends=()):
    """Drives a RunTimeEstimate by hand with a fake clock; returns, per step, the lines it printed."""
    import contextlib
    import io

    now = [0.0]
    estimate.clock = lambda: now[0]
    printed = []
    for step in range(1, steps + 1):
        now[0] += 10.0 if step == 1 else seconds_per_step  # the first step compiles
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            estimate.on_train_batch_end(step - 1)
            if step in epoch_ends:
                estimate.on_epoch_end(0)
        printed.append(out.getvalue().strip())
    return printed


def test_run_time_estimate_appears_after_a_few_steps_of_any_run():
    from sr_zoo import cli, training

    # A long run: steps 3..7 timed (0.2 s each), the estimate printed at step 7 for the 993 steps left.
    lines = _estimate_lines(training.RunTimeEstimate(0, 1000), steps=12, seconds_per_step=0.2)
    assert [i + 1 for i, line in enumerate(lines) if line] == [7]
    assert lines[6].startswith("200.0 ms/step on ") and "about 3m 19s for the 993 steps left" in lines[6]
    # A 5-step run: steps 3 and 4 timed, one step left to estimate; short times in seconds, never "0.0 h".
    lines = _estimate_lines(training.RunTimeEstimate(0, 5), steps=5, seconds_per_step=0.5)
    assert [i + 1 for i, line in enumerate(lines) if line] == [4]
    assert "about 1s for the 1 step left" in lines[3]
    # Slow steps: printed once 5 s have passed, whatever the step count.
    lines = _estimate_lines(training.RunTimeEstimate(0, 1000), steps=6, seconds_per_step=3.0)
    assert [i + 1 for i, line in enumerate(lines) if line] == [4]
    # Epochs of 3 steps: printed at the first epoch end, before validation would run.
    lines = _estimate_lines(training.RunTimeEstimate(0, 30), steps=6, seconds_per_step=0.1, epoch_ends=(3, 6))
    assert [i + 1 for i, line in enumerate(lines) if line] == [3]
    assert [cli.duration(s) for s in (0.2, 5, 65, 3 * 3600 + 1200)] == ["under 1s", "5s", "1m 05s", "3h 20m"]


def test_rescale_flag_sets_or_clears_the_rescaling_augmentation(data_dir, refused_and_dry_runs):
    # FSRCNN's augmentation for any model (--rescale=1,0.8 for ESPCN), or FSRCNN without it (--rescale=none)
    for model, _, expected in RESCALE:
        result = refused_and_dry_runs[1][model]
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout.splitlines()[1], result.stdout[:2000]


def test_warm_start_from_another_scale_copies_all_but_the_new_upsampler(data_dir, refused_and_dry_runs):
    # EDSR's recipe for x3/x4: start from the x2 network; the shipped tiny x2 model into a tiny x4 one
    root, runs = refused_and_dry_runs
    result = runs["warm_start"]
    assert result.returncode == 0, result.stderr
    assert "layers copied; initialised afresh: upsample_conv2" in result.stdout
    assert not (root / "warm_start").exists()

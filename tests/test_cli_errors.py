"""Bad input to the five tools: one line ``<tool>: error: ...`` naming the flag or file, exit code 2 for a
usage error, 1 for a failure while running, 130 for Ctrl-C (sr_zoo.cli), no traceback, nothing written;
--help exits 0. evaluate.py's --json keeps another run's results. And a run folder resumes only its own run."""

import json
import os
import pathlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from cli_batch import run_batch

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
ENV.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell: the tools must keep TensorFlow's start-up quiet


def _quick(scale=3):
    from sr_zoo import recipes

    return recipes.get("espcn", scale).replace(optimizer="adam", learning_rate=3e-3, lr_schedule="constant",
                                               reconstruction_lr_multiplier=1.0, batch_size=4, epochs=1,
                                               steps_per_epoch=3)


@pytest.fixture(scope="module")
def finished_run(data_dir, tmp_path_factory):
    """A finished 3-step ESPCN run folder (no validation)."""
    from sr_zoo import training

    out = tmp_path_factory.mktemp("run") / "espcn"
    recipe = _quick().replace(datasets=(str(data_dir / "Set5" / "original"),))
    training.train(recipe, out, validation=None, verbose=0)
    return out, recipe


def _cases(tmp, data_dir, run_dir):
    t91 = str(data_dir / "T91")
    truncated = tmp / "truncated.keras"
    truncated.write_bytes((ROOT / "sr_zoo" / "weights" / "espcn_x3.keras").read_bytes()[:5000])
    quick = ["--model=espcn", "--scale=3", f"--datasets={t91}", f"--output_dir={tmp / 'new'}", "--validation=none"]
    return [
        # (arguments, text the one-line error must contain)
        (["train.py", *quick, "--learning_rate=0"], "--learning_rate must be positive"),
        (["train.py", *quick, "--batch_size=-4"], "--batch_size must be positive"),
        (["train.py", *quick, "--patch_size=16"], "--patch_size=16 (HR side) must be a positive multiple of --scale=3"),
        (["train.py", *quick, "--lr_schedule=step"], "--lr_decay_steps must be positive"),
        (["train.py", *quick, "--epochs=2", "--steps_per_epoch=50", "--warmup_steps=100"],
         "--warmup_steps must be between 0 and the run's 100 steps"),
        (["train.py", *quick, "--lr_schedule=plateau", "--warmup_steps=10"],
         "--warmup_steps needs --lr_schedule=constant or cosine, got plateau"),
        (["train.py", *quick, "--degradation=gaussian"], "--degradation=gaussian needs a positive --blur_sigma"),
        (["train.py", *quick, "--blur_sigma=1.6"], "--blur_sigma applies to --degradation=gaussian only"),
        (["train.py", *quick, "--equalize_channels"], "--equalize_channels prepares an int8 fine-tune: use it with"),
        (["train.py", *quick, "--freeze_ranges=0.5"], "--freeze_ranges freezes int8 ranges: use it with"),
        (["train.py", *quick, "--split_prelu"],
         "split_prelu: model 'espcn_tanh_x3' has no PReLU between two convolutions"),
        (["train.py", *quick, "--quantization_aware", "--freeze_ranges=1.5"],
         "--freeze_ranges is a fraction of the run's steps, in (0, 1), got 1.5"),
        (["train.py", *quick, "--model_options=filters"], "--model_options: expected key=value"),
        (["train.py", *quick, "--rescale=1,1.2"], "--rescale: factor 1.2 is not in (0, 1]"),
        (["train.py", *quick, "--rescale=1,half"], "--rescale: 'half' is not a number"),
        (["train.py", *quick, "--scale=abc"], "flag --scale=abc"),
        (["train.py", "--scale=3"], "--model is required"),
        (["train.py", *quick, "--no_such_flag=1"], "no_such_flag"),
        (["train.py", *quick, "--warm_start=/nowhere/model.keras"], "/nowhere/model.keras"),
        (["train.py", *quick, "--warm_start=fsrcnn_x3"], "--warm_start fsrcnn_x3: no weights of fsrcnn_56-12-4_x3 fit"),
        (["train.py", "--model=espcn", "--scale=3", "--datasets=./no_such_folder,t91,bsd200",
          f"--tfds_data_dir={tmp / 'no_tfds'}", f"--output_dir={tmp / 'new'}"],
         "3 training datasets are missing: folder not found: ./no_such_folder; TFDS dataset 't91' is not built"),
        (["train.py", "--model=espcn", "--scale=3", f"--datasets={t91}", f"--output_dir={run_dir}",
          "--optimizer=adam", "--learning_rate=1e-3", "--lr_schedule=constant", "--reconstruction_lr_multiplier=1",
          "--batch_size=4", "--epochs=1", "--steps_per_epoch=3", "--validation=none"],
         "holds another run (datasets="),
        (["evaluate.py", "--scales=abc"], "--scales: 'abc' is not an integer"),
        (["evaluate.py", "--scales=0"], "--scales: 0 must be positive"),
        (["evaluate.py", "--data_dir=/nowhere"], "--data_dir folder not found: /nowhere"),
        (["evaluate.py", "--datasets=set5,./no_such_folder,foo"], "folder not found: ./no_such_folder; unknown benchmark 'foo'"),
        (["evaluate.py", f"--model={truncated}"], f"cannot load model file {truncated}"),
        (["evaluate.py", "--model=no_such_model"], "unknown pretrained model 'no_such_model'"),
        (["evaluate.py", "--model=espcn_x3", "--scales=2"], "espcn_x3 (pretrained) upscales x3; --scales=2 asks for x2"),
        (["-m", "sr_zoo.pretrained", "publish", "no_such_model", str(tmp)], "no zoo model 'no_such_model'"),
        (["-m", "sr_zoo.pretrained", "bogus"], "unexpected arguments: bogus"),
    ]


def _run(args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)


def _batches(groups):
    """Each group of command lines in one process (tests/cli_batch.py), the groups side by side."""
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        return list(pool.map(lambda group: run_batch(group, cwd=ROOT, env=ENV), groups))


def _one_line_problems(cases, results):
    problems = []
    for (args, expected), result in zip(cases, results):
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        tool = "python -m sr_zoo.pretrained" if args[0] == "-m" else args[0]
        code = 1 if "holds another run" in expected else 2  # training refused the folder: a failure; else usage
        if (result.returncode != code or "Traceback" in result.stderr or len(lines) != 1
                or not lines[0].startswith(f"{tool}: error: ") or expected not in lines[0]):
            problems.append(f"{' '.join(args)}\n  exit {result.returncode}; stderr:\n{result.stderr[-1500:]}")
    return problems


def test_bad_input_matrix_is_one_line_naming_the_flag_or_file(data_dir, tmp_path, finished_run):
    # The cases run in two processes (train.py's; evaluate.py's and the zoo tool's), each command as
    # `python <args>` would; test_each_tool_exits_2_on_a_usage_error_with_one_line runs each tool for real.
    run_dir, _ = finished_run
    cases = _cases(tmp_path, data_dir, run_dir)
    train = [case for case in cases if case[0][0] == "train.py"]
    others = [case for case in cases if case[0][0] != "train.py"]
    train_results, other_results = _batches([[args for args, _ in train], [args for args, _ in others]])
    problems = _one_line_problems(train, train_results) + _one_line_problems(others, other_results)
    assert not problems, "\n".join(problems)
    assert not (tmp_path / "new").exists()  # nothing written by a rejected run


TOOLS = [["train.py"], ["evaluate.py"], ["-m", "sr_zoo.pretrained"], ["-m", "sr_zoo.upscale"], ["-m", "sr_zoo.export"]]
USAGE_ERRORS = [
    (["train.py", "--model=espcn", "--scale=3", "--learning_rate=0", "--dry_run"], "--learning_rate must be positive"),
    (["evaluate.py", "--scales=2,x", "--dry_run"], "--scales: 'x' is not an integer"),
    (["-m", "sr_zoo.pretrained", "--no_such_flag"], "unexpected arguments: --no_such_flag"),
    (["-m", "sr_zoo.upscale", "--model=espcn_x3", "/nowhere/photo.png", "photo_x3.png"], "input not found: /nowhere"),
    (["-m", "sr_zoo.export", "--model=espcn_x3", "--format=onnx", "model.tflite"], "must end in .onnx"),
]


@pytest.fixture(scope="module")
def tool_runs():
    """Each tool's usage error in a real process of its own; the five --help in two processes (train.py's
    and evaluate.py's absl flags cannot share one); all side by side (they mostly import TensorFlow)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        usage = [pool.submit(_run, args) for args, _ in USAGE_ERRORS]
        groups = [[tool + ["--help"] for tool in TOOLS if tool != ["evaluate.py"]], [["evaluate.py", "--help"]]]
        helps = [pool.submit(run_batch, group, cwd=ROOT, env=ENV) for group in groups]
        helps = helps[0].result() + helps[1].result()
        return {" ".join(r.args[:-1]): r for r in helps}, [f.result() for f in usage]


@pytest.mark.parametrize("tool", TOOLS)
def test_help_exits_0(tool, tool_runs):
    result = tool_runs[0][" ".join(tool)]
    assert result.returncode == 0, result.stderr[-2000:]
    assert "python" in result.stdout and result.stderr.strip() == ""


@pytest.mark.parametrize("index", range(len(USAGE_ERRORS)))
def test_each_tool_exits_2_on_a_usage_error_with_one_line(index, tool_runs):
    args, message = USAGE_ERRORS[index]
    result = tool_runs[1][index]
    tool = " ".join(["python", *args[:2]]) if args[0] == "-m" else args[0]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(f"{tool}: error: ") and message in lines[0], result.stderr[-2000:]
    assert lines[0].endswith(" (see --help)")


def test_exit_codes_of_the_convention(capsys):
    from sr_zoo import cli, pretrained, training

    for error, code in [(cli.FlagError("--x must be positive"), 2), (FileNotFoundError("no such file: a.png"), 2),
                        (ValueError("cannot read image a.png:\nbad header"), 2), (cli.Failure("conversion failed"), 1),
                        (training.TrainingError("loss became NaN/Inf at step 7"), 1),
                        (pretrained.IntegrityError("espcn_x3.keras: sha256 ... does not match"), 1),
                        (OSError(28, "No space left on device"), 1), (KeyboardInterrupt(), 130)]:
        with pytest.raises(SystemExit) as exit_:
            with cli.one_line_errors("tool", debug=False):
                raise error
        err = capsys.readouterr().err
        assert exit_.value.code == code and err.startswith("tool: error: ") and err.count("\n") == 1, (error, err)
        assert err.rstrip().endswith("(see --help)") == (code == 2), err
    with pytest.raises(RuntimeError):  # not an expected error: its traceback is shown
        with cli.one_line_errors("tool", debug=False):
            raise RuntimeError("a bug")


def test_evaluate_json_is_replaced_only_for_the_same_run(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, side in (("HR", 24), ("LR_x2", 12), ("LR_x3", 8)):
        (tmp_path / "pairs" / folder).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(tmp_path / "pairs" / folder / "a.png")
    target = tmp_path / "scores.json"

    # The four runs in one process (tests/cli_batch.py), in order, each as `python evaluate.py ...` from tmp_path.
    runs = run_batch([[str(ROOT / "evaluate.py"), f"--datasets={tmp_path / 'pairs'}", "--json=scores.json", *flags]
                      for flags in (["--scales=2"], ["--scales=2"], ["--scales=3"], ["--scales=3", "--overwrite"])],
                     cwd=tmp_path, env=ENV, watch=[target])
    first, same, refused, replaced = runs
    for result in (first, same):  # written, then replaced by the same run
        assert result.returncode == 0 and f"Wrote {target}" in result.stdout, result.stderr[-2000:]
    written = same.watched[str(target)]
    assert written and json.loads(written)
    # another run: refused before any work, the file kept
    assert refused.returncode == 2 and refused.watched[str(target)] == written, refused.stderr[-2000:]
    assert refused.stderr.startswith("evaluate.py: error: --json=scores.json holds another run's results "
                                     "(methods bicubic; datasets "), refused.stderr
    assert "scales 2); pass --overwrite" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert replaced.returncode == 0 and "Wrote" in replaced.stdout, replaced.stderr[-2000:]
    assert {s["scale"] for s in json.loads(target.read_text())} == {3} and not list(tmp_path.glob("*.tmp"))


def test_a_run_folder_resumes_only_its_own_run(finished_run, tmp_path):
    import shutil

    from sr_zoo import training

    # A copy: the shared folder stays finished whichever test (or xdist worker) reads it next.
    run_dir, recipe = tmp_path / "espcn", finished_run[1]
    shutil.copytree(finished_run[0], run_dir)
    with pytest.raises(training.TrainingError, match=r"learning_rate=0\.003 there, 0\.001 now.*--restart"):
        training.train(recipe.replace(learning_rate=1e-3), run_dir, validation=None, verbose=0)
    with pytest.raises(training.TrainingError, match=r"seed=0 there, 1 now"):
        training.train(recipe, run_dir, seed=1, validation=None, verbose=0)
    # More epochs extend the same run: it resumes at step 3.
    more = training.train(recipe.replace(epochs=2), run_dir, validation=None, verbose=0)
    assert more.global_step == 6
    # --restart starts over in the folder with the new settings.
    fresh = training.train(recipe.replace(learning_rate=1e-3), run_dir, validation=None, verbose=0, restart=True)
    assert fresh.global_step == 3

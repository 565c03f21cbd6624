"""Runs several command lines of the tools in one Python process: one TensorFlow import for all of them.

Each command runs as ``python <argv>`` would (``runpy`` runs ``train.py`` / ``evaluate.py`` or the ``-m``
module as ``__main__`` with that ``sys.argv`` and working folder), with file descriptors 1 and 2 captured
per command, so what TensorFlow's C++ side writes is caught too; its exit code is that of ``SystemExit``
(an uncaught exception prints its traceback and counts 1, as in Python). Between commands the state a
fresh process would not have is reset: parsed absl flags, Keras' dtype policy and session.

What only a real process shows (the tools' quiet TensorFlow start-up, ``_startup`` holding descriptor 2
for ``-m`` tools, the interpreter's own exit) is checked by one real subprocess per tool in
tests/test_cli_errors.py; tests use this for the many cases beside those.

    results = run_batch([["train.py", "--model=espcn", ...], ["-m", "sr_zoo.upscale", ...]], cwd=ROOT, env=ENV)

``results[i]`` is a ``subprocess.CompletedProcess`` (``args``, ``returncode``, ``stdout``, ``stderr``) with
``sr_zoo_modules``: the ``sr_zoo`` modules already imported when that command started, and ``watched``:
the text of each file named in ``watch`` right after that command (``None``: no such file).
"""

import json
import os
import subprocess
import sys

#: Makes ``import tensorflow`` (and TFDS) fail, as where TensorFlow is not installed.
BLOCKED_WITHOUT_TENSORFLOW = ("tensorflow", "tensorflow_datasets", "tf_keras")


def run_batch(commands, *, cwd, env, timeout=600, block_tensorflow=False, watch=()):
    """Runs ``commands`` (argv lists after ``python``) in one process, in order, each from the folder ``cwd``."""
    import tempfile

    cases = [{"argv": [str(a) for a in command], "cwd": str(cwd)} for command in commands]
    with tempfile.TemporaryDirectory() as tmp:
        spec, results = os.path.join(tmp, "cases.json"), os.path.join(tmp, "results.jsonl")
        with open(spec, "w") as f:
            json.dump({"cases": cases, "block_tensorflow": block_tensorflow, "watch": [str(w) for w in watch]}, f)
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), spec, results], cwd=str(cwd), env=env,
                              capture_output=True, text=True, timeout=timeout)
        done = []
        if os.path.exists(results):
            with open(results) as f:
                done = [json.loads(line) for line in f if line.strip()]
    if len(done) != len(cases):
        raise AssertionError(f"the batch of {len(cases)} commands stopped after {len(done)} (exit {proc.returncode}):"
                             f"\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    out = []
    for case, result in zip(cases, done):
        completed = subprocess.CompletedProcess(case["argv"], result["code"], result["stdout"], result["stderr"])
        completed.sr_zoo_modules = result["sr_zoo_modules"]
        completed.watched = result["watched"]
        out.append(completed)
    return out


def _exit_code(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message"), as the interpreter does
    return 1


def _reset_state():
    """What a fresh process would not carry over from the command before."""
    if "absl.flags" in sys.modules:
        from absl import flags

        flags.FLAGS.unparse_flags()
    if "keras" in sys.modules:
        import keras

        keras.config.set_dtype_policy("float32")
        keras.backend.clear_session()


def _call(argv):
    import runpy
    import traceback

    try:
        if argv[0] == "-m":
            for name in (argv[1], argv[1] + ".__main__"):  # the packages never import the tools themselves
                sys.modules.pop(name, None)
            sys.argv = [argv[1], *argv[2:]]  # run_module puts the module's file in argv[0], as `python -m`
            sys.path[0] = os.getcwd()  # as `python -m` from the command's folder
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(argv)
            sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))  # as `python script.py`
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as e:
        return _exit_code(e.code)
    except BaseException:  # noqa: BLE001 - the interpreter's way: the traceback on stderr, exit 1
        traceback.print_exc()
        return 1
    return 0


def _run_case(case):
    import tempfile

    modules = sorted(m for m in sys.modules if m == "sr_zoo" or m.startswith("sr_zoo."))
    _reset_state()
    captured = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    argv, cwd = sys.argv, os.getcwd()
    os.dup2(captured[0].fileno(), 1)
    os.dup2(captured[1].fileno(), 2)
    try:
        os.chdir(case["cwd"])
        code = _call(case["argv"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in ((1, saved[0]), (2, saved[1])):
            os.dup2(copy, fd)
            os.close(copy)
        sys.argv = argv
        os.chdir(cwd)
    texts = []
    for f in captured:
        f.seek(0)
        texts.append(f.read().decode(errors="replace"))
        f.close()
    return {"code": code, "stdout": texts[0], "stderr": texts[1], "sr_zoo_modules": modules}


def _text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def main(spec_path, results_path):
    with open(spec_path) as f:
        spec = json.load(f)
    if spec["block_tensorflow"]:
        for name in BLOCKED_WITHOUT_TENSORFLOW:
            sys.modules[name] = None
    with open(results_path, "w") as out:
        for case in spec["cases"]:
            result = _run_case(case)
            result["watched"] = {path: _text(path) for path in spec["watch"]}
            out.write(json.dumps(result) + "\n")
            out.flush()


if __name__ == "__main__":
    main(*sys.argv[1:3])

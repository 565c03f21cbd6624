"""The README's examples run as written, so they cannot drift from the code.

* Every ```python block runs in a fresh process.
* Every command of every ```bash block is run: ``train.py`` and ``evaluate.py`` with ``--dry_run``
  appended (flags, recipe, model, data and run folder are checked; nothing is trained), the
  ``python -m sr_zoo.*`` tools for real on small stand-in inputs made for the names the command
  reads, ``tfds build`` commands by checking the builder folder and its config. Installing and the
  test command itself are the only lines not run. A command no rule covers fails the test.

Shell commands of one environment share a Python process (tests/cli_batch.py runs each as ``python ...``
would, with its own output and exit code), so that TensorFlow is imported a few times rather than per command.
Commands run in a scratch folder beside a link ``../shared`` to the shared data, with the TFDS
datasets they name built from the builders' dummy data, so that nothing of this checkout
(``runs/``, ``~/tensorflow_datasets``) changes the outcome.
"""

import importlib.util
import os
import pathlib
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from cli_batch import run_batch
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def blocks(language):
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", README, re.S)]


def shell_commands():
    out = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if not line or line.startswith("#"):
                continue
            out += [c.strip() for c in line.split("&&")]
    return out


def _env_prefix(words):
    """``KERAS_BACKEND=jax python ...`` -> ({'KERAS_BACKEND': 'jax'}, ['python', ...])."""
    env = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    return env, words


def _kind(command):
    _, words = _env_prefix(shlex.split(command))
    if words[:3] == ["python", "-m", "pip"] or words[0] == "pip" or words[:3] == ["python", "-m", "pytest"]:
        return "skip"
    if words[:2] in (["python", "train.py"], ["python", "evaluate.py"]):
        return "dry_run"
    if words[:2] == ["python", "-m"] and words[2].startswith("sr_zoo."):
        return "tool"
    if words[:2] == ["tfds", "build"]:
        return "tfds_build"
    return "unknown"


COMMANDS = shell_commands()


def test_the_readme_has_examples_and_every_command_is_covered():
    assert len(blocks("python")) >= 2 and len(COMMANDS) >= 10
    uncovered = [c for c in COMMANDS if _kind(c) == "unknown"]
    assert not uncovered, f"README commands no rule of tests/test_readme.py covers: {uncovered}"


@pytest.fixture(scope="module")
def sandbox(data_dir, tmp_path_factory):
    """A scratch working folder with ``../shared`` linked to the shared data, and dummy TFDS datasets."""
    import tensorflow_datasets as tfds

    root = tmp_path_factory.mktemp("readme")
    (root / "shared").symlink_to(data_dir.parent, target_is_directory=True)
    work = root / "work"
    work.mkdir()
    tfds_dir = root / "tensorflow_datasets"
    wanted = set()  # (builder, config) pairs the examples read
    for command in COMMANDS:
        if _kind(command) == "dry_run":
            wanted.update(_split(n) for n in _tfds_names(_env_prefix(shlex.split(command))[1]))
    builders = {p.name for p in (ROOT / "tfds_builders").iterdir() if p.is_dir()}
    for block in blocks("python"):
        for name in re.findall(r"[\"']([a-z0-9_]+(?:/[a-z0-9_]+)?)[\"']", block):
            if name.split("/")[0] in builders:
                wanted.add(_split(name))
    for name, config in sorted(wanted, key=str):
        with tfds.core.utils.add_sys_path(ROOT / "tfds_builders"):
            cls = tfds.core.community.builder_cls_from_module(f"{name}.{name}_dataset_builder")
        builder = cls(data_dir=str(tfds_dir), **({"config": config} if config else {}))
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir=str(ROOT / "tfds_builders" / name / "dummy_data")))
    env = {**os.environ, "TFDS_DATA_DIR": str(tfds_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("SR_ZOO_DATA", None)
    return work, env


def _tfds_names(words):
    """The TFDS datasets a train.py/evaluate.py command reads (its --datasets, or its recipe's)."""
    from sr_zoo import recipes

    flag = {w.split("=", 1)[0]: w.split("=", 1)[1] for w in words if w.startswith("--") and "=" in w}
    if "--datasets" in flag:
        names = flag["--datasets"].split(",")
    elif words[1] == "train.py":
        names = list(recipes.get(flag["--model"], int(flag["--scale"])).datasets)
    else:
        names = []
    builders = {p.name for p in (ROOT / "tfds_builders").iterdir() if p.is_dir()}
    return [n for n in names if n.split("/")[0] in builders and not n.startswith(".")]


def _split(name):
    base, _, config = name.partition("/")
    return base, config or None


def _run(args, work, env, timeout=600):
    return subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_example_runs_as_written(index, sandbox):
    work, env = sandbox
    result = _run([sys.executable, "-c", blocks("python")[index]], work, env)
    assert result.returncode == 0, f"README python block {index}:\n{result.stderr[-3000:]}"


def _make_inputs(words, work):
    """Stand-ins for the files a tool command reads: images, folders of images, models under runs/."""
    from sr_zoo import models

    flags = [w for w in words if w.startswith("--")]
    positional = [w for w in words[3:] if not w.startswith("--")]
    for w in flags:
        if w.startswith("--model=") and w.endswith(".keras") and not (work / w[8:]).exists():
            m = re.match(r"(\w+?)(?:-([\w-]+))?_x(\d)$", pathlib.Path(w[8:]).parent.name)
            assert m, f"cannot make a stand-in for {w}"
            model = models.get(m.group(1), scale=int(m.group(3)), channels=3 if m.group(1) == "edsr" else 1,
                               preset=m.group(2))
            (work / w[8:]).parent.mkdir(parents=True, exist_ok=True)
            model.save(work / w[8:])
    if positional:  # the first positional argument is the input
        source = work / positional[0]
        rng = np.random.default_rng(0)
        if positional[0].endswith("/") and not source.exists():
            source.mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)).save(source / f"p{i}.png")
        elif source.suffix.lower() in IMAGE_SUFFIXES and not source.exists():
            Image.fromarray(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)).save(source)
        elif source.suffix.lower() in (".mp4", ".mkv", ".mov") and not source.exists():
            import av

            with av.open(str(source), "w") as container:  # 3 frames of H.264, 32x24
                stream = container.add_stream("libx264", rate=10)
                stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
                for _ in range(3):
                    frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), "rgb24")
                    container.mux(stream.encode(frame))
                container.mux(stream.encode())


def _check_tfds_build(words):
    import tensorflow_datasets as tfds

    folder = ROOT / words[2]
    assert folder.is_dir(), words
    with tfds.core.utils.add_sys_path(ROOT / "tfds_builders"):
        cls = tfds.core.community.builder_cls_from_module(f"{folder.name}.{folder.name}_dataset_builder")
    config = next((w.split("=", 1)[1] for w in words if w.startswith("--config=")), None)
    if config:
        assert config in [c.name for c in cls.BUILDER_CONFIGS], words


def test_shell_examples_run(sandbox):
    from concurrent.futures import ThreadPoolExecutor

    work, env = sandbox
    groups = {}  # (environment, script) -> commands that share a process (absl: one script's flags a process)
    tools = []
    for command in dict.fromkeys(COMMANDS):  # each command once
        extra, words = _env_prefix(shlex.split(command))
        kind = _kind(command)
        backend = extra.get("KERAS_BACKEND")
        if backend and importlib.util.find_spec(backend) is None:
            print(f"not run: {command} ({backend} is not installed; `pip install -e \".[{backend}]\"`)")
            continue
        env_key = tuple(sorted(extra.items()))
        if kind == "tfds_build":
            _check_tfds_build(words)
        elif kind == "dry_run":
            args = [str(ROOT / words[1])] + words[2:] + ["--dry_run"]
            groups.setdefault((env_key, words[1]), []).append((command, args))
        elif kind == "tool":
            _make_inputs(words, work)
            tools.append((env_key, command, words[1:]))
    for i, (env_key, command, args) in enumerate(tools):  # the tools beside a script of their environment
        keys = [k for k in groups if k[0] == env_key] or [(env_key, "tools")]
        groups.setdefault(keys[i % len(keys)], []).append((command, args))

    def run_group(item):
        (env_key, _), commands = item
        results = run_batch([args for _, args in commands], cwd=work, env={**env, **dict(env_key)})
        return [(command, result) for (command, _), result in zip(commands, results)]

    # Each group in one process (tests/cli_batch.py: every command as `python ...` would run it from the
    # scratch folder, its own output and exit code); the groups side by side, as they mostly import TensorFlow.
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(pair for batch in pool.map(run_group, groups.items()) for pair in batch)
    failed = [f"{c}\n{r.stdout[-800:]}\n{r.stderr[-2000:]}" for c, r in results.items()
              if r.returncode != 0 or "Traceback" in r.stderr]
    assert not failed, "\n\n".join(failed)

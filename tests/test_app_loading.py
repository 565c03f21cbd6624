"""Every architecture trained on its default recipe opens in an app: load_model in a fresh process,
evaluate.py and the upscale CLI (issue: SGD-trained best.keras files needed LayerwiseSGD to load)."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from cli_batch import run_batch
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}

# name -> (model, scale, recipe changes that only make the run short; the optimizer, loss and schedule stay the paper's)
ARCHITECTURES = {
    "srcnn": ("srcnn", 3, {}),
    "espcn": ("espcn", 3, {}),
    "fsrcnn": ("fsrcnn", 3, {}),
    "lapsrn": ("lapsrn", 2, {}),
    "edsr": ("edsr", 2, {}),
}


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    """Each architecture trained 2 steps on its paper recipe (ESPCN validated on Set5 -> best.keras)."""
    from sr_zoo import recipes, training

    root = tmp_path_factory.mktemp("runs")
    out = {}
    for key, (model, scale, changes) in ARCHITECTURES.items():
        recipe = recipes.get(model, scale).replace(
            datasets=(str(data_dir / "Set5" / "original"),), epochs=1, steps_per_epoch=2, batch_size=2, **changes)
        validation = "set5" if key == "espcn" else None
        result = training.train(recipe, root / key, validation=validation, validation_dir=data_dir, verbose=0)
        out[key] = (pathlib.Path(result.best_model_path), recipe)
    assert out["espcn"][0].name == "best.keras" and out["edsr"][0].name == "final.keras"
    return out


@pytest.fixture(scope="module")
def paired_folder(data_dir, tmp_path_factory):
    """A small folder of paired images (HR/ + LR_x<s>/), the layout evaluate.py takes for any data."""
    from sr_zoo import imresize

    root = tmp_path_factory.mktemp("paired")
    hr = np.asarray(Image.open(data_dir / "Set5" / "original" / "bird.png").convert("RGB"))[:72, :72]
    (root / "HR").mkdir()
    Image.fromarray(hr).save(root / "HR" / "bird.png")
    for s in (2, 3):
        (root / f"LR_x{s}").mkdir()
        Image.fromarray(imresize(hr, 1 / s)).save(root / f"LR_x{s}" / f"birdx{s}.png")
    return root


def test_app_files_hold_no_optimizer_and_load_in_a_fresh_process(trained, tmp_path):
    import zipfile

    import h5py
    import keras

    expected = {}
    x = np.random.default_rng(0).random((1, 12, 12, 3)).astype("float32")
    for key, (path, recipe) in trained.items():
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            (tmp_path / f"{key}.h5").write_bytes(z.read("model.weights.h5"))
        assert not config.get("compile_config"), key  # uncompiled: no optimizer, no loss to deserialize
        with h5py.File(tmp_path / f"{key}.h5", "r") as f:
            assert "optimizer" not in f, key
        model = keras.models.load_model(path)  # this process has LayerwiseSGD registered; the app below does not
        outputs = model.predict(x[..., : recipe.channels], verbose=0)
        expected[key] = outputs[-1] if isinstance(outputs, list) else outputs
        np.save(tmp_path / f"{key}.npy", expected[key])
    script = (
        "import json, sys, numpy as np, keras, sr_zoo\n"
        "assert 'sr_zoo.training' not in sys.modules\n"
        "paths = json.loads(sys.argv[1])\n"
        "x = np.random.default_rng(0).random((1, 12, 12, 3)).astype('float32')\n"
        "for key, (path, channels) in paths.items():\n"
        "    m = keras.models.load_model(path)\n"
        "    y = m.predict(x[..., :channels], verbose=0)\n"
        "    y = y[-1] if isinstance(y, list) else y\n"
        f"    np.testing.assert_allclose(y, np.load(r'{tmp_path}/' + key + '.npy'), atol=1e-6)\n"
        "print('loaded', len(paths))\n"
    )
    arg = json.dumps({k: [str(p), r.channels] for k, (p, r) in trained.items()})
    result = subprocess.run([sys.executable, "-c", script, arg], cwd=tmp_path, env=ENV, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"loaded {len(trained)}" in result.stdout


def test_evaluate_py_and_upscale_cli_open_every_trained_file(trained, paired_folder, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    image = tmp_path / "in.png"
    Image.fromarray(np.asarray(Image.open(paired_folder / "HR" / "bird.png"))[:20, :24]).save(image)
    jobs = {}
    for key, (path, recipe) in trained.items():
        jobs[("evaluate", key)] = ["evaluate.py", f"--model={path}", f"--datasets={paired_folder}",
                                   f"--scales={recipe.scale}", f"--json={tmp_path / key}.json"]
        jobs[("upscale", key)] = ["-m", "sr_zoo.upscale", f"--model={path}", str(image), str(tmp_path / f"{key}.png")]

    # Two processes (tests/cli_batch.py), evaluate.py's and the upscale tool's, each command as `python ...`
    # would; neither process has sr_zoo.training (LayerwiseSGD) imported before a command, as in a fresh one.
    groups = [[args for (tool, _), args in jobs.items() if tool == name] for name in ("evaluate", "upscale")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        batches = list(pool.map(lambda group: run_batch(group, cwd=ROOT, env=ENV), groups))
    results = dict(zip([job for name in ("evaluate", "upscale") for job in jobs if job[0] == name],
                       batches[0] + batches[1]))
    for (tool, key), result in results.items():
        assert result.returncode == 0, f"{tool} {key}: {result.stderr[-3000:]}"
        assert "sr_zoo.training" not in result.sr_zoo_modules, f"{tool} {key}: LayerwiseSGD registered beforehand"
    for key, (path, recipe) in trained.items():
        scores = json.loads((tmp_path / f"{key}.json").read_text())
        assert [s["method"] for s in scores] == ["bicubic", path.stem]
        assert all(np.isfinite(s["psnr"]) for s in scores)
        assert Image.open(tmp_path / f"{key}.png").size == (24 * recipe.scale, 20 * recipe.scale)

"""Keras 3 multi-backend: every architecture trains under JAX and PyTorch without TensorFlow
installed, and the ``.keras`` files it writes load under TensorFlow with the same outputs; the
Keras metrics, the perceptual loss and ``upscale`` run there too.

Each backend runs in a subprocess (``KERAS_BACKEND`` is fixed at import) whose
``sys.meta_path`` makes ``import tensorflow`` fail, as on a machine without it.
Marked ``backends``; skipped when the backend's package is not installed.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import sr_zoo
import sr_zoo.pretrained

pytestmark = pytest.mark.backends

#: Makes ``import tensorflow`` (and TFDS) fail in the child, like an environment without them: a
#: ``None`` entry in ``sys.modules`` raises ModuleNotFoundError on import and makes
#: ``importlib.util.find_spec`` answer None, as for an absent package (torch probes it that way).
BLOCK_TF = textwrap.dedent(
    """
    import sys

    for _name in ("tensorflow", "tensorflow_datasets", "tf_keras"):
        sys.modules[_name] = None
    """
)

# (file stem, get() arguments, loss): each architecture with its paper's loss.
ARCHITECTURES = [
    ("srcnn", dict(name="srcnn", scale=2, preset="9-5-5"), "mse"),
    ("espcn", dict(name="espcn", scale=3), "mse"),
    ("fsrcnn", dict(name="fsrcnn", scale=3, preset="fsrcnn-s"), "mse"),
    ("lapsrn", dict(name="lapsrn", scale=4, depth=2), "charbonnier"),
    ("edsr", dict(name="edsr", scale=2, channels=3, preset="baseline", num_blocks=4)),
]
ARCHITECTURES[-1] += ("l1",)

TRAIN = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    import sr_zoo
    import sr_zoo.data

    assert keras.backend.backend() == sys.argv[2]
    out, configs = sys.argv[1], json.loads(sys.argv[3])
    rng = np.random.default_rng(0)
    report = {"tensorflow_modules": None}
    for stem, config, loss in configs:
        config = dict(config)
        model = sr_zoo.models.get(config.pop("name"), **config)
        scale, channels = config["scale"], model.input_shape[-1]
        lr = rng.random((4, 12, 12, channels), dtype=np.float32)
        hr = rng.random((4, 12 * scale, 12 * scale, channels), dtype=np.float32)
        targets = hr
        if stem == "lapsrn":  # one target per pyramid level
            targets = [sr_zoo.imresize(h, 0.5).clip(0, 1) for h in hr], hr
            targets = [np.stack(targets[0]), hr]
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=sr_zoo.losses.get(loss))
        history = model.fit(lr, targets, batch_size=2, epochs=2, verbose=0)
        x = rng.random((1, 9, 11, channels), dtype=np.float32)
        y = model.predict_on_batch(x)
        y = y[-1] if isinstance(y, list) else y
        model.save(f"{out}/{stem}.keras")
        np.savez(f"{out}/{stem}.npz", x=x, y=np.asarray(y))
        report[stem] = [float(v) for v in history.history["loss"]]
    hr_u8 = rng.integers(0, 256, (2, 24, 20, 3), dtype=np.uint8)
    sr_u8 = np.clip(hr_u8 + rng.integers(-9, 10, hr_u8.shape), 0, 255).astype(np.uint8)
    for name in ("PSNR", "SSIM"):
        metric = getattr(sr_zoo.metrics, name)(crop_border=2)
        metric.update_state(hr_u8 / 255.0, sr_u8 / 255.0)
        report[name] = float(metric.result())
    np.savez(f"{out}/metric_images.npz", hr=hr_u8, sr=sr_u8)
    vgg = sr_zoo.losses.PerceptualLoss("vgg16", layer="block2_conv2", weights=None)
    report["perceptual"] = float(vgg(hr_u8 / 255.0, sr_u8 / 255.0))
    import sr_zoo.pretrained
    image = rng.integers(0, 256, (20, 24, 4), dtype=np.uint8)  # RGBA: Y model, bicubic chroma and alpha
    np.save(f"{out}/upscaled.npy", sr_zoo.upscale(sr_zoo.pretrained.load("espcn_x3"), image, tile=9, precision="float32"))
    np.save(f"{out}/image.npy", image)
    report["tensorflow_modules"] = sorted(m for m, v in sys.modules.items() if m.startswith("tensorflow") and v)
    try:
        sr_zoo.data.train_dataset("t91", scale=2, patch_size=8, batch_size=1)
    except ImportError as e:
        report["tf_data_error"] = str(e)
    print("REPORT" + json.dumps(report))
    """
)


def run_without_tensorflow(backend, script, *args, timeout=600):
    """Runs ``script`` under ``KERAS_BACKEND=backend`` with TensorFlow unimportable; returns stdout."""
    if importlib.util.find_spec(backend if backend != "torch" else "torch") is None:
        pytest.skip(f"{backend} is not installed (pip install {backend})")
    env = dict(os.environ, KERAS_BACKEND=backend)
    proc = subprocess.run([sys.executable, "-c", BLOCK_TF + script, *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_architecture_trains_without_tensorflow_and_loads_under_tensorflow(backend, tmp_path):
    out = run_without_tensorflow(backend, TRAIN, str(tmp_path), backend, json.dumps(ARCHITECTURES))
    report = json.loads(out.split("REPORT", 1)[1])
    assert report.pop("tensorflow_modules") == []
    assert report.pop("tf_data_error") == (
        "sr_zoo.data.train_dataset needs TensorFlow, which is not installed: pip install tensorflow tensorflow-datasets")
    assert keras.backend.backend() == "tensorflow"
    images = np.load(tmp_path / "metric_images.npz")
    assert report.pop("PSNR") == pytest.approx(np.mean([sr_zoo.metrics.psnr(h, s, crop_border=2)
                                                        for h, s in zip(images["hr"], images["sr"])]), abs=1e-3)
    assert report.pop("SSIM") == pytest.approx(np.mean([sr_zoo.metrics.ssim(h, s, crop_border=2)
                                                        for h, s in zip(images["hr"], images["sr"])]), abs=1e-4)
    assert np.isfinite(report.pop("perceptual"))
    for stem, _, _ in ARCHITECTURES:
        losses = report[stem]
        assert len(losses) == 2 and all(np.isfinite(losses)), (stem, losses)
        # compile=False: a torch-trained file's optimizer is saved as a torch-backend class
        # (keras.src.backend.torch.optimizers...), which only loads where torch is installed.
        model = keras.models.load_model(tmp_path / f"{stem}.keras", compile=False)
        io = np.load(tmp_path / f"{stem}.npz")
        y = model(io["x"], training=False)
        y = y[-1] if isinstance(y, list) else y
        np.testing.assert_allclose(np.asarray(y), io["y"], atol=1e-5, err_msg=f"{stem} ({backend} -> tensorflow)")
    # upscale (validation's path) without TensorFlow: numpy colour steps, the backend's model call.
    expected = sr_zoo.upscale(sr_zoo.pretrained.load("espcn_x3"), np.load(tmp_path / "image.npy"), precision="float32")
    got = np.load(tmp_path / "upscaled.npy")
    assert got.shape == expected.shape == (60, 72, 4)
    np.testing.assert_array_equal(got[..., 3], expected[..., 3])  # alpha: MATLAB bicubic, exact
    diff = np.abs(got.astype(int) - expected)
    assert diff.max() <= 2 and (diff > 0).mean() < 0.01  # float noise flips a rounding now and then

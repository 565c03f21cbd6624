"""Precision: auto by hardware, the image path in float32, float32 artefacts; mixed precision and XLA stay correct."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sr_zoo
import sr_zoo.data.benchmarks
import sr_zoo.evaluation
import sr_zoo.pretrained
from sr_zoo import precision, recipes, training


@pytest.fixture
def mixed_policy():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


CASES = [("espcn", {}), ("fsrcnn", {}), ("lapsrn", {"depth": 2}), ("edsr", {"preset": "tiny", "filters": 8}),
         ("srcnn", {})]


@pytest.mark.parametrize("name, config", CASES)
def test_xla_matches_eager(name, config):
    channels = 3 if name == "edsr" else 1
    scale = 4 if name == "lapsrn" else 3
    model = sr_zoo.models.get(name, scale=scale, channels=channels, **config)
    x = tf.random.stateless_uniform((2, 19, 23, channels), seed=(1, 2))
    eager = model(x, training=False)
    compiled = tf.function(lambda t: model(t, training=False), jit_compile=True)(x)
    for a, b in zip(tf.nest.flatten(eager), tf.nest.flatten(compiled)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-5)


@pytest.mark.parametrize("name, config", CASES)
def test_mixed_bfloat16_matches_float32(name, config, mixed_policy):
    channels = 3 if name == "edsr" else 1
    scale = 4 if name == "lapsrn" else 3
    keras.mixed_precision.set_global_policy("float32")
    reference = sr_zoo.models.get(name, scale=scale, channels=channels, **config)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    mixed = sr_zoo.models.get(name, scale=scale, channels=channels, **config)
    mixed.set_weights(reference.get_weights())
    x = tf.random.stateless_uniform((1, 16, 16, channels), seed=(3, 4))
    for a, b in zip(tf.nest.flatten(reference(x)), tf.nest.flatten(mixed(x))):
        a, b = a.numpy(), tf.cast(b, tf.float32).numpy()
        assert a.shape == b.shape
        # bfloat16 keeps 8 bits of mantissa: outputs agree to about 1% of their range, pixel for pixel
        # (a wrong sub-pixel order or deconvolution offset would differ by far more).
        tolerance = 0.03 * (np.abs(a).max() + 1e-3)
        np.testing.assert_allclose(b, a, atol=tolerance)


def test_train_step_under_mixed_precision_and_xla(data_dir, tmp_path, mixed_policy):
    recipe = recipes.get("espcn", 3).replace(
        datasets=(str(data_dir / "T91"),), epochs=1, steps_per_epoch=3, batch_size=8, optimizer="adam",
        learning_rate=1e-3, lr_schedule="constant", reconstruction_lr_multiplier=1.0,
    )
    result = training.train(recipe, tmp_path / "run", validation=None, mixed_precision=True, jit_compile=True,
                            verbose=0)
    model = keras.models.load_model(result.best_model_path)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert result.global_step == 3


def test_srcnn_bicubic_stays_float32_under_mixed_precision(mixed_policy):
    model = sr_zoo.models.get("srcnn", scale=2)
    bicubic = model.get_layer("bicubic")
    assert bicubic.compute_dtype == "float32" and model.get_layer("patch_extraction").compute_dtype == "bfloat16"
    x = np.random.default_rng(1).random((1, 9, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bicubic(x))[0], sr_zoo.imresize(x[0].astype(np.float64), 2),
                               atol=1e-6)


# ---------------------------------------------------------------------------------------------
# precision="auto": one decision by hardware (sr_zoo.precision), one per architecture (sr_zoo.models.precision)


@pytest.mark.parametrize("gpu, flags, backend, expected", [
    (True, (), "tensorflow", "float16"),  # Keras scales the loss under mixed_float16
    (True, (), "jax", "bfloat16"),
    (True, (), "torch", "bfloat16"),
    (False, ("avx2", "amx_bf16", "amx_tile"), "tensorflow", "bfloat16"),
    (False, ("avx512f", "avx512_bf16"), "tensorflow", "bfloat16"),
    (False, ("avx2", "avx512f"), "tensorflow", "float32"),  # bfloat16 would be emulated
    (False, ("amx_bf16",), "jax", "float32"),  # XLA:CPU gains nothing from bfloat16
    (False, (), "tensorflow", "float32"),
])
def test_auto_resolves_by_hardware(gpu, flags, backend, expected):
    assert precision.resolve("auto", gpu=gpu, flags=flags, backend=backend) == expected
    for explicit in ("float32", "bfloat16", "float16"):
        assert precision.resolve(explicit, gpu=gpu, flags=flags, backend=backend) == explicit


def test_unknown_precision_is_refused_and_policies_are_mixed():
    with pytest.raises(ValueError, match="unknown precision 'half'; choose one of auto, float32"):
        precision.resolve("half")
    assert [precision.policy(p) for p in ("float32", "bfloat16", "float16")] == \
        ["float32", "mixed_bfloat16", "mixed_float16"]


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512_bf16 amx_bf16\n\nprocessor\t: 1\n")
    assert {"amx_bf16", "avx512_bf16"} <= precision.cpu_flags(str(info))
    assert precision.cpu_flags(str(tmp_path / "missing")) == frozenset()


@pytest.mark.parametrize("name, config, float32_layers", [
    ("edsr", {"channels": 3, "num_blocks": 1, "filters": 8}, {"reconstruction", "mean_add"}),
    ("espcn", {}, {"reconstruction", "subpixel"}),
    ("fsrcnn", {}, {"reconstruction"}),
    ("srcnn", {}, {"bicubic", "reconstruction"}),
    ("lapsrn", {"depth": 1}, {"level1_residual", "level1_image_up", "sr_x2", "level2_residual", "level2_image_up",
                              "sr_x4"}),
])
def test_with_precision_keeps_the_image_path_in_float32(name, config, float32_layers):
    model = sr_zoo.models.get(name, scale=4 if name == "lapsrn" else 2, **config)
    fast = sr_zoo.models.with_precision(model, "bfloat16")
    assert fast is not model and sr_zoo.models.precision_of(fast) == "bfloat16"
    kept = {layer.name for layer in fast.layers if layer.dtype_policy.name == "float32"
            and not isinstance(layer, keras.layers.InputLayer)}
    assert kept == float32_layers
    for a, b in zip(model.weights, fast.weights):  # variables stay float32, with the same values
        assert b.dtype == "float32"
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert sr_zoo.models.with_precision(fast, "bfloat16") is fast
    assert sr_zoo.models.with_precision(model, "float32") is model


def test_bfloat16_training_leaves_float32_artefacts(data_dir, tmp_path):
    recipe = recipes.get("espcn", 3).replace(
        datasets=(str(data_dir / "T91"),), epochs=1, steps_per_epoch=3, batch_size=8, optimizer="adam",
        learning_rate=1e-3, lr_schedule="constant", reconstruction_lr_multiplier=1.0, precision="bfloat16",
    )
    result = training.train(recipe, tmp_path / "run", verbose=0, checkpoint_every=2)
    assert keras.config.dtype_policy().name == "float32"  # the run's policy does not outlive it
    best = keras.models.load_model(result.best_model_path)
    assert {layer.dtype_policy.name for layer in best.layers} == {"float32"}
    assert all(w.dtype == "float32" for w in best.weights)
    state = training.read_latest_checkpoint(tmp_path / "run")
    checkpoint = sr_zoo.models.get("espcn", scale=3, activation="tanh")
    checkpoint.load_weights(state["weights_path"])
    assert all(w.dtype == "float32" for w in checkpoint.weights)
    # validation scored the float32 model: best.json's PSNR is best.keras's own
    pairs = sr_zoo.data.benchmarks.load_pairs("set5", 3)
    again = np.mean([sr_zoo.metrics.psnr(p.hr, sr_zoo.upscale(best, p.lr, precision="float32"), crop_border=3)
                     for p in pairs])
    assert abs(again - result.best_psnr) < 1e-6


@pytest.fixture
def bfloat16_cpu(monkeypatch):
    """This process answers ``auto`` as a CPU with AMX would (the CPU's own flags are not consulted)."""
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    monkeypatch.setattr(precision, "has_gpu", lambda: False)


def test_upscale_in_each_precision_against_float32(data_dir, bfloat16_cpu):
    pair = sr_zoo.data.benchmarks.load_pairs("set5", 3)[1]
    espcn = sr_zoo.pretrained.load("espcn_x3")
    reference = sr_zoo.upscale(espcn, pair.lr, precision="float32")
    assert sr_zoo.inference.in_precision(espcn, "float32") is espcn
    for prec in ("bfloat16", "float16", "auto"):
        out = sr_zoo.upscale(espcn, pair.lr, precision=prec)
        diff = np.abs(out.astype(int) - reference.astype(int))
        assert out.shape == reference.shape and out.dtype == np.uint8
        assert diff.mean() < 0.5 and diff.max() <= 8, (prec, diff.mean(), diff.max())
        assert sr_zoo.metrics.psnr(pair.hr, out, crop_border=3) > sr_zoo.metrics.psnr(
            pair.hr, reference, crop_border=3) - 0.05
    # ESPCN, SRCNN and FSRCNN lose more than 0.02 dB in bfloat16 at some scale: auto keeps them in float32
    assert sr_zoo.inference.in_precision(espcn, "auto") is espcn
    fsrcnn = sr_zoo.models.get("fsrcnn", scale=3)
    assert sr_zoo.inference.in_precision(fsrcnn, "auto") is fsrcnn
    edsr = sr_zoo.models.get("edsr", scale=2, channels=3, num_blocks=1, filters=8)
    assert sr_zoo.models.precision_of(sr_zoo.inference.in_precision(edsr, "auto")) == "bfloat16"


@pytest.mark.parametrize("gpu, model_name, expected", [
    (False, "fsrcnn", "float32"),  # measured slower in bfloat16 on the AMX CPU (benchmarks/bench_training.py)
    (False, "espcn", "bfloat16"),
    (False, "edsr", "bfloat16"),
    (True, "fsrcnn", "float16"),  # a GPU keeps the hardware's choice
])
def test_training_auto_is_per_architecture_on_a_cpu(monkeypatch, gpu, model_name, expected):
    from sr_zoo.models import precision as model_precision

    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    monkeypatch.setattr(precision, "has_gpu", lambda: gpu)
    compute, why = model_precision.training_precision(model_name, "auto")
    assert compute == expected and why.startswith(f"{expected} (auto: ")
    assert model_precision.training_precision(model_name, "bfloat16") == ("bfloat16", "bfloat16")


def test_auto_is_float32_without_native_bfloat16(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    monkeypatch.setattr(precision, "has_gpu", lambda: False)
    model = sr_zoo.models.get("edsr", scale=2, channels=3, num_blocks=1, filters=8)
    assert sr_zoo.inference.in_precision(model, "auto") is model


def test_evaluation_table_names_the_precision():
    score = sr_zoo.evaluation.Score(method="espcn_x3", benchmark="set5", scale=3, psnr=32.4, ssim=0.9,
                                    seconds_per_image=0.1, crop_border=3, y_channel=True, per_image=[])
    assert sr_zoo.evaluation.markdown_table([score], precision="float32").splitlines()[0].endswith(
        "crop = scale pixels, models in float32")

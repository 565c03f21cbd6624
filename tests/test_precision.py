"""Mixed precision and XLA: sub-pixel and transposed-convolution models stay numerically correct."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sr_zoo
from sr_zoo import recipes, training


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

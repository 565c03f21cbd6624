"""sr_zoo.losses: values against numpy, Keras integration, the VGG perceptual loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sr_zoo
from sr_zoo import losses


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    return rng.random((3, 8, 6, 1), dtype=np.float32), rng.random((3, 8, 6, 1), dtype=np.float32)


def test_function_losses_match_numpy_per_image(pair):
    hr, sr = pair
    d = sr.astype(np.float64) - hr
    np.testing.assert_allclose(losses.mse(hr, sr), (d**2).mean(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(losses.l1(hr, sr), np.abs(d).mean(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(
        losses.charbonnier(hr, sr), np.sqrt(d**2 + 1e-6).mean(axis=(1, 2, 3)), rtol=1e-5
    )
    assert losses.charbonnier(hr, sr).shape == (3,)


def test_charbonnier_epsilon_is_lapsrns(pair):
    hr, _ = pair
    assert losses.CHARBONNIER_EPSILON == 1e-3
    np.testing.assert_allclose(losses.charbonnier(hr, hr), 1e-3, rtol=1e-4)  # sqrt(0 + eps^2)
    np.testing.assert_allclose(losses.Charbonnier(epsilon=0.1)(hr, hr), 0.1, rtol=1e-5)
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        losses.Charbonnier(epsilon=0)


def test_loss_classes_reduce_over_the_batch(pair):
    hr, sr = pair
    assert float(losses.MSE()(hr, sr)) == pytest.approx(float(np.mean(losses.mse(hr, sr))), rel=1e-6)
    assert float(losses.L1()(hr, sr)) == pytest.approx(float(np.mean(losses.l1(hr, sr))), rel=1e-6)
    assert float(losses.Charbonnier()(hr, sr)) == pytest.approx(float(np.mean(losses.charbonnier(hr, sr))), rel=1e-6)


def test_get_by_name_and_passthrough():
    assert isinstance(losses.get("mse"), losses.MSE) and isinstance(losses.get("L2"), losses.MSE)
    assert isinstance(losses.get("l1"), losses.L1) and isinstance(losses.get("mae"), losses.L1)
    assert isinstance(losses.get("charbonnier"), losses.Charbonnier)
    loss = losses.Charbonnier()
    assert losses.get(loss) is loss and losses.get(losses.mse) is losses.mse
    with pytest.raises(ValueError, match=r"available: \['charbonnier', 'l1', 'l2', 'mae'"):
        losses.get("ssim")


def test_losses_serialize_round_trip():
    for loss in (losses.MSE(), losses.L1(), losses.Charbonnier(epsilon=5e-3)):
        clone = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    assert keras.losses.deserialize(keras.losses.serialize(losses.charbonnier)) is losses.charbonnier


def test_losses_train_a_model():
    hr = np.random.default_rng(1).random((4, 12, 12, 1), dtype=np.float32)
    lr = hr[:, ::2, ::2]
    for loss in ("mse", "l1", "charbonnier"):
        keras.utils.set_random_seed(0)
        model = sr_zoo.models.get("espcn", scale=2, activation="relu")
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=losses.get(loss), run_eagerly=True)
        history = model.fit(lr, hr, epochs=5, batch_size=4, verbose=0).history["loss"]
        assert np.isfinite(history).all() and history[-1] < history[0], loss


# ---------------------------------------------------------------------------------------------
# Perceptual loss (random VGG weights: ImageNet weights cannot be fetched in tests)


@pytest.fixture(scope="module")
def vgg22():
    return losses.PerceptualLoss("vgg19", layer="relu2_2", weights=None)


def test_perceptual_loss_is_zero_for_identical_images_and_positive_otherwise(vgg22):
    rng = np.random.default_rng(2)
    a = rng.random((2, 32, 32, 3), dtype=np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    assert float(vgg22(a, a)) == 0.0
    assert float(vgg22(a, b)) > 0.0
    assert vgg22._features.output.shape[-1] == 128  # relu2_2 = block2_conv2
    assert not vgg22._features.trainable


def test_perceptual_loss_tiles_y_and_feeds_vgg_its_input_scale(vgg22):
    y = np.random.default_rng(3).random((1, 16, 16, 1), dtype=np.float32)
    rgb = np.repeat(y, 3, axis=-1)
    prepared = vgg22._to_vgg_input(tf.constant(y)).numpy()
    np.testing.assert_allclose(prepared, vgg22._to_vgg_input(tf.constant(rgb)).numpy())
    # Caffe convention: BGR order, 0..255, ImageNet mean subtracted.
    px = np.array([[[[0.1, 0.5, 0.9]]]], np.float32)
    np.testing.assert_allclose(
        vgg22._to_vgg_input(tf.constant(px)).numpy()[0, 0, 0],
        [0.9 * 255 - 103.939, 0.5 * 255 - 116.779, 0.1 * 255 - 123.68],
        rtol=1e-5,
    )
    other = np.random.default_rng(4).random((1, 16, 16, 1), dtype=np.float32)
    assert float(vgg22(y, other)) == pytest.approx(float(vgg22(rgb, np.repeat(other, 3, -1))), rel=1e-5)


def test_perceptual_loss_gradient_reaches_the_prediction_only(vgg22):
    a = tf.constant(np.random.default_rng(5).random((1, 16, 16, 3), dtype=np.float32))
    b = tf.Variable(np.random.default_rng(6).random((1, 16, 16, 3), dtype=np.float32))
    with tf.GradientTape() as tape:
        value = vgg22(a, b)
    grad = tape.gradient(value, b)
    assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


def test_perceptual_loss_layer_names_and_errors():
    loss = losses.PerceptualLoss("vgg16", layer="block3_conv3", weights=None)
    assert loss._features.output.shape[-1] == 256
    with pytest.raises(ValueError, match=r"unknown vgg16 layer 'relu5_4'; choose one of \['relu1_1'"):
        losses.PerceptualLoss("vgg16", layer="relu5_4", weights=None)
    with pytest.raises(ValueError, match=r"choose one of \['vgg16', 'vgg19'\]"):
        losses.PerceptualLoss("resnet50", weights=None)
    with pytest.raises(ValueError, match="path of an existing weights file"):
        losses.PerceptualLoss("vgg19", weights="/nonexistent/vgg19.h5")


def test_perceptual_loss_says_how_to_pass_local_weights_when_fetching_fails(monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no internet")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(RuntimeError) as err:
        losses.PerceptualLoss("vgg19", layer="relu5_4")
    message = str(err.value)
    assert "could not fetch the VGG19 ImageNet weights" in message and "no internet" in message
    assert "weights='/path/to/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'" in message


def test_perceptual_loss_loads_a_local_weights_file_and_serializes(tmp_path, vgg22):
    # A "local weights file" made from the random network stands in for the downloaded one.
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    path = tmp_path / "vgg19_notop.weights.h5"
    vgg.save_weights(path)
    loss = losses.PerceptualLoss("vgg19", layer="relu5_4", weights=path)
    np.testing.assert_array_equal(loss._features.get_layer("block1_conv1").kernel.numpy(), vgg.get_layer("block1_conv1").kernel.numpy())
    config = keras.losses.serialize(loss)
    clone = keras.losses.deserialize(config)
    assert isinstance(clone, losses.PerceptualLoss)
    assert (clone.network, clone.layer, clone.weights) == ("vgg19", "relu5_4", str(path))

"""PSNR / SSIM: the SR literature's protocol, and the TF and Keras versions."""

import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import sr_zoo
from sr_zoo import metrics


def _pair(seed=0, shape=(48, 40, 3)):
    rng = np.random.default_rng(seed)
    hr = rng.integers(0, 256, shape, dtype=np.uint8)
    noise = rng.normal(0, 8, shape)
    sr = np.clip(hr + noise, 0, 255).astype(np.uint8)
    return hr, sr


def test_psnr_matches_definition_on_y_with_crop():
    hr, sr = _pair()
    y_hr = sr_zoo.rgb_to_ycbcr(hr / 255.0)[..., 0] * 255
    y_sr = sr_zoo.rgb_to_ycbcr(sr / 255.0)[..., 0] * 255
    c = 4
    mse = np.mean((y_hr[c:-c, c:-c] - y_sr[c:-c, c:-c]) ** 2)
    assert metrics.psnr(hr, sr, crop_border=c) == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-9)
    # RGB over all channels agrees with scikit-image.
    assert metrics.psnr(hr, sr, y_channel=False) == pytest.approx(peak_signal_noise_ratio(hr, sr, data_range=255))


def test_ssim_matches_scikit_image_gaussian_ssim():
    hr, sr = _pair(1, (64, 64))
    expected = structural_similarity(
        hr.astype(np.float64), sr.astype(np.float64), gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=255, full=True,
    )[1][5:-5, 5:-5].mean()  # Wang et al.'s 'valid' map
    assert metrics.ssim(hr, sr) == pytest.approx(expected, abs=1e-6)
    assert metrics.ssim(hr, hr) == pytest.approx(1.0)


def test_psnr_ssim_is_both_numbers_of_one_conversion():
    hr, sr = _pair(3)
    for crop, y in ((3, True), (0, False)):
        assert metrics.psnr_ssim(hr, sr, crop_border=crop, y_channel=y) == (
            metrics.psnr(hr, sr, crop_border=crop, y_channel=y), metrics.ssim(hr, sr, crop_border=crop, y_channel=y))


def test_identical_images():
    hr, _ = _pair()
    assert metrics.psnr(hr, hr) == float("inf")


def test_grayscale_inputs():
    hr, sr = _pair(2, (30, 30))
    assert metrics.psnr(hr, sr) == metrics.psnr(hr[..., None], sr[..., None])
    assert metrics.psnr(hr, sr, y_channel=True) == metrics.psnr(hr, sr, y_channel=False)


def test_tf_versions_agree_with_numpy():
    hr, sr = _pair(3)
    hr_b, sr_b = tf.constant(hr[None]), tf.constant(sr[None])
    assert float(metrics.psnr_tf(hr_b, sr_b, crop_border=3)[0]) == pytest.approx(metrics.psnr(hr, sr, crop_border=3), abs=1e-3)
    assert float(metrics.ssim_tf(hr_b, sr_b, crop_border=3)[0]) == pytest.approx(metrics.ssim(hr, sr, crop_border=3), abs=1e-4)
    # Float [0, 1] inputs give the same numbers.
    hr_f, sr_f = tf.constant(hr[None] / 255.0, tf.float32), tf.constant(sr[None] / 255.0, tf.float32)
    assert float(metrics.psnr_tf(hr_f, sr_f, crop_border=3)[0]) == pytest.approx(metrics.psnr(hr, sr, crop_border=3), abs=1e-3)


def test_keras_metric_accumulates_and_serializes():
    import keras

    hr, sr = _pair(4)
    m = metrics.PSNR(crop_border=2)
    m.update_state(tf.constant(hr[None] / 255.0), tf.constant(sr[None] / 255.0))
    m.update_state(tf.constant(hr[None] / 255.0), tf.constant(hr[None] / 255.0 * 0.99))
    expected = np.mean([metrics.psnr(hr, sr, crop_border=2), float(metrics.psnr_tf(hr[None] / 255.0, hr[None] / 255.0 * 0.99, crop_border=2)[0])])
    assert float(m.result()) == pytest.approx(expected, abs=1e-3)
    clone = keras.metrics.deserialize(keras.metrics.serialize(m))
    assert isinstance(clone, metrics.PSNR) and clone.crop_border == 2 and clone.y_channel
    s = metrics.SSIM(crop_border=2)
    s.update_state(tf.constant(hr[None] / 255.0), tf.constant(hr[None] / 255.0))
    assert float(s.result()) == pytest.approx(1.0, abs=1e-5)


def test_errors_name_the_problem():
    hr, sr = _pair()
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(hr, sr[:-1])
    with pytest.raises(TypeError, match="uint8"):
        metrics.psnr(hr.astype(np.float32), sr)
    with pytest.raises(ValueError, match="crop_border=30"):
        metrics.psnr(hr, sr, crop_border=30)
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        metrics.ssim(hr[:14, :14], sr[:14, :14], crop_border=2)


def test_keras_ops_versions_agree_with_tf_versions():
    rng = np.random.default_rng(5)
    hr = rng.integers(0, 256, (2, 30, 27, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
    for y_channel in (True, False):
        for a, b in [(hr, sr), (hr / 255.0, sr / 255.0)]:
            np.testing.assert_allclose(np.asarray(metrics.psnr_ops(a, b, crop_border=3, y_channel=y_channel)),
                                       np.asarray(metrics.psnr_tf(a, b, crop_border=3, y_channel=y_channel)), atol=1e-3)
            np.testing.assert_allclose(np.asarray(metrics.ssim_ops(a, b, crop_border=3, y_channel=y_channel)),
                                       np.asarray(metrics.ssim_tf(a, b, crop_border=3, y_channel=y_channel)), atol=1e-4)

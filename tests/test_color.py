"""MATLAB rgb2ycbcr / ycbcr2rgb semantics, numpy and TF."""

import numpy as np
import pytest
import tensorflow as tf

import sr_zoo


def test_known_matlab_values():
    # MATLAB: rgb2ycbcr(uint8([0 0 0; 255 255 255; 255 0 0])) -> [16 128 128; 235 128 128; 81 90 240]
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    np.testing.assert_array_equal(sr_zoo.rgb_to_ycbcr(rgb)[0], [[16, 128, 128], [235, 128, 128], [81, 90, 240]])
    # Doubles live on the 0..1 scale: white is Y = 235/255.
    white = np.ones((1, 1, 3))
    np.testing.assert_allclose(sr_zoo.rgb_to_ycbcr(white)[0, 0], [235 / 255, 128 / 255, 128 / 255], atol=1e-12)


def test_round_trip():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    back = sr_zoo.ycbcr_to_rgb(sr_zoo.rgb_to_ycbcr(rgb))
    assert np.abs(back.astype(int) - rgb).max() <= 2  # uint8 rounding in both directions
    floats = rgb / 255.0
    np.testing.assert_allclose(sr_zoo.ycbcr_to_rgb(sr_zoo.rgb_to_ycbcr(floats)), floats, atol=1e-12)


def test_float_ycbcr_to_rgb_clips_like_matlab():
    out = sr_zoo.ycbcr_to_rgb(np.array([[[1.0, 0.5, 0.5]]]))  # Y above 235/255 saturates
    np.testing.assert_allclose(out, 1.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_tf_matches_numpy(dtype):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (2, 9, 7, 3), dtype=np.uint8)
    x = rgb if dtype == np.uint8 else (rgb / 255.0).astype(np.float32)
    for fn in (sr_zoo.rgb_to_ycbcr, sr_zoo.ycbcr_to_rgb, sr_zoo.rgb_to_y):
        got = fn(tf.constant(x)).numpy()
        want = fn(x)
        assert got.dtype == want.dtype
        if dtype == np.uint8:
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, atol=1e-6)


def test_rgb_to_y_shape_and_passthrough():
    rgb = np.zeros((4, 5, 3), np.uint8)
    assert sr_zoo.rgb_to_y(rgb).shape == (4, 5, 1)
    gray = np.zeros((4, 5, 1), np.uint8)
    assert sr_zoo.rgb_to_y(gray) is gray


def test_errors():
    with pytest.raises(ValueError, match="3 channels"):
        sr_zoo.rgb_to_ycbcr(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(TypeError, match="unsupported dtype int16"):
        sr_zoo.rgb_to_ycbcr(np.zeros((4, 4, 3), np.int16))
    with pytest.raises(TypeError, match="unsupported dtype"):
        sr_zoo.ycbcr_to_rgb(tf.zeros((4, 4, 3), tf.int32))

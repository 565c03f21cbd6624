"""MATLAB-exact imresize: bit-exact against MATLAB-made LR images, and the API's contract."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import sr_zoo
from sr_zoo.image.resize import METHODS, contributions


def _read(path):
    return np.array(Image.open(path))


def _selfexsr_pairs(data_dir, benchmark, scale):
    hr_paths = sorted(glob.glob(str(data_dir / benchmark / "SelfExSR" / f"image_SRF_{scale}" / "*_HR.png")))
    assert hr_paths, f"no SelfExSR pairs for {benchmark} x{scale} under {data_dir}"
    return [(p, p.replace("_HR.png", "_LR.png")) for p in hr_paths]


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("benchmark", ["Set5", "Set14", "B100"])
def test_selfexsr_lr_images_bit_exact_with_replicate_border(data_dir, benchmark, scale):
    mismatches = []
    for hr_path, lr_path in _selfexsr_pairs(data_dir, benchmark, scale):
        hr, lr = _read(hr_path), _read(lr_path)
        out = sr_zoo.imresize(hr, 1 / scale, boundary="replicate")
        if out.shape != lr.shape or np.count_nonzero(out != lr):
            mismatches.append((os.path.basename(hr_path), out.shape, lr.shape))
    assert not mismatches, f"differing pixels for {mismatches}"


def _edsr_pairs(data_dir, scale):
    root = data_dir / "Set5" / "EDSR_benchmark"
    for hr_path in sorted((root / "HR").glob("*.png")):
        lr_path = root / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png"
        hr = _read(hr_path)
        h, w = hr.shape[:2]
        yield hr_path.stem, hr[: h - h % scale, : w - w % scale], _read(lr_path)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_edsr_benchmark_lr_images_bit_exact_with_symmetric_border(data_dir, scale):
    for name, hr, lr in _edsr_pairs(data_dir, scale):
        out = sr_zoo.imresize(hr, 1 / scale)  # 'symmetric' is the default, as in current MATLAB
        assert out.shape == lr.shape, name
        assert np.count_nonzero(out != lr) == 0, f"{name} x{scale}"
        # The other convention really is different: the test can tell them apart.
        assert np.count_nonzero(sr_zoo.imresize(hr, 1 / scale, boundary="replicate") != lr) > 0


@pytest.mark.parametrize("benchmark", ["Set5", "Set14", "B100"])
def test_tf_path_gives_same_bytes_as_numpy(data_dir, benchmark):
    resize = tf.function(lambda x, s, b: sr_zoo.imresize(x, s, boundary=b), reduce_retracing=True)
    for scale in (2, 3, 4):
        pairs = _selfexsr_pairs(data_dir, benchmark, scale)
        if benchmark == "B100":
            pairs = pairs[::10]  # every 10th image keeps the suite fast; Set5/Set14 run in full
        for hr_path, lr_path in pairs:
            hr = _read(hr_path)
            hr = hr if hr.ndim == 3 else hr[..., None]  # tensors are HWC; Set14's bridge is grayscale
            down_np = sr_zoo.imresize(hr, 1 / scale, boundary="replicate")
            down_tf = sr_zoo.imresize(tf.constant(hr), 1 / scale, boundary="replicate").numpy()
            np.testing.assert_array_equal(down_tf, down_np, err_msg=f"{hr_path} down x{scale}")
            lr = _read(lr_path)
            up_np = sr_zoo.imresize(lr, scale)
            up_tf = resize(tf.constant(lr if lr.ndim == 3 else lr[..., None]), float(scale), "symmetric").numpy()
            np.testing.assert_array_equal(up_tf.reshape(up_np.shape), up_np, err_msg=f"{lr_path} up x{scale}")


# ----------------------------------------------------------------------------- semantics


def test_output_size_is_matlab_ceil():
    image = np.zeros((7, 5, 3), np.uint8)
    assert sr_zoo.imresize(image, 0.5).shape == (4, 3, 3)
    assert sr_zoo.imresize(image, 1 / 3).shape == (3, 2, 3)
    assert sr_zoo.imresize(image, 2.5).shape == (18, 13, 3)
    assert sr_zoo.imresize(image, (2, 0.5)).shape == (14, 3, 3)
    assert sr_zoo.imresize(image, output_shape=(10, None)).shape == (10, 5, 3)
    assert sr_zoo.imresize(np.zeros((7, 5), np.float32), 2).shape == (14, 10)


@pytest.mark.parametrize("method", METHODS)
def test_constant_image_stays_constant(method):
    image = np.full((9, 11, 3), 137, np.uint8)
    for scale in (0.37, 1 / 3, 0.5, 2, 3.3):
        out = sr_zoo.imresize(image, scale, method=method)
        assert out.dtype == np.uint8
        assert np.all(out == 137), (method, scale)


def test_identity_at_scale_one():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    np.testing.assert_array_equal(sr_zoo.imresize(image, 1), image)


def test_known_kernels():
    row = np.array([[10.0, 20.0, 30.0, 40.0]])
    # Nearest upscaling repeats pixels.
    np.testing.assert_array_equal(sr_zoo.imresize(row, (1, 2), method="nearest"), [[10, 10, 20, 20, 30, 30, 40, 40]])
    # Box shrinking by 2 averages pairs.
    np.testing.assert_allclose(sr_zoo.imresize(row, (1, 0.5), method="box"), [[15.0, 35.0]])
    # Bilinear shrinking by 2 is the widened triangle: weights 1/8, 3/8, 3/8, 1/8 with mirrored edges.
    expected = [[(10 + 3 * 10 + 3 * 20 + 30) / 8, (20 + 3 * 30 + 3 * 40 + 40) / 8]]
    np.testing.assert_allclose(sr_zoo.imresize(row, (1, 0.5), method="bilinear"), expected)
    # Without antialiasing the kernel keeps its width: plain interpolation between the two middle pixels.
    np.testing.assert_allclose(sr_zoo.imresize(row, (1, 0.5), method="bilinear", antialias=False), [[15.0, 35.0]])


def test_bicubic_weights_are_matlab_a_minus_half():
    # Upscaling by 2 samples at +-1/4 and +-3/4 pixel: MATLAB's cubic gives these exact dyadic weights.
    _, weights = contributions(8, 16, 2.0)
    row = weights[5]
    nonzero = np.sort(row[row != 0])
    np.testing.assert_array_equal(nonzero, np.sort([-0.0234375, 0.2265625, 0.8671875, -0.0703125]))
    assert np.allclose(weights.sum(axis=1), 1.0)


def test_boundaries_differ_only_at_the_border():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    sym = sr_zoo.imresize(image, 0.25)
    rep = sr_zoo.imresize(image, 0.25, boundary="replicate")
    assert np.count_nonzero(sym != rep) > 0
    np.testing.assert_array_equal(sym[2:-2, 2:-2], rep[2:-2, 2:-2])


def test_uint8_rounds_after_each_pass_and_float_is_unclipped():
    step = np.zeros((8, 8), np.uint8)
    step[:, 4:] = 255
    out = sr_zoo.imresize(step, 2)
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    out_f = sr_zoo.imresize(step.astype(np.float32) / 255, 2)
    assert out_f.dtype == np.float32
    assert out_f.min() < 0 and out_f.max() > 1  # bicubic overshoot is kept for floats
    # uint8 equals float computed per pass then rounded per pass, not rounded once at the end.
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (23, 19), dtype=np.uint8)
    per_pass = sr_zoo.imresize(image, (1, 1 / 3)).astype(np.float64)
    per_pass = np.clip(np.floor(sr_zoo.imresize(per_pass, (1 / 3, 1)) + 0.5), 0, 255)  # order: equal scale
    direct = sr_zoo.imresize(image, 1 / 3)
    height_first = np.clip(np.floor(sr_zoo.imresize(image.astype(np.float64), (1 / 3, 1)) + 0.5), 0, 255)
    height_first = np.clip(np.floor(sr_zoo.imresize(height_first, (1, 1 / 3)) + 0.5), 0, 255)
    np.testing.assert_array_equal(direct, height_first.astype(np.uint8))
    assert per_pass.shape == direct.shape


def test_smaller_scale_dimension_goes_first():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (30, 30), dtype=np.uint8)
    out = sr_zoo.imresize(image, (0.9, 0.3))  # width shrinks more: MATLAB resizes width first
    width_first = sr_zoo.imresize(sr_zoo.imresize(image, (1, 0.3)), (0.9, 1))
    np.testing.assert_array_equal(out, width_first)
    height_first = sr_zoo.imresize(sr_zoo.imresize(image, (0.9, 1)), (1, 0.3))
    assert np.count_nonzero(out != height_first) > 0


# ----------------------------------------------------------------------------- TensorFlow


@pytest.mark.parametrize("method", METHODS)
def test_tf_matches_numpy_for_every_method(method):
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (21, 26, 3), dtype=np.uint8)
    for scale in (1 / 4, 0.6, 3):
        for boundary in ("symmetric", "replicate"):
            expected = sr_zoo.imresize(image, scale, method=method, boundary=boundary)
            got = sr_zoo.imresize(tf.constant(image), scale, method=method, boundary=boundary).numpy()
            np.testing.assert_array_equal(got, expected)
    floats = image.astype(np.float32) / 255
    np.testing.assert_allclose(
        sr_zoo.imresize(tf.constant(floats), 0.6, method=method).numpy(),
        sr_zoo.imresize(floats, 0.6, method=method),
        atol=2e-6,
    )


def test_tf_batched_and_output_shape():
    rng = np.random.default_rng(6)
    batch = rng.integers(0, 256, (2, 12, 15, 3), dtype=np.uint8)
    out = sr_zoo.imresize(tf.constant(batch), output_shape=(7, 30)).numpy()
    assert out.shape == (2, 7, 30, 3)
    for i in range(2):
        np.testing.assert_array_equal(out[i], sr_zoo.imresize(batch[i], output_shape=(7, 30)))


def test_tf_inside_dataset_map_with_varying_sizes():
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(12, 16), (20, 9), (33, 33)]]
    ds = tf.data.Dataset.from_generator(
        lambda: iter(images), output_signature=tf.TensorSpec((None, None, 3), tf.uint8)
    ).map(lambda x: sr_zoo.imresize(x, 1 / 3, boundary="replicate"))
    for image, out in zip(images, ds):
        np.testing.assert_array_equal(out.numpy(), sr_zoo.imresize(image, 1 / 3, boundary="replicate"))
    ds_shape = tf.data.Dataset.from_generator(
        lambda: iter(images), output_signature=tf.TensorSpec((None, None, 3), tf.uint8)
    ).map(lambda x: sr_zoo.imresize(x, output_shape=(10, 11)))
    for image, out in zip(images, ds_shape):
        np.testing.assert_array_equal(out.numpy(), sr_zoo.imresize(image, output_shape=(10, 11)))


def test_tf_under_xla():
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (1, 24, 20, 3), dtype=np.uint8)
    fn = tf.function(lambda x: sr_zoo.imresize(x, 1 / 4), jit_compile=True)
    np.testing.assert_array_equal(fn(tf.constant(image)).numpy()[0], sr_zoo.imresize(image[0], 1 / 4))
    up = tf.function(lambda x: sr_zoo.imresize(x, 3), jit_compile=True)
    floats = image.astype(np.float32) / 255
    np.testing.assert_allclose(up(tf.constant(floats)).numpy()[0], sr_zoo.imresize(floats[0], 3), atol=2e-6)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(), ValueError, "exactly one"),
        (dict(scale=0.5, output_shape=(2, 2)), ValueError, "exactly one"),
        (dict(scale=0), ValueError, "positive"),
        (dict(scale=-2), ValueError, "positive"),
        (dict(scale=float("nan")), ValueError, "positive"),
        (dict(output_shape=(0, 4)), ValueError, "positive integers"),
        (dict(output_shape=(4,)), ValueError, "output_shape"),
        (dict(scale=0.5, method="cubic"), ValueError, "unknown method"),
        (dict(scale=0.5, boundary="circular"), ValueError, "unknown boundary"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(error, match=match):
        sr_zoo.imresize(image, **kwargs)
    with pytest.raises(error, match=match):
        sr_zoo.imresize(tf.constant(image), **kwargs)


def test_bad_images():
    with pytest.raises(ValueError, match="HxW or HxWxC"):
        sr_zoo.imresize(np.zeros((2, 8, 8, 3), np.uint8), 0.5)
    with pytest.raises(ValueError, match="HxWxC or NxHxWxC"):
        sr_zoo.imresize(tf.zeros((8, 8)), 0.5)
    with pytest.raises(TypeError, match="unsupported dtype int32"):
        sr_zoo.imresize(np.zeros((8, 8), np.int32), 0.5)
    with pytest.raises(TypeError, match="unsupported dtype int32"):
        sr_zoo.imresize(tf.zeros((8, 8, 1), tf.int32), 0.5)
    with pytest.raises(ValueError, match="zero size"):
        sr_zoo.imresize(np.zeros((0, 8), np.uint8), 0.5)
    with pytest.raises(TypeError, match="numpy array or tf.Tensor"):
        sr_zoo.imresize("image.png", 0.5)

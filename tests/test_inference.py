"""sr_zoo.upscale / sr_zoo.inference.predict: colour handling, seamless tiling, edge cases."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sr_zoo
from sr_zoo import inference, models
from sr_zoo.inference import color_pipeline, compiled


def seeded(name, **kwargs):
    keras.utils.set_random_seed(11)
    model = models.get(name, **kwargs)
    if name == "srcnn":  # the paper's 0.001-std init gives a near-zero output; make it do something
        rng = np.random.default_rng(12)
        for w in model.weights:
            w.assign(rng.normal(0, 0.05, w.shape).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def espcn():
    return seeded("espcn", scale=3)


@pytest.fixture(scope="module")
def rgb_model():
    return seeded("edsr", scale=2, channels=3, num_blocks=1, filters=8)


def rgb_image(h, w, seed=0, channels=3):
    # Smooth content plus noise, so outputs are not all clipped.
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(yy[..., None] / 3.0 + np.arange(channels)) * np.cos(xx[..., None] / 4.0)
    return np.clip(base + rng.normal(0, 20, (h, w, channels)), 0, 255).astype(np.uint8)


def to_uint8(x):
    return np.clip(np.floor(np.asarray(x, np.float64) * 255 + 0.5), 0, 255).astype(np.uint8)


def assert_nearly_equal_uint8(a, b, max_fraction=1e-3):
    """Equal except single-level differences where float noise meets a rounding boundary."""
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() <= max_fraction, (diff.max(), (diff > 0).mean())


# ---------------------------------------------------------------------------------------------
# The polyphase chroma resize must be MATLAB's imresize, bit for bit


@pytest.mark.parametrize("shape", [(4, 4), (5, 9), (31, 17)])
@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_fast_bicubic_upscale_is_bit_identical_to_imresize(shape, scale):
    image = rgb_image(*shape, seed=scale, channels=2)
    image[0, 0] = [0, 255]  # saturating values exercise the clipping
    expected = sr_zoo.imresize(image, scale)
    np.testing.assert_array_equal(color_pipeline._bicubic_up(tf.constant(image[None]), scale).numpy()[0], expected)
    if shape == (31, 17) and scale in (3, 4):  # ... and under XLA, as upscale runs it
        fast = tf.function(lambda x: color_pipeline._bicubic_up(x, scale), jit_compile=True)
        np.testing.assert_array_equal(fast(tf.constant(image[None])).numpy()[0], expected)


# ---------------------------------------------------------------------------------------------
# Colour handling


def test_rgb_through_a_y_model_follows_the_matlab_pipeline(espcn):
    image = rgb_image(13, 11)
    got = sr_zoo.upscale(espcn, image, precision="float32")
    ycbcr = sr_zoo.rgb_to_ycbcr(image)
    y = espcn(ycbcr[None, ..., :1].astype(np.float32) / 255.0).numpy()[0]
    cbcr = sr_zoo.imresize(ycbcr[..., 1:], 3)
    expected = sr_zoo.ycbcr_to_rgb(np.concatenate([to_uint8(y), cbcr], axis=-1))
    assert got.shape == (39, 33, 3) and got.dtype == np.uint8
    assert_nearly_equal_uint8(got, expected)
    assert np.abs(got.astype(int) - sr_zoo.imresize(image, 3)).mean() > 1  # the model really ran


def test_grey_goes_through_a_y_model_directly_and_keeps_its_layout(espcn):
    grey = rgb_image(8, 10, channels=1)
    expected = to_uint8(espcn(grey[None].astype(np.float32) / 255.0).numpy()[0])
    assert_nearly_equal_uint8(sr_zoo.upscale(espcn, grey, jit_compile=False, precision="float32"), expected)
    flat = sr_zoo.upscale(espcn, grey[..., 0], jit_compile=False, precision="float32")
    assert flat.shape == (24, 30)
    assert_nearly_equal_uint8(flat, expected[..., 0])


def test_rgb_model_runs_on_rgb_and_grey_is_replicated(rgb_model):
    image = rgb_image(9, 7)
    expected = to_uint8(rgb_model(image[None].astype(np.float32) / 255.0).numpy()[0])
    assert_nearly_equal_uint8(sr_zoo.upscale(rgb_model, image, jit_compile=False, precision="float32"), expected)
    grey = image[..., :1]
    sr = rgb_model(np.repeat(grey[None], 3, -1).astype(np.float32) / 255.0).numpy()[0]
    assert_nearly_equal_uint8(sr_zoo.upscale(rgb_model, grey[..., 0], jit_compile=False, precision="float32"), to_uint8(sr.mean(-1)))


@pytest.mark.parametrize("channels", [2, 4])
def test_alpha_is_upscaled_with_matlab_bicubic(espcn, rgb_model, channels):
    image = rgb_image(10, 6, seed=3, channels=channels)
    for model, s in ((espcn, 3), (rgb_model, 2)):
        out = sr_zoo.upscale(model, image, jit_compile=False, precision="float32")
        assert out.shape == (10 * s, 6 * s, channels)
        np.testing.assert_array_equal(out[..., -1], sr_zoo.imresize(image[..., -1], s))
        np.testing.assert_array_equal(out[..., :-1], sr_zoo.upscale(model, image[..., :-1], jit_compile=False, precision="float32"))


def test_lapsrn_upscale_uses_the_last_level():
    model = seeded("lapsrn", scale=4, depth=1)
    grey = rgb_image(7, 5, channels=1)
    expected = to_uint8(model(grey[None].astype(np.float32) / 255.0)[-1].numpy()[0])
    assert_nearly_equal_uint8(sr_zoo.upscale(model, grey, jit_compile=False, precision="float32"), expected)


# ---------------------------------------------------------------------------------------------
# Tiling


TILED = [
    ("espcn", dict(scale=3)),
    ("srcnn", dict(scale=2, preset="9-5-5")),
    ("fsrcnn", dict(scale=4, preset="fsrcnn-s")),
    ("lapsrn", dict(scale=4, depth=2)),
    ("edsr", dict(scale=3, channels=3, num_blocks=2, filters=8)),
]


@pytest.mark.parametrize("name, kwargs", TILED)
def test_tiles_stitch_to_the_whole_image_result(name, kwargs):
    model = seeded(name, **kwargs)
    info = models.describe(model)
    lr = np.random.default_rng(5).random((29, 23, info.channels), dtype=np.float32)
    whole = inference.predict(model, lr, jit_compile=False, precision="float32")
    tiled = inference.predict(model, lr, tile=(7, 10), jit_compile=False, precision="float32")
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # The halo is needed: one LR pixel less of context shows at the seams.
    entry = compiled._entry(model)
    short = inference._predict_tiled(entry, lr[None], (7, 10), info.halo - 1, False)[0]
    assert np.abs(short - whole).max() > 1e-4


def test_tiled_upscale_matches_whole_image_upscale(espcn, rgb_model):
    image = rgb_image(26, 19, seed=6)
    for model in (espcn, rgb_model):
        whole = sr_zoo.upscale(model, image, precision="float32")  # the default (fast) path
        assert_nearly_equal_uint8(sr_zoo.upscale(model, image, tile=8, precision="float32"), whole)
        assert_nearly_equal_uint8(sr_zoo.upscale(model, image, tile=(5, 13), overlap=12, jit_compile=False, precision="float32"), whole)


def test_large_images_are_tiled_automatically(monkeypatch, espcn):
    image = rgb_image(40, 30, seed=7)
    whole = sr_zoo.upscale(espcn, image, jit_compile=False, precision="float32")
    calls = []
    original = inference._predict_tiled
    monkeypatch.setattr(inference, "_predict_tiled", lambda *a: calls.append(a[2]) or original(*a))
    monkeypatch.setattr(inference, "MEMORY_BUDGET", 64 * 12 * 24 * 24)  # room for ~24x24 LR pixels
    tiled = sr_zoo.upscale(espcn, image, jit_compile=False, precision="float32")
    assert calls and calls[0][0] < 40
    assert_nearly_equal_uint8(tiled, whole)


def test_compilation_modes_agree(espcn):
    image = rgb_image(12, 14, seed=8)
    auto = sr_zoo.upscale(espcn, image, precision="float32")
    assert_nearly_equal_uint8(sr_zoo.upscale(espcn, image, jit_compile=True, precision="float32"), auto)
    assert_nearly_equal_uint8(sr_zoo.upscale(espcn, image, jit_compile=False, precision="float32"), auto)
    # Compiled programs are cached per image shape.
    entry = compiled._entry(espcn)
    before = len(entry.functions)
    sr_zoo.upscale(espcn, rgb_image(12, 14, seed=9), precision="float32")
    assert len(entry.functions) == before
    # A new size compiles the XLA colour steps again; the model (oneDNN, outside XLA) keeps its one trace.
    sr_zoo.upscale(espcn, rgb_image(15, 9, seed=10), precision="float32")
    forward = [f for key, f in entry.functions.items() if key[:2] == ("forward", False) and key[2][0] == 1]
    assert len(forward) == 1 and forward[0].experimental_get_tracing_count() == 1
    assert len(entry.functions) == before + 2  # its "pre" and "post" at 15x9


# ---------------------------------------------------------------------------------------------
# Edge cases and errors


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 3), (1, 5), (3, 2, 4)])
def test_inputs_smaller_than_the_receptive_field_work(espcn, shape):
    image = np.random.default_rng(9).integers(0, 256, shape, dtype=np.uint8)
    out = sr_zoo.upscale(espcn, image, jit_compile=False, precision="float32")
    assert out.shape == (shape[0] * 3, shape[1] * 3) + shape[2:]
    if len(shape) == 2:
        expected = to_uint8(espcn(image[None, ..., None].astype(np.float32) / 255.0).numpy()[0, ..., 0])
        assert_nearly_equal_uint8(out, expected, max_fraction=0.1)
    # Tiles larger than such an image are clamped to it.
    np.testing.assert_array_equal(sr_zoo.upscale(espcn, image, tile=64, jit_compile=False, precision="float32"), out)


@pytest.mark.parametrize(
    "image, kwargs, message",
    [
        (np.zeros((0, 5, 3), np.uint8), {}, "zero size"),
        (np.zeros((4, 0), np.uint8), {}, "zero size"),
        (np.zeros((4, 5, 3), np.float32), {}, "must be uint8"),
        (np.zeros((4, 5, 5), np.uint8), {}, "allowed: 1 (grey), 2 (grey+alpha), 3 (RGB), 4 (RGBA)"),
        (np.zeros((1, 4, 5, 3), np.uint8), {}, "HxW or HxWxC"),
        (np.zeros((4, 5, 3), np.uint8), {"tile": 0}, "tile must be None, a positive int"),
        (np.zeros((4, 5, 3), np.uint8), {"tile": (4, 5, 6)}, "tile must be None"),
        (np.zeros((4, 5, 3), np.uint8), {"overlap": 1}, "halo (4 LR pixels)"),
        (np.zeros((4, 5, 3), np.uint8), {"jit_compile": "yes"}, "jit_compile must be one of"),
    ],
)
def test_bad_inputs_raise_clear_value_errors(espcn, image, kwargs, message):
    with pytest.raises(ValueError) as err:
        sr_zoo.upscale(espcn, image, **kwargs, precision="float32")
    assert message in str(err.value)


def test_bad_models_and_float_inputs_are_refused(espcn):
    with pytest.raises(ValueError, match="must be a keras.Model"):
        sr_zoo.upscale("espcn", np.zeros((4, 4, 3), np.uint8), precision="float32")
    with pytest.raises(ValueError, match=r"expected an HxWx1 float image"):
        inference.predict(espcn, np.zeros((4, 4, 3), np.float32), precision="float32")


# ---------------------------------------------------------------------------------------------
# to_model_input / from_model_output: upscale's conversions, for running a model in another runtime


@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
def test_model_input_and_output_conversions_reproduce_upscale(espcn, rgb_model, channels):
    image = rgb_image(12, 9, seed=5, channels=channels or 1)
    image = image[..., 0] if channels is None else image
    for model, c, s in ((espcn, 1, 3), (rgb_model, 3, 2)):
        x = inference.to_model_input(image, c)
        assert x.dtype == np.float32 and x.shape == (12, 9, c)
        out = inference.from_model_output(model(x[None]).numpy()[0], image, s)
        assert_nearly_equal_uint8(out, sr_zoo.upscale(model, image, jit_compile=False, precision="float32"))


def test_model_output_conversion_refuses_a_mismatched_output():
    image = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(ValueError, match=r"expected a 12x15x1 or x3 output .* scale 3, got shape \(8, 10, 1\)"):
        inference.from_model_output(np.zeros((8, 10, 1), np.float32), image, 3)
    with pytest.raises(ValueError, match="to_model_input: channels must be 1 .Y. or 3 .RGB., got 2"):
        inference.to_model_input(image, 2)
    with pytest.raises(ValueError, match="to_model_input: image must be uint8"):
        inference.to_model_input(image.astype(np.float32), 1)

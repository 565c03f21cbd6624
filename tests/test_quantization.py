"""Quantization-aware copies (sr_zoo.models.quantization), their training, int8 export and int8 zoo weights."""

import keras
import numpy as np
import pytest

import sr_zoo
import sr_zoo.pretrained
from sr_zoo import recipes, training
from sr_zoo.deploy import exporters
from sr_zoo.models import quantization, range_tuning

RNG = np.random.default_rng(0)


def _batches(channels=1, n=3):
    return [RNG.random((2, 12, 12, channels), dtype=np.float32) for _ in range(n)]


@pytest.mark.parametrize("name, config", [
    ("espcn", {"scale": 3}),  # tanh: fixed [-1, 1] ranges around it
    ("fsrcnn", {"scale": 2, "preset": "fsrcnn-s"}),  # PReLU, the transposed convolution as the last layer
    ("edsr", {"scale": 2, "channels": 3, "preset": "tiny", "filters": 4}),  # adds, mean shift
])
def test_copy_simulates_int8_and_round_trips_through_keras_file(name, config, tmp_path):
    float_model = sr_zoo.models.get(name, **config)
    channels = config.get("channels", 1)
    qat = quantization.quantization_aware(float_model, calibration=_batches(channels))
    assert sr_zoo.models.is_quantization_aware(qat) and not sr_zoo.models.is_quantization_aware(float_model)
    fake = {layer.name: layer for layer in qat.layers if isinstance(layer, quantization.FakeQuant)}
    assert fake["input_quant"].get_config()["max_value"] == fake["output_quant"].get_config()["max_value"] == 1.0
    learnt = [layer for layer in fake.values() if not layer.fixed]
    if name == "espcn":  # tanh: its input fixed to +-1, its output to TFLite's int8 tanh range
        assert not learnt
        assert fake["feature_2_quant"].get_config()["min_value"] == -quantization.PRE_ACTIVATION_RANGE
        assert fake["feature_2_tanh_quant"].get_config()["max_value"] == 127 / 128
    else:
        assert learnt and all(float(layer.range_min) <= 0.0 <= float(layer.range_max) for layer in learnt)
        assert all(float(layer.range_max) - float(layer.range_min) > 0 for layer in learnt)
    x = _batches(channels, 1)[0]
    y = np.asarray(qat(x))
    assert y.min() >= 0.0 and y.max() <= 1.0  # the output is clipped to the image's range
    # close to the float model, not equal to it: the rounding is simulated
    assert 0 < np.abs(y - np.clip(np.asarray(float_model(x)), 0, 1)).max() < 0.2
    for layer in qat.layers:  # kernels on TFLite's per-channel int8 grid
        if isinstance(layer, quantization.QuantizedConv2D):
            k = np.asarray(keras.ops.convert_to_numpy(quantization._per_channel(layer.kernel)))
            steps = k / (np.abs(k).max(axis=(0, 1, 2)) / 127.0)
            np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)
    with pytest.raises(ValueError, match="already quantization-aware"):
        quantization.quantization_aware(qat)
    qat.save(tmp_path / "qat.keras")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "qat.keras")(x), y)


def test_int8_file_of_a_copy_takes_its_ranges_from_the_fake_quantization(tmp_path):
    # The converter reads the copy's ranges: the int8 input and output are the 8-bit image's 256 levels.
    qat = quantization.quantization_aware(sr_zoo.models.get("espcn", scale=3), calibration=_batches())
    path = tmp_path / "qat_int8.tflite"
    result = exporters.export(qat, path, format="tflite", quantize="int8", io="model", input_size=(12, 12),
                              calibration_images=[RNG.integers(0, 256, (48, 48, 3), dtype=np.uint8)],
                              calibration_samples=2)
    assert result["input_dtype"] == "int8"
    tfl = exporters.TFLiteModel(path)
    for detail in (tfl.input, tfl.output):
        scale, zero_point = detail["quantization"]
        assert abs(scale - 1 / 255) < 1e-7 and zero_point == -128, detail["quantization"]


def test_int8_file_computes_what_the_copy_simulates(tmp_path):
    # FSRCNN-s: PReLUs (the converter rounds their slopes per tensor) and the sub-pixel deconvolution, whose tiled
    # bias the converter mis-scales per channel; random slopes and biases, as trained weights have them.
    import tensorflow as tf

    float_model = sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn-s")
    rng = np.random.default_rng(1)
    for layer in float_model.layers:
        if layer.weights:
            layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype) * (w.ndim == 1 or w.ndim == 3)
                               for w in layer.get_weights()])
    batches = [np.clip(rng.normal(0.5, 0.2, (2, 16, 16, 1)), 0, 1).astype(np.float32) for _ in range(3)]
    qat = quantization.quantization_aware(float_model, calibration=batches)
    assert any(isinstance(layer, quantization.QuantizedPReLU) for layer in qat.layers)
    path = tmp_path / "fsrcnn_int8.tflite"
    exporters.export(qat, path, format="tflite", quantize="int8", io="model", input_size=(16, 16))
    ops = {op["op_name"] for op in tf.lite.Interpreter(str(path))._get_ops_details()}
    assert "PRELU" in ops and "DEQUANTIZE" not in ops, ops  # one int8 op per PReLU, nothing left in float
    x = batches[0][0]
    simulated, got = np.asarray(qat(x[None]))[0], exporters.TFLiteModel(path)(x)
    levels = np.abs(got - simulated) * 255
    assert levels.mean() < 0.3 and levels.max() <= 4, (levels.mean(), levels.max())


def test_quantization_aware_training_writes_a_quantization_aware_best_model(data_dir, tmp_path, capsys):
    recipe = recipes.get("fsrcnn", 3).replace(  # PReLU: ranges learnt from the data
        preset="fsrcnn-s", datasets=(str(data_dir / "T91"),), epochs=1, steps_per_epoch=3, batch_size=8,
        optimizer="adam", learning_rate=1e-4, lr_schedule="constant", reconstruction_lr_multiplier=1.0,
        precision="float32", quantization_aware=True, equalize_channels=True, freeze_ranges=0.5, rescale=(),
    )
    result = training.train(recipe, tmp_path / "run", verbose=0, warm_start="fsrcnn-s_x3")
    out = capsys.readouterr().out
    assert "Channel equalization on 8 batches" in out
    assert "Step 2: 8 int8 ranges tightened on 16 training batches" in out, out  # round(0.5 * 3 steps)
    best = keras.models.load_model(result.best_model_path)
    assert sr_zoo.models.is_quantization_aware(best)
    assert range_tuning.ranges_frozen(best)  # saved after the freeze: the int8 file gets the frozen grids
    # the warm start's channels were scaled up (3 steps at 1e-4 move the weights far less than that)
    shipped = sr_zoo.pretrained.load("fsrcnn-s_x3").get_layer("feature_extraction").get_weights()[0]
    ratio = np.max(np.abs(best.get_layer("feature_extraction").get_weights()[0]), axis=(0, 1, 2)) / np.max(
        np.abs(shipped), axis=(0, 1, 2))
    assert ratio.min() > 0.95 and ratio.max() > 1.5, ratio
    learnt = [l for l in best.layers if isinstance(l, quantization.FakeQuant) and not l.fixed]
    assert learnt and all(float(l.range_max) > 0 for l in learnt)  # the ranges trained with the weights
    # validation scored the copy itself (int8 arithmetic simulated), not a float model
    pairs = sr_zoo.data.benchmarks.load_pairs("set5", 3)
    again = np.mean([sr_zoo.metrics.psnr(p.hr, sr_zoo.upscale(best, p.lr, precision="float32"), crop_border=3)
                     for p in pairs])
    assert abs(again - result.best_psnr) < 1e-6


def test_int8_recipes_start_from_the_shipped_float_model():
    for name in recipes.INT8:
        command = recipes.int8_command(name)
        assert "--quantization_aware" in command and command.endswith(f"--warm_start={name}"), command
        assert command.count("--learning_rate=") == command.count("--epochs=") == 1, command
        assert ("--equalize_channels" in command) == name.startswith("fsrcnn"), command  # PReLU chains only
        assert ("--freeze_ranges=" in command) == name.startswith("fsrcnn"), command
    with pytest.raises(ValueError, match="no int8 recipe"):
        recipes.int8_command("lapsrn_x4")


def test_shipped_int8_weights_are_quantization_aware_and_recorded():
    shipped = {n: e["int8"] for n, e in sr_zoo.pretrained.available().items() if e.get("int8")}
    assert set(shipped) <= set(recipes.INT8)
    for name, entry in shipped.items():
        assert entry["measured"]["set5"]["drop"] <= 0.1, (name, entry["measured"]["set5"])
        assert entry["training"]["command"] == recipes.int8_command(name), name
        model = sr_zoo.pretrained.load_int8(name)  # checks the sha256
        assert sr_zoo.models.is_quantization_aware(model), name
    with pytest.raises(ValueError, match="no int8 weights ship"):
        sr_zoo.pretrained.load_int8("lapsrn_x4")


@pytest.mark.parametrize("name, config, pairs", [
    ("fsrcnn", {"scale": 2, "preset": "fsrcnn-s"}, 4),  # conv-PReLU-conv, the last into the transposed convolution
    ("edsr", {"scale": 2, "channels": 3, "preset": "baseline", "filters": 4}, 16),  # each block's conv(ReLU)-conv
    ("espcn", {"scale": 3}, 0),  # tanh is not homogeneous: nothing to equalize
])
def test_channel_equalization_keeps_the_float_model_and_equalizes_its_channels(name, config, pairs):
    model = sr_zoo.models.get(name, **config)
    channels = model.inputs[0].shape[-1]
    batches = _batches(channels)
    before = np.asarray(model(batches[0]))
    scales = sr_zoo.models.equalize_channels(model, batches)
    assert len(scales) == pairs and all(s.min() >= 1.0 for s in scales.values())
    np.testing.assert_allclose(np.asarray(model(batches[0])), before, atol=2e-5)
    for layer_name in scales:  # every channel now reaches the tensor's largest magnitude on the batches
        probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
        peak = np.max(np.abs(np.concatenate([np.asarray(probe(b)) for b in batches])), axis=(0, 1, 2))
        np.testing.assert_allclose(peak, peak.max(), rtol=1e-4)


def test_channel_equalization_of_a_copy_before_its_ranges_are_set():
    batches = _batches()
    float_model = sr_zoo.models.get("fsrcnn", scale=2, preset="fsrcnn-s")
    copy = quantization.quantization_aware(float_model)  # learnt ranges unset: equalized like the float model
    scales = sr_zoo.models.equalize_channels(copy, batches)
    assert scales.keys() == sr_zoo.models.equalize_channels(float_model, batches).keys()
    np.testing.assert_allclose(copy.get_layer("shrinking").get_weights()[0],
                               float_model.get_layer("shrinking").get_weights()[0], rtol=1e-5, atol=1e-7)
    espcn = quantization.quantization_aware(sr_zoo.models.get("espcn", scale=3))  # tanh's fixed input range
    assert sr_zoo.models.equalize_channels(espcn, batches) == {}
    quantization.calibrate(copy, batches)
    with pytest.raises(ValueError, match="already holds a range"):
        sr_zoo.models.equalize_channels(copy, batches)


def test_a_frozen_range_stays_through_training_batches_and_the_keras_file(tmp_path):
    qat = quantization.quantization_aware(sr_zoo.models.get("fsrcnn", scale=2, preset="fsrcnn-s"))
    with pytest.raises(ValueError, match="no range to freeze yet"):
        range_tuning.freeze_ranges(qat)
    first, other = _batches(n=2)
    quantization.calibrate(qat, [first])
    learnt = range_tuning.learnt_quantizers(qat)
    ranges = [(float(q.range_min), float(q.range_max)) for q in learnt]
    assert range_tuning.freeze_ranges(qat) == len(learnt) == 8 and range_tuning.ranges_frozen(qat)
    quantization.calibrate(qat, [other])  # another training batch would move every range
    assert [(float(q.range_min), float(q.range_max)) for q in learnt] == ranges
    qat.save(tmp_path / "frozen.keras")
    again = keras.models.load_model(tmp_path / "frozen.keras")
    assert range_tuning.ranges_frozen(again)
    unfrozen = quantization.quantization_aware(sr_zoo.models.get("fsrcnn", scale=2, preset="fsrcnn-s"),
                                               calibration=[first, other])
    assert not range_tuning.ranges_frozen(unfrozen)
    moved = [(float(q.range_min), float(q.range_max)) for q in range_tuning.learnt_quantizers(unfrozen)]
    assert all(m != r for m, r in zip(moved, ranges)), (moved, ranges)


def test_tightening_shrinks_a_range_that_wastes_levels_and_never_raises_the_error():
    model = sr_zoo.models.get("fsrcnn", scale=2, preset="fsrcnn-s")
    lr = _batches(n=2)
    pairs = [(x, np.clip(np.asarray(model(x)), 0, 1)) for x in lr]  # the float model's output as the target
    qat = quantization.quantization_aware(model, calibration=lr)
    wide = qat.get_layer("shrinking_quant")
    wide.range_min.assign(8 * float(wide.range_min))  # 8x the range it needs: 1/8 of the levels in use
    wide.range_max.assign(8 * float(wide.range_max))
    result = range_tuning.tighten_ranges(qat, pairs)
    assert result.factors["shrinking_quant"] != (1.0, 1.0), result.factors
    assert result.error_after < result.error_before, result
    assert result.error_after == pytest.approx(range_tuning.output_error(qat, pairs))  # the model holds the choice
    assert set(result.factors) == {q.name for q in range_tuning.learnt_quantizers(qat)}
    with pytest.raises(ValueError, match="give at least one"):
        range_tuning.tighten_ranges(qat, [])
    with pytest.raises(ValueError, match="hold no range yet"):
        range_tuning.tighten_ranges(quantization.quantization_aware(model), pairs)

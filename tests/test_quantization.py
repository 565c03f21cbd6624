"""Quantization-aware copies (sr_zoo.models.quantization), their training, int8 export and int8 zoo weights."""

import benchmark_scripts
import keras
import numpy as np
import pytest

import sr_zoo
import sr_zoo.pretrained
from sr_zoo import recipes, training
from sr_zoo.deploy import exporters
from sr_zoo.models import activation_split, int8_error, quantization, range_tuning

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


@pytest.mark.parametrize("split", [False, True])
def test_int8_file_computes_what_the_copy_simulates(split, tmp_path):
    # FSRCNN-s: PReLUs (the converter rounds their slopes per tensor; split: ReLU halves fused into the
    # convolutions) and the sub-pixel deconvolution, whose tiled bias the converter mis-scales per channel; random
    # slopes and biases, as trained weights have them.
    import tensorflow as tf

    float_model = sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn-s")
    rng = np.random.default_rng(1)
    for layer in float_model.layers:
        if layer.weights:
            layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype) * (w.ndim == 1 or w.ndim == 3)
                               for w in layer.get_weights()])
    batches = [np.clip(rng.normal(0.5, 0.2, (2, 16, 16, 1)), 0, 1).astype(np.float32) for _ in range(3)]
    qat = quantization.quantization_aware(sr_zoo.models.split_prelu(float_model) if split else float_model,
                                          calibration=batches)
    assert any(isinstance(layer, quantization.QuantizedPReLU) for layer in qat.layers) != split
    path = tmp_path / "fsrcnn_int8.tflite"
    exporters.export(qat, path, format="tflite", quantize="int8", io="model", input_size=(16, 16))
    ops = [op["op_name"] for op in tf.lite.Interpreter(str(path))._get_ops_details()]
    assert "DEQUANTIZE" not in ops, ops  # nothing left in float
    # one int8 op per PReLU, or none: the ReLU halves live inside the convolutions
    assert ops.count("PRELU") == (0 if split else 4) and ops.count("CONV_2D") == 5, ops
    x = batches[0][0]
    simulated, got = np.asarray(qat(x[None]))[0], exporters.TFLiteModel(path)(x)
    levels = np.abs(got - simulated) * 255
    assert levels.mean() < 0.3 and levels.max() <= 4, (levels.mean(), levels.max())


@pytest.mark.parametrize("name, model, preset, split", [("espcn_x2", "espcn", None, "split_tanh"),
                                                        ("fsrcnn-s_x2", "fsrcnn", "fsrcnn-s", "split_prelu")])
def test_split_activations_train_in_float_from_the_shipped_model_split_the_same_way(name, model, preset, split,
                                                                                     data_dir, tmp_path, capsys):
    recipe = recipes.get(model, 2)
    recipe = recipe.replace(
        preset=preset or recipe.preset, datasets=(str(data_dir / "T91"),), epochs=1, steps_per_epoch=2, batch_size=4,
        optimizer="adam", learning_rate=1e-5, lr_schedule="constant", reconstruction_lr_multiplier=1.0,
        precision="float32", **{split: True})
    result = training.train(recipe, tmp_path / "run", validation=None, verbose=0, warm_start=name)
    assert f"Warm start from {name} (pretrained)" in capsys.readouterr().out
    best = keras.models.load_model(result.best_model_path)  # final.keras: no validation
    if split == "split_tanh":
        assert [best.get_layer(n).get_config()["activation"] for n in ("feature_1", "feature_2")] == ["hard_tanh"] * 2
    else:  # the PReLU halves keep weights of their own: a larger network
        assert not any(isinstance(layer, keras.layers.PReLU) for layer in best.layers)
        assert best.count_params() > sr_zoo.pretrained.load(name).count_params()
    # the run started from the shipped weights split: 2 Adam steps of 1e-5 move each weight by 2e-5 at most
    start_model = getattr(sr_zoo.models, split)(sr_zoo.pretrained.load(name))
    assert best.count_params() == start_model.count_params()
    for layer in start_model.layers:
        for trained, start in zip(best.get_layer(layer.name).get_weights(), layer.get_weights()):
            assert np.abs(trained - start).max() < 2.5e-5, layer.name


def test_quantization_aware_training_writes_a_quantization_aware_best_model(data_dir, tmp_path, capsys):
    recipe = recipes.get("fsrcnn", 3).replace(  # PReLU: ranges learnt from the data
        preset="fsrcnn-s", datasets=(str(data_dir / "T91"),), epochs=1, steps_per_epoch=3, batch_size=8,
        optimizer="adam", learning_rate=1e-4, lr_schedule="constant", reconstruction_lr_multiplier=1.0,
        precision="float32", quantization_aware=True, equalize_channels=True, freeze_ranges=0.5, split_prelu=True,
        rescale=(),
    )
    result = training.train(recipe, tmp_path / "run", verbose=0, warm_start="fsrcnn-s_x3")
    out = capsys.readouterr().out
    # split like the model: its five convolutions copied (the FakeQuant layers start fresh)
    assert "Warm start from fsrcnn-s_x3 (pretrained): 5 of 11 layers copied" in out, out
    assert "Channel equalization on 8 batches" in out
    assert "Step 2: 4 int8 ranges tightened on 16 training batches" in out, out  # round(0.5 * 3 steps)
    best = keras.models.load_model(result.best_model_path)
    assert sr_zoo.models.is_quantization_aware(best)
    assert not any(isinstance(layer, keras.layers.PReLU) for layer in best.layers)  # ReLU halves
    assert range_tuning.ranges_frozen(best)  # saved after the freeze: the int8 file gets the frozen grids
    # the warm start's channels (both halves of each) were scaled up (3 steps at 1e-4 move the weights far less)
    shipped = sr_zoo.pretrained.load("fsrcnn-s_x3").get_layer("feature_extraction").get_weights()[0]
    ratio = np.max(np.abs(best.get_layer("feature_extraction").get_weights()[0]), axis=(0, 1, 2)) / np.tile(
        np.max(np.abs(shipped), axis=(0, 1, 2)), 2)
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
        *float_stage, last = command.split(" && ")  # tanh split: the split network in float first
        assert len(float_stage) <= 1 and (float_stage or [last])[0].endswith(f"--warm_start={name}"), command
        assert "--quantization_aware" in last and not any("--quantization_aware" in c for c in float_stage)
        if float_stage:
            assert "--split_tanh" in float_stage[0] and "--split_tanh" in last, command
            assert last.endswith(f"--warm_start=runs/{name}.int8.float/best.keras"), command
            options = [f for f in last.split() if f.startswith("--model_options=")]
            assert options and options[0] in float_stage[0].split(), command  # the same network in both stages
        assert last.count("--learning_rate=") == last.count("--epochs=") == 1, command
        # PReLU chains, and the clipped convolutions of a tanh split
        assert ("--equalize_channels" in last) == (name.startswith("fsrcnn") or bool(float_stage)), command
        assert ("--freeze_ranges=" in last) == (name.startswith("fsrcnn") or bool(float_stage)), command
        assert ("--split_prelu" in last) == name.startswith("fsrcnn"), command
    # ESPCN x3 and x4's float recipes moved to 32x32 patches; their int8 fine-tunes keep the paper's 17x17 in
    # batches of 64
    for name in ("espcn_x3", "espcn_x4"):
        int8 = recipes.int8_command(name)
        assert "--lr_patch_size=32" in recipes.zoo(name).command() and "--lr_patch_size" not in int8
        assert int8.count("--batch_size=") == 1 and "--batch_size=64" in int8
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
        live = peak > 0  # a ReLU channel dead on these batches stays 0 at any scale
        np.testing.assert_allclose(peak[live], peak.max(), rtol=1e-4)


def test_channel_equalization_scales_clipping_channels_only_within_their_clip():
    # ESPCN split into clipped pieces, its first layer 3x larger so that some channels reach the clip
    model = sr_zoo.models.split_tanh(sr_zoo.models.get("espcn", scale=2))
    kernel, bias = model.get_layer("feature_1").get_weights()
    model.get_layer("feature_1").set_weights([kernel * 3, bias * 3])
    batches = _batches()
    probes = {n: keras.Model(model.inputs, model.get_layer(n).output) for n in ("feature_1", "feature_2")}

    def peaks(name):
        return np.max(np.abs(np.concatenate([np.asarray(probes[name](b)) for b in batches])), axis=(0, 1, 2))

    clipped = peaks("feature_1") >= 1.0
    assert 0 < clipped.sum() < clipped.size
    before = [np.asarray(model(b)) for b in batches]
    scales = sr_zoo.models.equalize_channels(model, batches)
    assert sorted(scales) == ["feature_1", "feature_2"]
    assert np.all(scales["feature_1"][clipped] == 1.0) and np.all(scales["feature_1"][~clipped] > 1.0)
    for b, out in zip(batches, before):  # the same function on the batches: no channel was pushed past its clip
        np.testing.assert_allclose(np.asarray(model(b)), out, atol=2e-5)
    for name in scales:  # and every channel now reaches the clip (or the largest peak below it)
        np.testing.assert_allclose(peaks(name), min(peaks(name).max(), 1.0), rtol=1e-4)


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


def test_error_sources_turn_one_rounding_on_at_a_time_and_find_an_inflated_range():
    model = sr_zoo.models.get("fsrcnn", scale=2, preset="fsrcnn-s")
    lr = [np.round(x * 255) / 255 for x in _batches(n=2)]  # 8-bit images, as the file gets them
    qat = quantization.quantization_aware(model, calibration=lr)
    with int8_error.only(qat, ()):  # every rounding off: the float model itself
        np.testing.assert_allclose(qat.predict_on_batch(lr[0]), model.predict_on_batch(lr[0]), atol=1e-5)
    wide = qat.get_layer("mapping_1_quant")
    wide.range_min.assign(32 * float(wide.range_min))  # 32x the range it needs: a 32x coarser grid
    wide.range_max.assign(32 * float(wide.range_max))
    before = qat.predict_on_batch(lr[0])
    breakdown = int8_error.error_sources(qat, lr)
    rounding = quantization.Rounding
    assert [s.name for s in breakdown.sources] == [layer.name for layer in qat.layers if isinstance(layer, rounding)]
    kinds = {s.name: s.kind for s in breakdown.sources}
    assert kinds["mapping_1_quant"] == "activation" and kinds["mapping_1"] == kinds["reconstruction"] == "weights"
    # an untrained model's output leaves [0, 1], so the output clip is large too; the rest rank below the 32x grid
    inner = [src for src in breakdown.largest() if src.name != "output_quant"]
    assert inner[0].name == "mapping_1_quant" and inner[0].error > 10 * inner[1].error, inner[:3]
    assert breakdown.sources[0].name == "input_quant" and breakdown.sources[0].error < 1e-12  # 8-bit levels kept
    assert 0.5 < breakdown.total / breakdown.sum_of_sources < 2, breakdown  # independent roundings add
    np.testing.assert_array_equal(qat.predict_on_batch(lr[0]), before)  # every rounding on again afterwards
    with pytest.raises(ValueError, match="at least one LR batch"):
        int8_error.error_sources(qat, [])
    with pytest.raises(ValueError, match="not quantization-aware"):
        int8_error.error_sources(model, lr)
    with pytest.raises(ValueError, match="hold no range yet"):
        int8_error.error_sources(quantization.quantization_aware(model), lr)


def test_drop_db_and_allowed_error_are_inverses():
    assert int8_error.allowed_error(0.1, 36.48) == pytest.approx(5.24e-6, rel=0.01)  # fsrcnn_x2's budget
    assert int8_error.drop_db(int8_error.allowed_error(0.1, 30.0), 30.0) == pytest.approx(0.1)
    assert int8_error.drop_db(0.0, 33.0) == 0.0


def test_split_prelu_keeps_the_float_function_with_relu_halves_fused_into_the_convolutions():
    model = sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn-s")
    rng = np.random.default_rng(2)
    for layer in model.layers:  # slopes of both signs and above 1, as trained models have them
        if isinstance(layer, keras.layers.PReLU):
            layer.set_weights([rng.uniform(-1.5, 1.5, layer.alpha.shape).astype("float32")])
    split = sr_zoo.models.split_prelu(model)
    x = _batches()[0]
    np.testing.assert_allclose(split.predict_on_batch(x), model.predict_on_batch(x), atol=1e-5)
    assert not any(isinstance(layer, keras.layers.PReLU) for layer in split.layers)
    for name in ("feature_extraction", "shrinking", "mapping_1", "expanding"):  # each writes [z, -z] through a ReLU
        layer, source = split.get_layer(name), model.get_layer(name)
        assert layer.filters == 2 * source.filters and layer.get_config()["activation"] == "relu"
    assert split.get_layer("reconstruction").kernel.shape[-1] == 2 * 32  # reads both halves of 32 channels
    assert any(isinstance(layer, keras.layers.PReLU) for layer in model.layers)  # the source is unchanged
    with pytest.raises(ValueError, match="no PReLU between two convolutions"):
        sr_zoo.models.split_prelu(sr_zoo.models.get("espcn", scale=3))


def test_split_tanh_computes_its_clipped_pieces_fused_into_the_convolutions():
    model = sr_zoo.models.get("espcn", scale=2)
    split = sr_zoo.models.split_tanh(model)
    pieces = activation_split.TANH_PIECES

    def activation(z):
        return sum(a * t * keras.ops.clip(z / t, -1.0, 1.0) for t, a in pieces)

    x = _batches()[0]
    h = x
    for name in ("feature_1", "feature_2", "reconstruction"):  # the tanh model's layers, the pieces between them
        layer = model.get_layer(name)
        h = keras.ops.conv(h, layer.kernel, padding="same") + layer.bias
        h = activation(h) if name != "reconstruction" else h
    expected = model.get_layer("subpixel")(h)
    np.testing.assert_allclose(split.predict_on_batch(x), keras.ops.convert_to_numpy(expected), atol=1e-5)
    for name in ("feature_1", "feature_2"):  # each writes its pieces through a clip to [-1, 1]
        layer, source = split.get_layer(name), model.get_layer(name)
        assert layer.filters == len(pieces) * source.filters and layer.get_config()["activation"] == "hard_tanh"
    assert split.get_layer("reconstruction").kernel.shape[-2] == len(pieces) * 32
    # tanh's slope at 0 and its limits: the pieces are z itself near 0 and +-1 far out
    z = np.array([-0.3, 0.0, 0.2, 5.0, -9.0], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(activation(z)), [-0.3, 0.0, 0.2, 1.0, -1.0], atol=1e-4)
    with pytest.raises(ValueError, match="no tanh convolution read by a convolution"):
        sr_zoo.models.split_tanh(sr_zoo.models.get("fsrcnn", scale=3))


def test_a_warm_start_splits_only_the_tanh_layers_its_target_split():
    # ESPCN with a clipped first layer: only feature_2's tanh is split, and the tanh model's weights carry over
    target = sr_zoo.models.split_tanh(sr_zoo.models.get("espcn", scale=2, first_activation="hard_tanh"))
    assert [target.get_layer(n).filters for n in ("feature_1", "feature_2")] == [64, 64]
    source = sr_zoo.models.get("espcn", scale=2)
    split = activation_split.split_activations(source, tanh=True, like=target)
    assert [split.get_layer(n).filters for n in ("feature_1", "feature_2")] == [64, 64]
    copied, fresh = sr_zoo.models.transfer_weights(target, split)
    assert len(copied) == 3 and not fresh
    assert activation_split.split_activations(split, tanh=True, like=target) is split  # nothing left to split
    # without a target, every tanh is split
    assert activation_split.split_activations(source, tanh=True).get_layer("feature_1").filters == 128
    with pytest.raises(ValueError, match="among feature_1"):
        sr_zoo.models.split_tanh(target, layers=["feature_1"])


@pytest.mark.parametrize("rewrite", ["hard_tanh", "split_tanh"])
def test_espcn_without_tanh_ops_runs_as_int8_convolutions_alone(tmp_path, rewrite):
    # tanh is an op of its own in int8 TFLite (two roundings per layer); tanh clipped to [-1, 1], or tanh as
    # clipped pieces, fuses into the convolution, and the file still computes what the copy simulates
    import tensorflow as tf

    float_model = (sr_zoo.models.get("espcn", scale=2, activation="hard_tanh") if rewrite == "hard_tanh"
                   else sr_zoo.models.split_tanh(sr_zoo.models.get("espcn", scale=2)))
    batches = [np.round(b * 255) / 255 for b in _batches()]
    qat = quantization.quantization_aware(float_model, calibration=batches)
    path = tmp_path / "espcn_int8.tflite"
    exporters.export(qat, path, format="tflite", quantize="int8", io="model", input_size=(12, 12))
    ops = [op["op_name"] for op in tf.lite.Interpreter(str(path))._get_ops_details()]
    assert ops == ["CONV_2D", "CONV_2D", "CONV_2D", "DEPTH_TO_SPACE"], ops
    x = batches[0][0]
    levels = np.abs(exporters.TFLiteModel(path)(x) - np.asarray(qat(x[None]))[0]) * 255
    assert levels.mean() < 0.3 and levels.max() <= 2, (levels.mean(), levels.max())


def test_int8_error_sources_calibrates_a_float_run_file_and_equalizing_its_clips_lowers_the_error(
        data_dir, tmp_path, capsys):
    tool = benchmark_scripts.load("int8_error_sources")
    split = tmp_path / "split.keras"  # a float run's best.keras: espcn_x2 with a clipped first layer, tanh split
    target = sr_zoo.models.split_tanh(sr_zoo.models.get("espcn", scale=2, first_activation="hard_tanh"))
    sr_zoo.models.transfer_weights(target, activation_split.split_activations(
        sr_zoo.pretrained.load("espcn_x2"), tanh=True, like=target))
    target.save(split)

    def total(*flags):
        tool.main(["--model=espcn_x2", f"--weights={split}", *flags])
        out = capsys.readouterr().out
        assert "feature_1_quant" in out and "reconstruction" in out, out
        return float(out.split("all on: ")[1].split()[0]), out

    plain, _ = total()
    equalized, out = total("--equalize_channels")
    assert "with channels equalized, ranges from 16 T91 crops" in out, out
    assert equalized < 0.7 * plain, (plain, equalized)
    qat = tmp_path / "qat.keras"
    quantization.quantization_aware(target, calibration=_batches()).save(qat)
    with pytest.raises(SystemExit):
        tool.main(["--model=espcn_x2", f"--weights={qat}", "--equalize_channels"])
    assert "is quantization-aware already" in capsys.readouterr().err

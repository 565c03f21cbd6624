"""sr_zoo.models.dead_relu_channels: ReLU filters that never fire, on a toy model and on the shipped zoo."""

import keras
import numpy as np
import pytest

import sr_zoo
from sr_zoo import models, pretrained
from sr_zoo.data.io import read_rgb, selfexsr_files


def _two_filter_relu_model(bias):
    lr = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="features",
                            kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(bias))(lr)
    return keras.Model(lr, keras.layers.Conv2D(1, 1, name="reconstruction")(x))


def test_counts_dead_and_live_relu_channels():
    image = np.random.default_rng(0).random((12, 10, 1), dtype=np.float32)
    assert models.dead_relu_channels(_two_filter_relu_model(-1.0), [image]) == {"features": (2, 2)}
    assert models.dead_relu_channels(_two_filter_relu_model(0.5), [image, image[:5]]) == {"features": (0, 2)}
    model = _two_filter_relu_model(0.0)
    model.get_layer("features").bias.assign([0.5, -0.5])
    assert models.dead_relu_channels(model, [image]) == {"features": (1, 2)}
    assert models.dead_relu_channels(models.get("espcn", scale=2), [image]) == {}  # tanh: nothing to report
    with pytest.raises(ValueError, match=r"expected \(height, width, 1\) images, got shape \(12, 10, 3\)"):
        models.dead_relu_channels(model, [np.zeros((12, 10, 3))])


def _set5_inputs(data_dir, scale, channels):
    out = []
    for pair in selfexsr_files(data_dir / "Set5")[scale].values():
        lr = read_rgb(pair["LR"])
        out.append((sr_zoo.rgb_to_ycbcr(lr)[..., :1] if channels == 1 else lr).astype(np.float32) / 255)
    return out


RELU_MODELS = [n for n, e in pretrained.available().items() if e["model"] in ("srcnn", "edsr")]


@pytest.mark.parametrize("name", RELU_MODELS)
def test_shipped_models_use_their_relu_filters(name, data_dir):
    """At most 1 in 10 of a layer's ReLU filters may stay silent on all of Set5."""
    entry = pretrained.available()[name]
    report = models.dead_relu_channels(pretrained.load(name), _set5_inputs(data_dir, entry["scale"], entry["channels"]))
    crowded = {layer: counts for layer, counts in report.items() if counts[0] > counts[1] // 10}
    assert not crowded, f"{name}: dead ReLU channels (dead, of) per layer: {crowded}"

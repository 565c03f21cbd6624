"""What a trained model does with real images: ReLU channels that never fire.

A ReLU channel whose pre-activation is negative on every pixel of every image
gets no gradient and stays dead for the rest of training: the network runs on
fewer filters than it has. SRCNN shows why this is worth checking: with the
paper's tiny initial weights (std 0.001) and Adam at 1e-3, 47 of its 96 ReLU
filters were dead after 8k steps, and it stalled 1.5 dB below the paper.

>>> model = sr_zoo.pretrained.load("srcnn-9-5-5_x3")
>>> report = sr_zoo.models.dead_relu_channels(model, [lr_y])   # lr_y: (h, w, 1) in [0, 1]
>>> report["patch_extraction"]
(0, 64)
"""

import keras
import numpy as np


def _is_relu(layer):
    activation = getattr(layer, "activation", None)
    if isinstance(layer, keras.layers.ReLU):
        return True
    return activation is not None and getattr(activation, "__name__", "") == "relu"


def relu_layers(model):
    """The layers of ``model`` whose output is a ReLU (``Conv2D(activation='relu')``, ``ReLU``, ...)."""
    return [layer for layer in model.layers if _is_relu(layer)]


def dead_relu_channels(model, images):
    """``{layer name: (dead, channels)}`` for every ReLU layer of ``model``.

    A channel is dead when it is zero on every pixel of every image. ``images`` are
    model inputs, each ``(height, width, channels)`` in [0, 1] (any sizes).
    """
    layers = relu_layers(model)
    if not layers:
        return {}
    probe = keras.Model(model.inputs[0], [layer.output for layer in layers])
    fired = [np.zeros(layer.output.shape[-1], bool) for layer in layers]
    for image in images:
        image = np.asarray(image, np.float32)
        if image.ndim != 3 or image.shape[-1] != model.inputs[0].shape[-1]:
            raise ValueError(f"dead_relu_channels: expected (height, width, {model.inputs[0].shape[-1]}) images, "
                             f"got shape {image.shape}")
        outputs = probe(image[None], training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for seen, out in zip(fired, outputs):
            seen |= keras.ops.convert_to_numpy(keras.ops.max(out, axis=(0, 1, 2))) > 0
    return {layer.name: (int((~seen).sum()), int(seen.size)) for layer, seen in zip(layers, fired)}

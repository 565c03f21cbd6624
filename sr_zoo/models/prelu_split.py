"""PReLU written as two ReLU halves, so that int8 TFLite fuses every activation into its convolution.

int8 TFLite runs a PReLU as its own op (PRELU): the convolution before it
writes an int8 tensor of the pre-activation, whose range spans both signs, and
the PReLU writes a second int8 tensor. Two 8-bit roundings per layer, the first
on a grid that spends its levels on negative values the slopes then shrink.
With ``PReLU(z) = relu(z) - a * relu(-z)`` the same function is a convolution
with ``2C`` filters ``[W, -W]`` (biases ``[b, -b]``) and a fused ReLU, read by
the next convolution through its input weights ``[V, -a * V]`` (Shang et al.'s
concatenated ReLU, ICML 2016, with the slopes folded into the consumer): one
rounding per layer, on ``[0, max]`` where a ReLU output uses all 256 levels.
The float function is unchanged; the convolutions on either side of each
PReLU do twice the work.

>>> split = split_prelu(sr_zoo.pretrained.load("fsrcnn-s_x3"))   # same outputs, no PReLU layers
"""

import keras
import numpy as np

from sr_zoo.models.equalization import _CONVOLUTIONS, _consumers
from sr_zoo.models.quantization import _activation_name


def splittable(model):
    """``{prelu: (conv, consumer)}``: each ``PReLU`` of ``model`` (one slope per channel) between a linear
    ``Conv2D`` that only it reads and a convolution that alone reads it."""
    found = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.PReLU) or len(layer._inbound_nodes) != 1:
            continue
        (source,) = [t._keras_history.operation for t in layer._inbound_nodes[0].input_tensors]
        users = _consumers(model, layer)
        if (isinstance(source, keras.layers.Conv2D) and _activation_name(source) == "linear"
                and len(_consumers(model, source)) == 1 and len(users) == 1 and isinstance(users[0], _CONVOLUTIONS)
                and np.prod(layer.alpha.shape) == layer.alpha.shape[-1]):
            found[layer] = (source, users[0])
    return found


def _input_axis(layer):
    return -1 if isinstance(layer, keras.layers.Conv2DTranspose) else -2  # Conv2DTranspose: (h, w, out, in)


def split_prelu(model):
    """A copy of ``model`` with each :func:`splittable` PReLU folded into ReLU halves (see the module doc); the
    float outputs are the same to float rounding. ``model`` is unchanged; one with none to split is refused."""
    found = splittable(model)
    if not found:
        raise ValueError(f"split_prelu: model {model.name!r} has no PReLU between two convolutions")
    producers = {conv.name: prelu for prelu, (conv, _) in found.items()}  # convolutions that get 2C filters
    slopes = {}  # consumer name -> the slopes of the PReLU it reads
    for prelu, (_, consumer) in found.items():
        slopes[consumer.name] = np.asarray(keras.ops.convert_to_numpy(prelu.alpha)).reshape(-1)
    removed = {prelu.name for prelu in found}

    def clone(layer):
        config = layer.get_config()
        if layer.name in producers:
            config.update(filters=2 * config["filters"], activation="relu")
        return layer.__class__.from_config(config)

    def call(layer, *args, **kwargs):
        if layer.name in removed:
            return args[0]
        return layer(*args, **kwargs)

    copy = keras.models.clone_model(model, clone_function=clone, call_function=call)
    for layer in model.layers:
        if not layer.weights or layer.name in removed:
            continue
        kernel, *bias = layer.get_weights()
        if layer.name in slopes:  # reads [relu(z), relu(-z)]: weights V for the first half, -a * V for the second
            shape = [1] * kernel.ndim
            shape[_input_axis(layer)] = -1
            a = slopes[layer.name].reshape(shape)
            kernel = np.concatenate([kernel, -a * kernel], axis=_input_axis(layer))
        if layer.name in producers:  # writes [z, -z], each through the fused ReLU
            kernel = np.concatenate([kernel, -kernel], axis=-1)
            bias = [np.concatenate([b, -b]) for b in bias]
        copy.get_layer(layer.name).set_weights([kernel, *bias])
    return copy


__all__ = ["split_prelu", "splittable"]

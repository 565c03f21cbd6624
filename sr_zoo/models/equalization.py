"""Channel equalization before int8: every channel of an activation gets the whole 8-bit range.

int8 TFLite quantizes an activation with one scale for all its channels, so
a channel whose values span a third of the tensor's range keeps a third of
the 256 levels. Between two convolutions joined by a positively homogeneous
activation (PReLU, ReLU: ``f(s * x) = s * f(x)`` for ``s > 0``), scaling
output channel ``c`` of the first by ``s_c`` and the matching input channel
of the second by ``1 / s_c`` leaves the float model's output unchanged
(Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias
Correction", ICCV 2019, Sec. 4.1 use the same identity to balance weights).
:func:`equalize_channels` picks ``s_c`` from calibration batches so that
each channel's largest pre-activation magnitude becomes the tensor's.

A convolution with a fused clip to [-1, 1] (``hard_tanh``: ESPCN's clipped
first layer, :func:`~sr_zoo.models.split_tanh`'s pieces) commutes with
``s_c`` as long as ``s_c * z`` stays within the clip: its channels that never
reach the clip on the batches are scaled up until they just do, and those that
do keep ``s_c = 1``. The same function on those batches; a later input that
goes past a channel's peak clips sooner than it did.

>>> scales = equalize_channels(model, [lr_batch])    # model's float output is unchanged
>>> {name: s.max() for name, s in scales.items()}
"""

import keras
import numpy as np

from sr_zoo.models.quantization import QUANTIZED_CLASS, FakeQuant, _activation_name

#: Activations that commute with a positive per-channel scale.
_HOMOGENEOUS = (keras.layers.PReLU, keras.layers.ReLU, keras.layers.LeakyReLU)
_CONVOLUTIONS = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
#: The first convolution's own activations that a positive per-channel scale passes, and where each clips.
_CLIP = {"linear": None, "relu": None, "hard_tanh": 1.0}


def _consumers(model, layer):
    """The layers of ``model`` that take ``layer``'s output."""
    return [other for other in model.layers for node in other._inbound_nodes
            if any(t._keras_history.operation is layer for t in node.input_tensors)]


def _passes_scale(layer):
    """Whether a channel's scale passes ``layer`` unchanged: a homogeneous activation, or fake quantization
    whose range the first training batch will set (a learnt range already set would not follow: refused; a
    fixed one, such as tanh's input, ends the chain)."""
    if isinstance(layer, _HOMOGENEOUS):
        return True
    if not isinstance(layer, FakeQuant) or layer.fixed:
        return False
    if layer.has_range:
        raise ValueError(f"equalize_channels: {layer.name} already holds a range; equalize before calibrating")
    return True


def chains(model):
    """``(first, second)``: a ``Conv2D`` (linear, or with a ``relu`` or ``hard_tanh`` of its own) whose output
    reaches only the convolution ``second``, through nothing or homogeneous activations
    (``PReLU``/``ReLU``/``LeakyReLU`` layers) and unset fake quantization."""
    found = []
    for first in model.layers:
        if not isinstance(first, keras.layers.Conv2D) or _activation_name(first) not in _CLIP:
            continue
        current = first
        while len(users := _consumers(model, current)) == 1:
            (current,) = users
            if not _passes_scale(current):
                break
        else:
            continue
        if isinstance(current, _CONVOLUTIONS):
            found.append((first, current))
    return found


#: The float layer of each quantization-aware one (same config and weights).
_FLOAT_CLASS = {quantized: plain for plain, quantized in QUANTIZED_CLASS.items()}


def _float_view(model):
    """The float model behind a quantization-aware copy (an unset range would zero the signal), for probing."""
    if not any(isinstance(layer, FakeQuant) for layer in model.layers):
        return model

    def clone(layer):
        if isinstance(layer, FakeQuant):
            return keras.layers.Identity(name=layer.name)
        return _FLOAT_CLASS.get(type(layer), type(layer)).from_config(layer.get_config())

    view = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        if layer.weights and not isinstance(layer, FakeQuant):
            view.get_layer(layer.name).set_weights(layer.get_weights())
    return view


def equalize_channels(model, batches):
    """Scales ``model``'s weights in place so that, on ``batches`` (LR inputs ``(N, H, W, C)``), every output
    channel of each :func:`chains` convolution reaches the same largest magnitude (for a clipping one, the
    largest within its clip); returns the scales by layer name. The float model computes the same function (up
    to float rounding; for a clipping one, on ``batches``)."""
    batches = list(batches)
    if not batches:
        raise ValueError("equalize_channels: give at least one calibration batch")
    scales = {}
    found = chains(model)
    view = _float_view(model) if found else None
    # every chain's peaks from the unscaled model: scaling one chain leaves the others' pre-activations as they are
    peaks = {}
    for first, _ in found:
        probe = keras.Model(view.inputs, view.get_layer(first.name).output)
        peaks[first.name] = np.max(np.stack([np.max(np.abs(keras.ops.convert_to_numpy(probe(b))), axis=(0, 1, 2))
                                             for b in batches]), axis=0)
    for first, second in found:
        peak, clip = peaks[first.name], _CLIP[_activation_name(first)]
        top = peak.max() if clip is None else min(peak.max(), clip)  # a clipped channel's peak is the clip: s = 1
        s = (top / np.maximum(peak, top * 1e-2)).astype("float32")  # a dead channel: 100x at most
        kernel, *bias = first.get_weights()
        first.set_weights([kernel * s, *(b * s for b in bias)])
        kernel, *rest = second.get_weights()
        shape = [1] * kernel.ndim
        shape[-1 if isinstance(second, keras.layers.Conv2DTranspose) else -2] = -1  # input channels
        second.set_weights([kernel / s.reshape(shape), *rest])
        scales[first.name] = s
    return scales


__all__ = ["equalize_channels", "chains"]

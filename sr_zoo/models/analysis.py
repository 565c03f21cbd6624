"""Static facts about a super-resolution model, read from its layer graph.

:func:`describe` walks a functional model (built by :func:`sr_zoo.models.get`
or loaded from ``.keras``) from its outputs back to its input and returns its
scale, receptive field, multiply-adds and peak activation size per LR pixel.
:func:`sr_zoo.upscale` uses it to choose tile overlaps and sizes; the trainer
uses the receptive field to crop labels; the benchmark prints the
multiply-adds.

>>> info = sr_zoo.models.describe(sr_zoo.models.get("espcn", scale=3))
>>> info.scale, info.receptive_field, info.macs_per_lr_pixel
(3, 9, 22624.0)
"""

import dataclasses
import math
from fractions import Fraction

import keras

from sr_zoo.image import resize as _resize
from sr_zoo.models import layers as _layers


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What :func:`describe` finds.

    Attributes:
      scale: output size / input size (of the last output).
      channels: input channels (1 = Y, 3 = RGB).
      num_outputs: 1, or the number of pyramid levels a LapSRN returns.
      window: ``(lo, hi)``, offsets (LR pixels) from the LR pixel an output
        pixel lies in to the first and last LR pixel that can influence it.
      receptive_field: side of that LR window, ``hi - lo + 1``.
      halo: ``max(-lo, hi)``, the LR context a tile needs on each side so
        that its centre matches the whole-image result (up to float noise).
      macs_per_lr_pixel: multiply-adds per LR input pixel (all outputs).
      peak_per_lr_pixel: elements of the largest activation per LR pixel.
    """

    scale: int
    channels: int
    num_outputs: int
    window: tuple
    receptive_field: int
    halo: int
    macs_per_lr_pixel: float
    peak_per_lr_pixel: float

    def multiply_adds(self, lr_height, lr_width):
        """Multiply-adds for one LR image of the given size."""
        return self.macs_per_lr_pixel * lr_height * lr_width


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _floor_div(a, b):
    return math.floor(Fraction(a) / b)


def _taps_fn(layer):
    """Returns (s, taps) where taps(o) = (first, last) input pixel that output pixel o reads.

    Pixels are integers at the layer's own input/output resolutions; ``None``
    for point-wise layers. Along one axis (the zoo's kernels are square).
    """
    if isinstance(layer, keras.layers.Conv2DTranspose):
        if layer.padding != "same":
            raise ValueError(f"describe: {layer.name}: only 'same' transposed convolutions are supported")
        k, s = max(_pair(layer.kernel_size)), max(_pair(layer.strides))
        p = max(k - s, 0) // 2  # TensorFlow's SAME split for a transposed convolution
        # input i feeds output o = i*s + j - p for kernel taps j in [0, k).
        return s, lambda o: (math.ceil(Fraction(o + p - k + 1, s)), _floor_div(o + p, s))
    if isinstance(layer, _layers.SubPixel):
        s = layer.scale
        return s, lambda o: (o // s, o // s)
    if isinstance(layer, _layers.BicubicUpsample):
        s, half = layer.scale, Fraction(_resize.KERNEL_WIDTHS[layer.method]) / 2

        def taps(o):  # MATLAB: u = (o + 0.5) / s - 0.5; non-zero weights where |u - i| < width / 2
            u = Fraction(2 * o + 1 - s, 2 * s)
            return math.floor(u - half) + 1, math.ceil(u + half) - 1

        return s, taps
    if hasattr(layer, "kernel_size") and hasattr(layer, "strides"):  # Conv2D, DepthwiseConv2D, ...
        if max(_pair(layer.strides)) != 1:
            raise ValueError(f"describe: {layer.name}: strided convolutions are not supported")
        k = max(_pair(layer.kernel_size))
        d = max(_pair(getattr(layer, "dilation_rate", 1)))
        if layer.padding != "same":
            raise ValueError(f"describe: {layer.name}: only 'same' convolutions keep the scale exact")
        before = (d * (k - 1)) // 2
        after = d * (k - 1) - before
        return 1, lambda o: (o - before, o + after)
    if isinstance(layer, keras.Model):
        raise ValueError(f"describe: nested model {layer.name!r} is not supported; use a flat functional model")
    return None


def _macs(layer, in_channels, out_channels, f_in, f_out):
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return math.prod(_pair(layer.kernel_size)) * in_channels * out_channels * f_in * f_in
    if isinstance(layer, _layers.BicubicUpsample):
        _, num_taps = _resize.taps(float(layer.scale), layer.method, layer.antialias)
        s = layer.scale
        return in_channels * num_taps * (s + s * s) * f_in * f_in  # two 1-D passes
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return math.prod(_pair(layer.kernel_size)) * out_channels * f_out * f_out
    if hasattr(layer, "kernel_size"):
        groups = getattr(layer, "groups", 1) or 1
        return math.prod(_pair(layer.kernel_size)) * (in_channels // groups) * out_channels * f_out * f_out
    return 0


def _compose(windows, f_in, s, taps):
    """The LR windows of a layer's output from its input's.

    ``windows[p]`` is ``(lo, hi)`` for the pixels of phase ``p`` (pixel index
    mod the tensor's resolution factor): offsets from the LR pixel that pixel
    lies in to the first and last LR pixel that can influence it. Tracking
    phases keeps the result exact (e.g. SRCNN's bicubic taps and its
    convolutions cannot both reach their extremes for the same output pixel).
    """
    f_out = f_in * s
    out = []
    for o in range(f_out):  # the pattern repeats every f_out pixels
        first, last = taps(o)
        anchor = o // f_out
        lo = min(i // f_in - anchor + windows[i % f_in][0] for i in range(first, last + 1))
        hi = max(i // f_in - anchor + windows[i % f_in][1] for i in range(first, last + 1))
        out.append((lo, hi))
    return tuple(out), f_out


def describe(model):
    """Returns the :class:`ModelInfo` of a functional ``keras.Model`` (any zoo model, built or loaded).

    >>> sr_zoo.models.describe(model).halo      # LR context each tile needs
    """
    if not isinstance(model, keras.Model) or not getattr(model, "outputs", None):
        raise ValueError(f"describe: expected a functional keras.Model, got {type(model).__name__}")
    if len(model.inputs) != 1:
        raise ValueError(f"describe: expected a model with one input, got {len(model.inputs)}")
    memo = {}
    totals = {"macs": 0, "peak": 0}
    counted = set()

    def visit(tensor):
        if id(tensor) in memo:
            return memo[id(tensor)]
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        channels = tensor.shape[-1] or 0
        if isinstance(layer, keras.layers.InputLayer) or node.is_input:
            result = (((0, 0),), 1)
        else:
            inputs = keras.tree.flatten(node.input_tensors)
            found = [visit(t) for t in inputs]
            factors = {f for _, f in found}
            if len(factors) != 1:
                raise ValueError(f"describe: {layer.name} mixes resolutions {sorted(factors)}")
            f_in = factors.pop()
            windows = tuple(
                (min(w[p][0] for w, _ in found), max(w[p][1] for w, _ in found)) for p in range(f_in)
            )
            rule = _taps_fn(layer)
            result = (windows, f_in) if rule is None else _compose(windows, f_in, *rule)
            if id(node) not in counted:
                counted.add(id(node))
                totals["macs"] += _macs(layer, inputs[0].shape[-1] or 0, channels, f_in, result[1])
        totals["peak"] = max(totals["peak"], channels * result[1] ** 2)
        memo[id(tensor)] = result
        return result

    results = [visit(t) for t in model.outputs]
    lo = min(lo for windows, _ in results for lo, _ in windows)
    hi = max(hi for windows, _ in results for _, hi in windows)
    return ModelInfo(
        scale=int(results[-1][1]),
        channels=int(model.inputs[0].shape[-1]),
        num_outputs=len(model.outputs),
        window=(lo, hi),
        receptive_field=hi - lo + 1,
        halo=max(-lo, hi),
        macs_per_lr_pixel=float(totals["macs"]),
        peak_per_lr_pixel=float(totals["peak"]),
    )

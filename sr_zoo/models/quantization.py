"""Quantization-aware copies of zoo models: the int8 arithmetic of a TFLite file, simulated in training.

:func:`quantization_aware` clones a model with

* every convolution's kernel fake-quantized per output channel, symmetric,
  narrow range (-127..127): how the TFLite converter stores int8 weights;
* a :class:`FakeQuant` (8 bits, ``keras.quantizers.fake_quant_with_min_max_vars``,
  which the TFLite converter reads as the tensor's quantization) on the
  input, fixed to [0, 1] so that every 8-bit input level is exact; after
  every layer that computes (convolution, PReLU, add, mean shift, scaling),
  with a range learnt as a moving average of the batches' min and max; before
  a saturating activation (tanh), fixed to [-1, 1], and after it, fixed to
  the range TFLite's int8 tanh kernel outputs;
* the output clipped to [0, 1] by a fixed :class:`FakeQuant`, so that the
  int8 output levels are the 8-bit image's own levels;
* PReLU slopes rounded per tensor, symmetric (:class:`QuantizedPReLU`): how
  the converter stores an int8 PRELU's alpha. :func:`conversion_graph` gives
  the converter a plain ``PReLU`` with the slopes already on that grid (the
  converter only recognises the plain layer as one PRELU op).

Fine-tuning the copy teaches the weights to live with the rounding; the
converter then needs no calibration for the quantized tensors. The copy is a
functional model of registered layers: it saves to ``.keras`` and loads back.

>>> qat = sr_zoo.models.quantization_aware(sr_zoo.pretrained.load("espcn_x3"))
>>> qat.get_layer("output_quant").get_config()["max_value"]
1.0
"""

import keras

from sr_zoo.models import layers as zoo_layers

_PACKAGE = "sr_zoo"
#: Layers that only move values around (the int8 tensor keeps its scale): no fake quantization after them.
_SHAPE_ONLY = (zoo_layers.SubPixel,)


class Rounding:
    """A layer that rounds as int8 TFLite will. ``simulate = False`` on an instance passes values through in
    float instead, so that :mod:`sr_zoo.models.int8_error` can turn one rounding on at a time (not saved: a
    loaded model always rounds; a compiled predict function keeps the state it was traced with)."""

    simulate = True


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FakeQuant(Rounding, keras.layers.Layer):
    """8-bit fake quantization of a tensor with a fixed range or one learnt as a moving average.

    ``min_value``/``max_value`` given: the range is fixed (an input in [0, 1],
    tanh's [-1, 1], the clipped output). Otherwise the first training batch
    sets it and later ones move it by ``1 - momentum``, until :meth:`freeze`
    stops it (the weights then fine-tune to a fixed grid); at inference the
    stored range is used. The range always contains 0, as TFLite requires.

    >>> y = FakeQuant(0.0, 1.0)(x)         # 256 levels on [0, 1]
    """

    # ``seen``: 0 before the first training batch, 1 while the range follows the batches, 2 once frozen
    # (a variable, so that a compiled train step and a checkpoint both see the state)
    _FROZEN = 2.0

    def __init__(self, min_value=None, max_value=None, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if (min_value is None) != (max_value is None):
            raise ValueError("FakeQuant: give both min_value and max_value, or neither (a learnt range)")
        if min_value is not None and not float(min_value) <= 0.0 <= float(max_value):
            raise ValueError(f"FakeQuant: the range must contain 0, got [{min_value}, {max_value}]")
        self.min_value = None if min_value is None else float(min_value)
        self.max_value = None if max_value is None else float(max_value)
        self.momentum = float(momentum)

    @property
    def fixed(self):
        return self.min_value is not None

    @property
    def has_range(self):
        """Whether the range is set: fixed, or learnt from a training batch or calibration."""
        return self.fixed or float(keras.ops.convert_to_numpy(self.seen)) > 0

    @property
    def frozen(self):
        """Whether a learnt range has stopped following the batches (:meth:`freeze`)."""
        return not self.fixed and float(keras.ops.convert_to_numpy(self.seen)) >= self._FROZEN

    def freeze(self):
        """Stops a learnt range, set by training or calibration, from moving; later batches keep it."""
        if self.fixed:
            return
        if not self.has_range:
            raise ValueError(f"FakeQuant {self.name}: no range to freeze yet (run a training batch or calibrate)")
        self.seen.assign(self._FROZEN)

    def build(self, input_shape):
        constant = keras.initializers.Constant
        self.range_min = self.add_weight(name="range_min", shape=(), trainable=False,
                                         initializer=constant(self.min_value if self.fixed else 0.0))
        self.range_max = self.add_weight(name="range_max", shape=(), trainable=False,
                                         initializer=constant(self.max_value if self.fixed else 0.0))
        self.seen = self.add_weight(name="seen", shape=(), trainable=False,
                                    initializer=constant(1.0 if self.fixed else 0.0))

    def call(self, x, training=False):
        if not self.simulate:
            return x
        ops = keras.ops
        x32 = ops.cast(x, "float32")
        if training and not self.fixed:
            low = ops.minimum(ops.min(ops.stop_gradient(x32)), 0.0)
            high = ops.maximum(ops.max(ops.stop_gradient(x32)), 0.0)
            first, frozen = ops.equal(self.seen, 0.0), ops.greater_equal(self.seen, self._FROZEN)
            m = self.momentum
            low = ops.where(first, low, m * self.range_min + (1.0 - m) * low)
            high = ops.where(first, high, m * self.range_max + (1.0 - m) * high)
            self.range_min.assign(ops.where(frozen, self.range_min, low))
            self.range_max.assign(ops.where(frozen, self.range_max, high))
            self.seen.assign(ops.maximum(self.seen, 1.0))
        high = ops.maximum(self.range_max, self.range_min + 1e-6)
        y = keras.quantizers.fake_quant_with_min_max_vars(x32, self.range_min, high, num_bits=8)
        return ops.cast(y, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(min_value=self.min_value, max_value=self.max_value, momentum=self.momentum)
        return config


def _symmetric_int8(tensor, per_channel):
    """``tensor`` on a symmetric int8 grid (-127..127) set by its largest magnitude: per output channel (last
    axis) or for the whole tensor."""
    ops = keras.ops
    axes = tuple(range(len(tensor.shape) - 1)) if per_channel else None
    bound = ops.maximum(ops.max(ops.abs(tensor), axis=axes), 1e-8)
    return keras.quantizers.fake_quant_with_min_max_vars(tensor, -bound, bound, num_bits=8, narrow_range=True,
                                                         axis=-1 if per_channel else None)


def _per_channel(kernel):
    """``kernel`` on TFLite's int8 grid for convolution weights: per output channel."""
    return _symmetric_int8(kernel, per_channel=True)


def _per_tensor(tensor):
    """``tensor`` on one symmetric int8 grid (PReLU slopes, the sub-pixel deconvolution's kernel)."""
    return _symmetric_int8(tensor, per_channel=False)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class QuantizedConv2D(Rounding, keras.layers.Conv2D):
    """A ``Conv2D`` (same config, same weights) whose kernel is rounded as TFLite stores int8 weights.

    >>> q = QuantizedConv2D.from_config(conv.get_config())
    """

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, _per_channel(kernel) if self.simulate else kernel)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class QuantizedSubPixelConv2DTranspose(Rounding, zoo_layers.SubPixelConv2DTranspose):
    """FSRCNN's deconvolution with the equivalent convolution's kernel rounded as TFLite stores int8 weights.

    Per tensor, not per channel: with one output filter the bias is tiled into
    ``s*s`` equal values, and the converter stores that constant with the
    first channel's scale for every channel (int32 bias 6401 on all nine
    channels of fsrcnn-s_x3, scales 2.20e-5 to 2.6e-5), which moved the int8
    file's output by 9 levels on average from the simulation. One scale for
    the kernel gives one bias scale; the nine phases of one 9x9 kernel have
    about the same range, so the rounding costs next to nothing.
    """

    def subpixel_kernel(self):
        kernel = super().subpixel_kernel()
        return _per_tensor(kernel) if self.simulate else kernel


@keras.saving.register_keras_serializable(package=_PACKAGE)
class QuantizedPReLU(Rounding, keras.layers.PReLU):
    """A ``PReLU`` whose slopes are rounded as the converter stores an int8 PRELU's alpha (per tensor,
    symmetric, -127..127); unrounded, fsrcnn-s_x3's int8 file drifted 1 level on average from the simulation.

    >>> q = QuantizedPReLU.from_config(prelu.get_config())
    """

    def call(self, inputs):
        if not self.simulate:
            return super().call(inputs)
        alpha = keras.ops.cast(_per_tensor(keras.ops.cast(self.alpha, "float32")), inputs.dtype)
        return keras.ops.relu(inputs) - alpha * keras.ops.relu(-inputs)


#: The quantization-aware layer of each float layer whose weights the copy rounds (same config and weights).
QUANTIZED_CLASS = {keras.layers.Conv2D: QuantizedConv2D, keras.layers.PReLU: QuantizedPReLU,
                   zoo_layers.SubPixelConv2DTranspose: QuantizedSubPixelConv2DTranspose}


def conversion_graph(model):
    """``model`` for the TFLite converter: each :class:`QuantizedPReLU` becomes a plain ``PReLU`` with its
    slopes snapped to the int8 grid (the same outputs: the grid's bound is itself on the grid), which the
    converter turns into one int8 PRELU op; a fake-quantized alpha would split it into float NEG, RELU, MUL
    and SUB. Other models are returned as they are."""
    if not any(isinstance(layer, QuantizedPReLU) for layer in model.layers):
        return model

    def clone(layer):
        cls = keras.layers.PReLU if isinstance(layer, QuantizedPReLU) else layer.__class__
        return cls.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        if not layer.weights:
            continue
        weights = layer.get_weights()
        if isinstance(layer, QuantizedPReLU):
            weights = [keras.ops.convert_to_numpy(_per_tensor(weights[0]))]
        copy.get_layer(layer.name).set_weights(weights)
    return copy


#: Saturating activations and the fixed int8 output range TFLite's kernels give them (tanh: scale 1/128, zero
#: point 0; sigmoid: 1/256, -128): the same range here spares the converter a requantization after them.
_SATURATING = {"tanh": (-1.0, 127 / 128), "sigmoid": (0.0, 255 / 256)}
#: The fixed input range [-r, r] of a saturating activation in int8. int8 TFLite runs tanh on its own (not fused
#: into the convolution), so its input is an int8 tensor; ESPCN x3's second layer reaches +-3.2, where a step of
#: 6.4 / 255 costs 0.6 dB on Set5 (the shipped weights, simulated). Clipped to +-1 (tanh(1) = 0.76), the steps
#: are 3x finer and fine-tuning learns to live within it: after 15k steps (recipes.INT8) the int8 file is 0.14 dB
#: below the float model, where +-0.75 left 0.19 and +-1.5 0.24.
PRE_ACTIVATION_RANGE = 1.0


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None)


def quantization_aware(model, calibration=(), pre_activation_range=PRE_ACTIVATION_RANGE):
    """A quantization-aware copy of ``model`` (weights copied; ``model`` is unchanged); see the module doc.

    ``calibration``: LR batches ``(N, H, W, C)`` that set the learnt ranges
    (:func:`calibrate`); until some batch has passed in training mode those
    ranges are [0, 0]. ``pre_activation_range``: the fixed range
    ``[-r, r]`` of a saturating activation's input (``None``: learnt like the
    others). A copy of a copy is refused.
    """
    if any(isinstance(layer, FakeQuant) for layer in model.layers):
        raise ValueError(f"model {model.name!r} is already quantization-aware")
    (output,) = model.outputs if len(model.outputs) == 1 else (None,)
    if output is None:
        raise ValueError(f"model {model.name!r} has {len(model.outputs)} outputs; quantization_aware takes one")
    # The layer whose result becomes the output (behind shape-only layers) is clipped to [0, 1].
    last = output._keras_history.operation
    while isinstance(last, _SHAPE_ONLY):
        last = last._inbound_nodes[0].input_tensors[0]._keras_history.operation
    input_quant = FakeQuant(0.0, 1.0, name="input_quant")
    seen = {}

    def clone(layer):
        config = layer.get_config()
        new = QUANTIZED_CLASS.get(type(layer))
        if new is None:
            return layer.__class__.from_config(config)
        if _activation_name(layer) in _SATURATING:
            config["activation"] = "linear"  # applied after the pre-activation's fake quantization
        return new.from_config(config)

    def call(layer, *args, **kwargs):
        args = [_quantized_input(a, input_quant, seen) for a in args]
        out = layer(*args, **kwargs)
        source = model.get_layer(layer.name)
        if isinstance(layer, _SHAPE_ONLY):
            return out
        if source is last:
            return FakeQuant(0.0, 1.0, name="output_quant")(out)
        activation = _activation_name(source)
        if activation in _SATURATING and pre_activation_range:
            out = FakeQuant(-pre_activation_range, pre_activation_range, name=f"{layer.name}_quant")(out)
        else:
            out = FakeQuant(name=f"{layer.name}_quant")(out)
        if activation in _SATURATING:
            out = keras.layers.Activation(activation, name=f"{layer.name}_{activation}")(out)
            out = FakeQuant(*_SATURATING[activation], name=f"{layer.name}_{activation}_quant")(out)
        return out

    copy = keras.models.clone_model(model, clone_function=clone, call_function=call)
    for layer in model.layers:
        if layer.weights:
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    calibrate(copy, calibration)
    return copy


def calibrate(model, batches):
    """Runs ``batches`` through ``model`` in training mode (no weight update), which sets the learnt ranges."""
    for batch in batches:
        model(batch, training=True)
    return model


def _quantized_input(tensor, input_quant, seen):
    """The model input through the [0, 1] input quantizer (once per input), other tensors unchanged."""
    if not isinstance(tensor, keras.KerasTensor) or not tensor._keras_history.operation.__class__.__name__ == "InputLayer":
        return tensor
    key = id(tensor)
    if key not in seen:
        seen[key] = input_quant(tensor)
    return seen[key]


def is_quantization_aware(model):
    """Whether ``model`` carries :class:`FakeQuant` layers (a copy made by :func:`quantization_aware`)."""
    return any(isinstance(layer, FakeQuant) for layer in model.layers)


__all__ = ["Rounding", "FakeQuant", "QUANTIZED_CLASS", "QuantizedConv2D", "QuantizedSubPixelConv2DTranspose",
           "QuantizedPReLU", "quantization_aware", "calibrate", "is_quantization_aware", "conversion_graph"]

"""PReLU and tanh rewritten so that int8 TFLite fuses every activation into its convolution.

int8 TFLite runs a PReLU (PRELU) or a tanh (TANH) as an op of its own: the
convolution before it writes an int8 tensor of the pre-activation, and the
activation writes a second one. Two 8-bit roundings per layer. Both functions
can be written with clipping activations that int8 convolutions apply for free
(fused RELU or RELU_N1_TO_1), the convolution writing several pieces of its
output and the next convolution reading them with folded weights:

* :func:`split_prelu`: ``PReLU(z) = relu(z) - a * relu(-z)``. The convolution
  gets ``2C`` filters ``[W, -W]`` (biases ``[b, -b]``) and a fused ReLU; the
  next one reads both halves with input weights ``[V, -a * V]`` (Shang et al.'s
  concatenated ReLU, ICML 2016, with the slopes folded in). The same float
  function; one rounding per layer, on ``[0, max]`` where a ReLU output uses all
  256 levels.
* :func:`split_tanh`: ``tanh(z) ~ sum_k a_k * t_k * clip(z / t_k, -1, 1)``
  (:data:`TANH_PIECES`, two pieces). The convolution gets
  ``KC`` filters ``[W / t_k]`` (biases ``[b / t_k]``) and a fused clip to
  [-1, 1] (``hard_tanh``); the next one reads piece ``k`` with weights
  ``a_k * t_k * V``. Close to tanh, not tanh: espcn_x2 split scores 34.86 dB
  on Set5 (tanh: 36.39) and 36.38 after a 6k-step float fine-tune. One
  rounding per piece, and their weights add up to less noise than one rounding
  of a [-1, 1] tanh output, though the factors ``a_k * t_k`` (0.18 and 0.82)
  share the next convolution's per-channel int8 weight scale.

The convolutions on either side do ``K`` times the work (``K = 2``), one that
both reads and writes pieces (ESPCN's second) ``K * K`` times.

>>> split = split_prelu(sr_zoo.pretrained.load("fsrcnn-s_x3"))   # same outputs, no PReLU layers
>>> split = split_tanh(sr_zoo.pretrained.load("espcn_x2"))        # hard_tanh pieces instead of tanh
"""

import keras
import numpy as np

from sr_zoo.models.equalization import _CONVOLUTIONS, _consumers
from sr_zoo.models.quantization import _activation_name

#: ``(t_k, a_k)``: tanh(z) ~ sum_k a_k * t_k * clip(z / t_k, -1, 1) with tanh's slope at 0 (sum a_k = 1) and its
#: limits (sum a_k t_k = 1), least squares on espcn_x2's pre-activations over Set5: rms 0.004 there, max |error|
#: 0.11 on [-4, 4]. The pieces' rounding noise is sum_k (a_k t_k)^2 = 0.70 of one [-1, 1] rounding.
TANH_PIECES = ((0.420, 0.433), (1.443, 0.567))


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


def tanh_splittable(model):
    """``{conv: consumer}``: each ``Conv2D`` of ``model`` with a tanh activation that one convolution alone reads."""
    found = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D) and _activation_name(layer) == "tanh":
            users = _consumers(model, layer)
            if len(users) == 1 and isinstance(users[0], _CONVOLUTIONS):
                found[layer] = users[0]
    return found


def _input_axis(layer):
    return -1 if isinstance(layer, keras.layers.Conv2DTranspose) else -2  # Conv2DTranspose: (h, w, out, in)


def _rewrite(model, producers, consumers, activation, removed=()):
    """A copy of ``model`` whose ``producers`` (``{name: [scale per piece]}``) write one scaled copy of their
    filters per piece through ``activation``, whose ``consumers`` (``{name: [factor per piece]}``, a scalar or
    one per input channel) read the pieces with their input weights times each factor, without the layers
    ``removed``."""
    def clone(layer):
        config = layer.get_config()
        if layer.name in producers:
            config.update(filters=len(producers[layer.name]) * config["filters"], activation=activation)
        return layer.__class__.from_config(config)

    def call(layer, *args, **kwargs):
        return args[0] if layer.name in removed else layer(*args, **kwargs)

    copy = keras.models.clone_model(model, clone_function=clone, call_function=call)
    for layer in model.layers:
        if not layer.weights or layer.name in removed:
            continue
        kernel, *bias = layer.get_weights()
        if layer.name in consumers:
            shape = [1] * kernel.ndim
            shape[_input_axis(layer)] = -1
            kernel = np.concatenate([kernel * np.reshape(f, shape) for f in consumers[layer.name]],
                                    axis=_input_axis(layer))
        if layer.name in producers:
            kernel = np.concatenate([kernel * s for s in producers[layer.name]], axis=-1)
            bias = [np.concatenate([b * s for s in producers[layer.name]]) for b in bias]
        copy.get_layer(layer.name).set_weights([kernel, *bias])
    return copy


def split_prelu(model):
    """A copy of ``model`` with each :func:`splittable` PReLU folded into ReLU halves (see the module doc); the
    float outputs are the same to float rounding. ``model`` is unchanged; one with none to split is refused."""
    found = splittable(model)
    if not found:
        raise ValueError(f"split_prelu: model {model.name!r} has no PReLU between two convolutions")
    producers = {conv.name: [1.0, -1.0] for conv, _ in found.values()}  # writes [z, -z], each through a ReLU
    consumers = {}  # reads [relu(z), relu(-z)] with weights V and -a * V
    for prelu, (_, consumer) in found.items():
        slopes = np.asarray(keras.ops.convert_to_numpy(prelu.alpha)).reshape(-1)
        consumers[consumer.name] = [np.ones_like(slopes), -slopes]
    return _rewrite(model, producers, consumers, "relu", removed={prelu.name for prelu in found})


def split_tanh(model, pieces=TANH_PIECES, layers=None):
    """A copy of ``model`` with each :func:`tanh_splittable` tanh (those named in ``layers``, when given) written
    as clipped linear pieces, ``pieces`` ``((t_k, a_k), ...)`` (see the module doc). ``model`` is unchanged; one
    with no tanh to split is refused."""
    found = [conv for conv in tanh_splittable(model).items() if layers is None or conv[0].name in layers]
    if not found:
        raise ValueError(f"split_tanh: model {model.name!r} has no tanh convolution read by a convolution"
                         + (f" among {', '.join(layers)}" if layers is not None else ""))
    producers = {conv.name: [1.0 / t for t, _ in pieces] for conv, _ in found}
    consumers = {consumer.name: [a * t for t, a in pieces] for _, consumer in found}
    return _rewrite(model, producers, consumers, "hard_tanh")


def split_activations(model, prelu=False, tanh=False, like=None):
    """``model`` with its PReLUs (``prelu``) and tanh activations (``tanh``) split as the flags ask, where it
    has any; ``model`` itself when neither flag is given or it has nothing of the kind. ``like``: a model whose
    split layers these become (a warm start's target): a tanh is split only where ``like``'s layer of the same
    name has the split's filters (``len(pieces)`` times as many), so that one ``like`` keeps as a single
    clip (ESPCN's ``first_activation="hard_tanh"``) stays as it is."""
    if prelu and splittable(model):
        model = split_prelu(model)
    if tanh:
        filters = {} if like is None else {layer.name: getattr(layer, "filters", None) for layer in like.layers}
        layers = [conv.name for conv in tanh_splittable(model)
                  if like is None or filters.get(conv.name) == len(TANH_PIECES) * conv.filters]
        if layers:
            model = split_tanh(model, layers=layers)
    return model


__all__ = ["TANH_PIECES", "split_prelu", "split_tanh", "split_activations", "splittable", "tanh_splittable"]

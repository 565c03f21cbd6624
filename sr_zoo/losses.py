"""Training losses for super-resolution: MSE, L1, Charbonnier and a VGG perceptual loss.

All are registered Keras losses (``package="sr_zoo"``), so a model compiled
with them saves and loads with ``keras.models.load_model``. Images are float
NHWC in [0, 1]; each function returns one value per image (the mean over
pixels and channels) and the classes reduce over the batch as Keras does.

>>> model.compile(optimizer="adam", loss=sr_zoo.losses.Charbonnier())      # LapSRN
>>> model.compile(optimizer="adam", loss=sr_zoo.losses.get("l1"))          # EDSR
>>> vgg = sr_zoo.losses.PerceptualLoss("vgg19", layer="relu5_4")            # needs ImageNet weights
"""

import os

import keras

_PACKAGE = "sr_zoo"

#: LapSRN's Charbonnier epsilon.
CHARBONNIER_EPSILON = 1e-3


def _per_image_mean(x):
    return keras.ops.mean(x, axis=tuple(range(1, len(x.shape))))


def _pair(y_true, y_pred):
    y_pred = keras.ops.convert_to_tensor(y_pred)
    y_true = keras.ops.cast(y_true, y_pred.dtype)
    return y_true, y_pred


@keras.saving.register_keras_serializable(package=_PACKAGE)
def mse(y_true, y_pred):
    """Mean squared error per image (SRCNN, ESPCN, FSRCNN).

    >>> sr_zoo.losses.mse(hr, sr)        # shape (batch,)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return _per_image_mean(keras.ops.square(y_pred - y_true))


@keras.saving.register_keras_serializable(package=_PACKAGE)
def l1(y_true, y_pred):
    """Mean absolute error per image (EDSR).

    >>> sr_zoo.losses.l1(hr, sr)         # shape (batch,)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return _per_image_mean(keras.ops.abs(y_pred - y_true))


@keras.saving.register_keras_serializable(package=_PACKAGE)
def charbonnier(y_true, y_pred, epsilon=CHARBONNIER_EPSILON):
    """Charbonnier penalty ``sqrt(d**2 + epsilon**2)`` averaged per image (LapSRN, epsilon 1e-3).

    A differentiable L1: robust to outliers like L1, smooth at zero like L2.

    >>> sr_zoo.losses.charbonnier(hr, sr)   # shape (batch,)
    """
    y_true, y_pred = _pair(y_true, y_pred)
    eps2 = keras.ops.cast(float(epsilon) ** 2, y_pred.dtype)
    return _per_image_mean(keras.ops.sqrt(keras.ops.square(y_pred - y_true) + eps2))


class _FunctionLoss(keras.losses.Loss):
    fn = None
    default_name = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name or self.default_name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MSE(_FunctionLoss):
    """Keras loss class for :func:`mse`.

    >>> model.compile(optimizer="adam", loss=sr_zoo.losses.MSE())
    """

    fn = staticmethod(mse)
    default_name = "mse"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class L1(_FunctionLoss):
    """Keras loss class for :func:`l1`.

    >>> model.compile(optimizer="adam", loss=sr_zoo.losses.L1())
    """

    fn = staticmethod(l1)
    default_name = "l1"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Charbonnier(keras.losses.Loss):
    """Keras loss class for :func:`charbonnier` (``epsilon`` 1e-3 by default, as in LapSRN).

    >>> model.compile(optimizer="adam", loss=[sr_zoo.losses.Charbonnier()] * 2)   # LapSRN x4: x2 and x4
    """

    def __init__(self, epsilon=CHARBONNIER_EPSILON, name="charbonnier", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not float(epsilon) > 0:
            raise ValueError(f"Charbonnier: epsilon must be > 0, got {epsilon!r}")
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        return charbonnier(y_true, y_pred, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon)
        return config


_NETWORKS = {"vgg16": "VGG16", "vgg19": "VGG19"}
# Caffe-style VGG input: BGR on the 0..255 scale minus the ImageNet mean (what keras.applications expects).
_VGG_BGR_MEAN = (103.939, 116.779, 123.68)


def _vgg_layer_names(network):
    convs = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}[network]
    relu = [f"relu{b}_{i}" for b, n in enumerate(convs, start=1) for i in range(1, n + 1)]
    keras_names = [f"block{b}_conv{i}" for b, n in enumerate(convs, start=1) for i in range(1, n + 1)]
    return dict(zip(relu, keras_names)), keras_names


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PerceptualLoss(keras.losses.Loss):
    """Mean squared distance between VGG features of the SR and HR images (Johnson et al., SRGAN).

    Args:
      network: ``'vgg16'`` or ``'vgg19'``.
      layer: the feature layer, after its ReLU: ``'relu2_2'``, ``'relu5_4'`` (SRGAN's
        VGG54), ... or the Keras name (``'block5_conv4'``).
      weights: ``'imagenet'`` (fetched by Keras on first use into
        ``~/.keras/models``), a path to a local Keras VGG weights file
        (``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``), or ``None``
        for random weights (tests only).

    Inputs are float images in [0, 1] with 1 (Y, tiled to 3 channels) or 3
    (RGB) channels; they are moved to VGG's input scale (BGR, 0..255, ImageNet
    mean subtracted) inside the loss. The VGG is frozen.

    >>> loss = sr_zoo.losses.PerceptualLoss("vgg19", layer="relu5_4", weights="/data/vgg19_notop.h5")
    """

    def __init__(
        self,
        network="vgg19",
        layer="relu5_4",
        weights="imagenet",
        name="perceptual",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        network = str(network).lower()
        if network not in _NETWORKS:
            raise ValueError(f"PerceptualLoss: unknown network {network!r}; choose one of {sorted(_NETWORKS)}")
        relu_names, keras_names = _vgg_layer_names(network)
        if layer in relu_names:
            keras_layer = relu_names[layer]
        elif layer in keras_names:
            keras_layer = layer
        else:
            raise ValueError(
                f"PerceptualLoss: unknown {network} layer {layer!r}; choose one of {list(relu_names)} "
                f"(or the Keras names {keras_names})"
            )
        if isinstance(weights, os.PathLike):
            weights = os.fspath(weights)
        if weights not in ("imagenet", None) and not (isinstance(weights, str) and os.path.isfile(weights)):
            raise ValueError(
                f"PerceptualLoss: weights must be 'imagenet', None or the path of an existing weights file, got {weights!r}"
            )
        self.network, self.layer, self.weights = network, layer, weights
        self._features = self._build(network, keras_layer, weights)

    @staticmethod
    def _build(network, keras_layer, weights):
        constructor = getattr(keras.applications, _NETWORKS[network])
        try:
            vgg = constructor(include_top=False, weights=weights, input_shape=(None, None, 3))
        except Exception as error:  # noqa: BLE001 - any download failure gets the same advice
            if weights != "imagenet":
                raise
            notop = f"{network}_weights_tf_dim_ordering_tf_kernels_notop.h5"
            raise RuntimeError(
                f"PerceptualLoss: could not fetch the {network.upper()} ImageNet weights ({error}). "
                f"Download {notop} (https://storage.googleapis.com/tensorflow/keras-applications/{network}/{notop}) "
                f"where there is internet access and pass weights='/path/to/{notop}', "
                f"or copy it to ~/.keras/models/ so Keras finds it."
            ) from error
        features = keras.Model(vgg.input, vgg.get_layer(keras_layer).output, name=f"{network}_{keras_layer}")
        features.trainable = False
        return features

    def _to_vgg_input(self, x):
        if x.shape[-1] == 1:
            x = keras.ops.concatenate([x, x, x], axis=-1)
        elif x.shape[-1] != 3:
            raise ValueError(f"PerceptualLoss: images must have 1 or 3 channels, got shape {x.shape}")
        bgr = keras.ops.flip(x, axis=-1) * 255.0
        return bgr - keras.ops.convert_to_tensor(_VGG_BGR_MEAN, dtype=x.dtype)

    def call(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        f_true = self._features(self._to_vgg_input(y_true), training=False)
        f_pred = self._features(self._to_vgg_input(y_pred), training=False)
        return _per_image_mean(keras.ops.square(f_pred - keras.ops.stop_gradient(f_true)))

    def get_config(self):
        config = super().get_config()
        config.update(network=self.network, layer=self.layer, weights=self.weights)
        return config


_BY_NAME = {
    "mse": MSE,
    "l2": MSE,
    "mean_squared_error": MSE,
    "l1": L1,
    "mae": L1,
    "mean_absolute_error": L1,
    "charbonnier": Charbonnier,
    "perceptual": PerceptualLoss,
}


def get(identifier):
    """Returns a loss instance from a name (``'mse'``/``'l2'``, ``'l1'``/``'mae'``, ``'charbonnier'``,
    ``'perceptual'``), or passes a loss instance or callable through.

    >>> sr_zoo.losses.get("charbonnier")
    <Charbonnier ...>
    """
    if isinstance(identifier, keras.losses.Loss) or (callable(identifier) and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown loss {identifier!r}; available: {sorted(_BY_NAME)}, a keras Loss or a callable")


__all__ = ["mse", "l1", "charbonnier", "MSE", "L1", "Charbonnier", "PerceptualLoss", "get", "CHARBONNIER_EPSILON"]

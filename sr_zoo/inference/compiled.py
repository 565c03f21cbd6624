"""The per-model cache behind :func:`sr_zoo.upscale`: the model's :class:`~sr_zoo.models.ModelInfo`, its
``tf.function``\ s (XLA-compiled ones traced once per image shape, the others once for every size), its
copies in other precisions, and the compilation plan."""

import weakref

import numpy as np

_CACHE = weakref.WeakKeyDictionary()
_MAX_FUNCTIONS = 32


class _Entry:
    """Per-model cache: its :class:`~sr_zoo.models.ModelInfo` and compiled functions."""

    def __init__(self, model):
        from sr_zoo.models.analysis import describe

        self.info = describe(model)
        if self.info.channels not in (1, 3):
            raise ValueError(f"upscale: model {model.name!r} takes {self.info.channels} channels; supported: 1 (Y) or 3 (RGB)")
        self.model_ref = weakref.ref(model)
        self.functions = {}

    def function(self, key, python_fn, jit_compile, *arrays, any_size=False):
        """The cached ``tf.function`` for this pipeline and these input shapes (traced and compiled once).

        ``any_size``: one trace for every height and width (the inputs' other dimensions fixed), for a function
        that XLA does not compile: oneDNN picks its kernels per call, so tracing per image size only costs time
        (a benchmark of differently sized images paid a model trace per image)."""
        import tensorflow as tf

        any_size = any_size and not jit_compile
        shapes = [tuple(a.shape[:1]) + (None, None) + tuple(a.shape[3:]) if any_size else tuple(a.shape)
                  for a in arrays]
        key = (key, bool(jit_compile)) + tuple(shapes)
        if key not in self.functions:
            if len(self.functions) >= _MAX_FUNCTIONS:  # many image sizes: forget the oldest compilation
                self.functions.pop(next(iter(self.functions)))
            _silence_per_shape_tracing_warning()

            def per_shape(*args):
                return python_fn(*args)

            per_shape.__qualname__ = per_shape.__name__ = _PER_SHAPE_NAME
            signature = [tf.TensorSpec(shape, a.dtype) for shape, a in zip(shapes, arrays)] if any_size else None
            self.functions[key] = tf.function(per_shape, jit_compile=bool(jit_compile), reduce_retracing=False,
                                              autograph=False, input_signature=signature)
        return self.functions[key]

_PER_SHAPE_NAME = "sr_zoo_compiled_once_per_image_shape"

class _PerShapeTracingFilter:
    """Drops TensorFlow's "N out of the last N calls ... triggered tf.function retracing" for our functions.

    Each of them is traced exactly once, for one image shape, and cached (that is the point);
    TensorFlow counts traces per Python code object, so a folder of differently sized images
    looked like excessive retracing. Retracing of any other function is still reported.
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and _PER_SHAPE_NAME in message)

def _silence_per_shape_tracing_warning():
    import logging

    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _PerShapeTracingFilter) for f in logger.filters):
        logger.addFilter(_PerShapeTracingFilter())

def _entry(model):
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"upscale: model must be a keras.Model, got {type(model).__name__}")
    entry = _CACHE.get(model)
    if entry is None:
        entry = _CACHE[model] = _Entry(model)
    return entry

_PRECISION_COPIES = weakref.WeakKeyDictionary()  # model -> {precision: its copy in that precision}

def in_precision(model, precision="auto"):
    """``model`` as :func:`upscale` runs it in ``precision``: itself, or a cached copy in another precision.

    ``"auto"`` is :func:`sr_zoo.models.precision.inference_precision`: bfloat16 where the hardware has it
    for the architectures that keep their quality in it, float32 otherwise. The copy is made once per
    model and precision, from the weights the model has then (pass ``"float32"`` for a model still training).
    """
    from sr_zoo.models import precision as model_precision

    _entry(model)  # the model checks
    resolved = model_precision.inference_precision(model, precision)
    copies = _PRECISION_COPIES.setdefault(model, {})
    if resolved not in copies:
        copy = model_precision.with_precision(model, resolved)
        copies[resolved] = None if copy is model else copy  # never a strong reference to the key itself
    return copies[resolved] or model

def _forward(model, x, predict=False):
    # predict_on_batch: the backend's compiled predict step (the non-TensorFlow path).
    y = model.predict_on_batch(x) if predict else model(x, training=False)
    return y[-1] if isinstance(y, (list, tuple)) else y  # LapSRN: the last pyramid level

def _tf_backend():
    import keras

    return keras.backend.backend() == "tensorflow"

def _to_numpy(x):
    import keras

    return x if isinstance(x, np.ndarray) else keras.ops.convert_to_numpy(x)

_JIT_CHOICES = (True, False, "auto")

def _jit_plan(jit_compile):
    """Returns (jit for the colour pipeline, jit for the model, fuse everything into one program)."""
    if jit_compile not in _JIT_CHOICES:
        raise ValueError(f"jit_compile must be one of {_JIT_CHOICES}, got {jit_compile!r}")
    if not _tf_backend():
        return False, False, False  # the backend compiles predict_on_batch itself
    if jit_compile == "auto":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            return True, True, True
        # On x86 CPUs TensorFlow's oneDNN convolutions beat XLA's (ESPCN 1080p: ~0.25 s vs ~0.36 s;
        # EDSR-baseline 720p: ~1.4 s vs ~1.8 s), while XLA fuses the colour/resize ops best.
        return True, False, False
    return jit_compile, jit_compile, jit_compile

def _forward_fn(entry, jit, batch):
    if not _tf_backend():
        return lambda t: _forward(entry.model_ref(), t, predict=True)
    return entry.function("forward", lambda t: _forward(entry.model_ref(), t), jit, batch, any_size=True)

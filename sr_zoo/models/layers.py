"""Small registered layers and initialisers the zoo's models are built from.

Every class here is registered under the ``sr_zoo`` package and has a complete
``get_config``, so a model that uses them saves to ``.keras`` and loads back
with ``keras.models.load_model`` (default ``safe_mode=True``) in any process
that has done ``import sr_zoo``; none of them is a ``Lambda``.

>>> x = keras.Input((None, None, 1))
>>> y = BicubicUpsample(3)(x)           # MATLAB bicubic, shape (None, None, None, 1)
>>> z = SubPixel(3)(keras.layers.Conv2D(9, 3, padding="same")(x))
"""

import keras
import numpy as np

from sr_zoo.image import resize as _resize

_PACKAGE = "sr_zoo"


def _positive_int(value, what, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: {what} must be a positive integer, got {value!r}")
    return int(value)


def _scaled(dim, factor):
    return None if dim is None else dim * factor


def polyphase_weights(scale, method="bicubic"):
    """MATLAB ``imresize``'s weights for integer upscaling, one row per output phase.

    For an integer ``scale`` every output pixel ``q * scale + p`` reads the
    same taps relative to source pixel ``q``: row ``p`` of the returned
    ``(scale, taps)`` array weighs source offsets ``lo, lo + 1, ..., lo + taps - 1``.
    The weights are MATLAB's own (:func:`sr_zoo.image.resize.contributions`
    on an interior row), so upscaling is a fixed polyphase filter.

    >>> offsets_lo, weights = polyphase_weights(3)     # lo = -2, weights.shape = (3, 4)
    """
    scale = _positive_int(scale, "scale", "polyphase_weights")
    length = 16  # any length whose middle row is far from both borders
    indices, weights = _resize.contributions(length, length * scale, float(scale), method, True, "symmetric")
    q = length // 2
    rows = [(indices[q * scale + p] - q, weights[q * scale + p]) for p in range(scale)]
    used = [(o, w) for offsets, ws in rows for o, w in zip(offsets, ws) if w != 0.0]
    lo, hi = min(o for o, _ in used), max(o for o, _ in used)
    table = np.zeros((scale, hi - lo + 1), np.float64)
    for p, (offsets, ws) in enumerate(rows):
        for o, w in zip(offsets, ws):  # ascending source order, as imresize sums them
            if w != 0.0:
                table[p, o - lo] += w
    return int(lo), table


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BicubicUpsample(keras.layers.Layer):
    """Upscales NHWC images by an integer ``scale`` with MATLAB ``imresize`` (bicubic by default).

    SRCNN's classic input is the MATLAB-bicubic-upscaled image; this layer puts
    that step inside the model so SRCNN, like every zoo model, takes the LR
    image. For an integer scale MATLAB's resize is a fixed polyphase filter
    (:func:`polyphase_weights`): the layer pads each axis by MATLAB's
    ``boundary`` rule and adds shifted copies times constant weights, height
    first, then width, in ``keras.ops`` only, so it runs on every Keras
    backend, under XLA and on any input size. Float inputs give float outputs
    equal to :func:`sr_zoo.imresize` to float rounding (unclipped); uint8
    inputs are rounded after each pass like MATLAB and give the same bytes.
    It has no weights. ``antialias`` only matters for downscaling and is kept
    for configuration compatibility.

    >>> hr = BicubicUpsample(3)(keras.Input((None, None, 1)))
    >>> hr_uint8 = BicubicUpsample(2)(np.zeros((1, 8, 8, 3), np.uint8))
    """

    def __init__(self, scale, method="bicubic", antialias=True, boundary="symmetric", **kwargs):
        super().__init__(**kwargs)
        self.scale = _positive_int(scale, "scale", "BicubicUpsample")
        _resize.check_method_and_boundary(method, boundary)
        self.method = method
        self.antialias = bool(antialias)
        self.boundary = boundary
        self._lo, self._weights = polyphase_weights(self.scale, method)

    def _pad(self, x, axis, lo, hi):
        """Pads ``axis`` by ``lo``/``hi`` pixels with MATLAB's boundary rule (any length, even 1)."""
        n = keras.ops.shape(x)[axis]
        i = keras.ops.arange(-lo, n + hi)
        if self.boundary == "replicate":
            i = keras.ops.clip(i, 0, n - 1)
        else:  # MATLAB's symmetric extension, periodic with period 2n
            # shifted by whole periods to non-negative values first: tf2onnx writes TF's floor-mod as ONNX's
            # Mod, which onnxruntime computes differently for negative integers
            m = keras.ops.mod(i + 2 * n * lo, 2 * n)
            i = keras.ops.where(m < n, m, 2 * n - 1 - m)
        return keras.ops.take(x, i, axis=axis)

    def _phases(self, x, axis, as_uint8):
        """One tensor per output phase ``p`` along ``axis`` (same shape as ``x``)."""
        taps = self._weights.shape[1]
        lo, hi = -self._lo, self._lo + taps - 1
        xp = self._pad(x, axis, lo, hi)
        total = lo + hi
        shifted = []
        for t in range(taps):  # slice [t, len - (total - t)): static bounds, any input size
            index = [slice(None)] * 4
            index[axis] = slice(t, t - total if t < total else None)
            shifted.append(xp[tuple(index)])
        phases = []
        for row in self._weights:
            acc = None
            for t, w in enumerate(row):
                if w == 0.0:
                    continue  # MATLAB drops all-zero taps
                term = shifted[t] * keras.ops.cast(w, x.dtype)
                acc = term if acc is None else acc + term
            if as_uint8:
                acc = keras.ops.clip(keras.ops.floor(acc + 0.5), 0.0, 255.0)
            phases.append(acc)
        return phases

    def call(self, inputs):
        as_uint8 = keras.backend.standardize_dtype(inputs.dtype) == "uint8"
        x = keras.ops.cast(inputs, "float32") if as_uint8 else inputs
        # Height first (MATLAB's order for equal scales), then width; channel
        # (py * s + px) * C + c of the concatenation is the HR pixel offset (py, px).
        phases = [w for v in self._phases(x, 1, as_uint8) for w in self._phases(v, 2, as_uint8)]
        y = keras.ops.depth_to_space(keras.ops.concatenate(phases, axis=-1), self.scale)
        return keras.ops.cast(y, "uint8") if as_uint8 else y

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=inputs.dtype)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, _scaled(h, self.scale), _scaled(w, self.scale), c)

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale, method=self.method, antialias=self.antialias, boundary=self.boundary)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SubPixel(keras.layers.Layer):
    """Sub-pixel convolution's shuffle (Shi et al.): ``(H, W, r*r*C)`` to ``(r*H, r*W, C)``.

    Built on ``keras.ops.depth_to_space`` (TensorFlow's channel order: channel
    ``(dy * r + dx) * C + c`` goes to output offset ``(dy, dx)``, channel ``c``).
    Note that PyTorch's ``PixelShuffle`` orders channels ``c * r * r + dy * r + dx``,
    so weights ported from PyTorch need their output channels permuted.

    >>> y = SubPixel(3)(keras.layers.Conv2D(9, 3, padding="same")(keras.Input((None, None, 1))))
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = _positive_int(scale, "scale", "SubPixel")

    def call(self, inputs):
        return keras.ops.depth_to_space(inputs, self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        r2 = self.scale * self.scale
        if c is not None and c % r2:
            raise ValueError(f"SubPixel: channels ({c}) must be a multiple of scale**2 ({r2})")
        return (n, _scaled(h, self.scale), _scaled(w, self.scale), None if c is None else c // r2)

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MeanShift(keras.layers.Layer):
    """Adds ``sign * mean`` per channel (EDSR's fixed mean shift; no trainable weights).

    EDSR subtracts the training set's mean colour on the way in and adds it back
    on the way out, so the body only models deviations from it.

    >>> x = MeanShift((0.4488, 0.4371, 0.4040), sign=-1)(keras.Input((None, None, 3)))
    """

    def __init__(self, mean, sign=-1, **kwargs):
        super().__init__(**kwargs)
        self.mean = tuple(float(m) for m in np.ravel(mean))
        if not self.mean:
            raise ValueError("MeanShift: mean must hold one value per channel, got an empty sequence")
        if sign not in (-1, 1):
            raise ValueError(f"MeanShift: sign must be -1 (subtract) or 1 (add), got {sign!r}")
        self.sign = int(sign)

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != len(self.mean):
            raise ValueError(f"MeanShift: {len(self.mean)} mean values for {input_shape[-1]} channels")

    def call(self, inputs):
        shift = keras.ops.convert_to_tensor(np.asarray(self.mean) * self.sign, dtype=inputs.dtype)
        return inputs + shift

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(mean=list(self.mean), sign=self.sign)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResidualScaling(keras.layers.Layer):
    """Multiplies by a constant ``factor`` (EDSR's residual scaling, 0.1 in EDSR-full).

    Scaling each block's residual keeps training of wide (256-filter) EDSR
    stable without batch norm.

    >>> y = ResidualScaling(0.1)(keras.Input((None, None, 64)))
    """

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = float(factor)

    def call(self, inputs):
        return inputs * keras.ops.cast(self.factor, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor)
        return config


def bilinear_kernel(size):
    """The 1-D weights of a ``size``-tap bilinear upsampling filter (FCN / LapSRN convention)."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    return 1.0 - np.abs(np.arange(size) - center) / factor


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BilinearUpsampling(keras.initializers.Initializer):
    """Initialises a ``Conv2DTranspose`` kernel as per-channel bilinear upsampling (LapSRN).

    The kernel is diagonal over channels (channel ``c`` upsamples channel
    ``c``), so a freshly built 4x4 stride-2 transposed convolution with
    ``padding="same"`` is exactly bilinear 2x upsampling.

    >>> keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", kernel_initializer=BilinearUpsampling())
    """

    def __call__(self, shape, dtype=None):
        kh, kw, out_ch, in_ch = shape
        if kh != kw:
            raise ValueError(f"BilinearUpsampling: needs a square kernel, got {kh}x{kw}")
        k = bilinear_kernel(kh)
        kernel = np.zeros(shape, dtype=np.float32)
        for c in range(min(out_ch, in_ch)):
            kernel[:, :, c, c] = np.outer(k, k)
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SubPixelConv2DTranspose(keras.layers.Conv2DTranspose):
    """A ``Conv2DTranspose`` (same weights, same config) computed as a sub-pixel convolution.

    A stride-``s`` transposed convolution with ``'same'`` padding is, phase by
    phase, an ordinary convolution on the LR grid: output pixel ``q*s + r``
    only sees kernel taps ``d*s + r + p``. Rearranging the kernel into
    ``s*s*filters`` output channels and shuffling with ``depth_to_space``
    gives the same result (to float rounding) several times faster on CPUs,
    where ``conv2d_transpose`` kernels are slow (FSRCNN x3 at 1080p: the 9x9
    deconvolution dominated the frame time). Other configurations (e.g.
    ``'valid'`` padding, dilation) fall back to the parent's computation.

    >>> up = SubPixelConv2DTranspose(1, 9, strides=3, padding="same")(keras.Input((None, None, 56)))
    """

    def _fast(self):
        sh, sw = self.strides
        return self.padding == "same" and sh == sw and tuple(self.dilation_rate) == (1, 1)

    def _plan(self, k, s):
        p = max(k - s, 0) // 2  # TensorFlow's SAME split for a transposed convolution
        d_lo = min(-((r + p) // s) for r in range(s))
        d_hi = max((k - 1 - r - p) // s for r in range(s))
        return p, d_lo, d_hi

    def subpixel_kernel(self):
        """The equivalent convolution's kernel ``(T, U, in, s*s*filters)`` (the ``'same'`` stride-``s`` case)."""
        s = self.strides[0]
        kh, kw = self.kernel_size
        (ph, lo_h, hi_h), (pw, lo_w, hi_w) = self._plan(kh, s), self._plan(kw, s)
        kernel = keras.ops.convert_to_tensor(self.kernel)  # (kh, kw, filters, in)
        zero = keras.ops.zeros_like(kernel[:1, :1])
        rows = []
        for t in range(hi_h - lo_h + 1):  # conv tap t reads input offset t - hi_h, i.e. d = hi_h - t
            cols = []
            for u in range(hi_w - lo_w + 1):
                phases = []
                for ry in range(s):
                    for rx in range(s):
                        jy, jx = (hi_h - t) * s + ry + ph, (hi_w - u) * s + rx + pw
                        ok = 0 <= jy < kh and 0 <= jx < kw
                        phases.append(kernel[jy : jy + 1, jx : jx + 1] if ok else zero)
                cols.append(keras.ops.concatenate(phases, axis=2))  # (1, 1, s*s*filters, in)
            rows.append(keras.ops.concatenate(cols, axis=1))
        return keras.ops.transpose(keras.ops.concatenate(rows, axis=0), (0, 1, 3, 2))

    def call(self, inputs):
        if not self._fast():
            return super().call(inputs)
        s = self.strides[0]
        kh, kw = self.kernel_size
        (_, lo_h, hi_h), (_, lo_w, hi_w) = self._plan(kh, s), self._plan(kw, s)
        w = self.subpixel_kernel()
        x = keras.ops.pad(inputs, ((0, 0), (hi_h, -lo_h), (hi_w, -lo_w), (0, 0)))
        y = keras.ops.conv(x, w, strides=1, padding="valid")
        if self.use_bias:
            y = y + keras.ops.tile(self.bias, [s * s])
        y = keras.ops.depth_to_space(y, s)
        return self.activation(y) if self.activation is not None else y

"""Where a quantization-aware copy's int8 error comes from, one rounding at a time.

The int8 file's output differs from the float model's through many roundings:
each activation tensor's 8-bit grid (a :class:`~sr_zoo.models.quantization.FakeQuant`)
and each layer's int8 weights. :func:`error_sources` turns them on one at a
time, the others passing float values, and measures the output's mean squared
error against the same weights computed in float. Independent roundings add to
first order, so the shares say which tensor a fix should target, and
:func:`drop_db` turns an error into the dB it costs a model of a given PSNR.

>>> breakdown = error_sources(qat_model, [lr_batch])      # lr_batch: (N, H, W, C) in [0, 1]
>>> [(s.name, s.kind, s.error) for s in breakdown.largest(3)]
"""

import contextlib
import dataclasses
import math

import numpy as np

from sr_zoo.models.quantization import FakeQuant, Rounding
from sr_zoo.models.range_tuning import output_error


@dataclasses.dataclass(frozen=True)
class ErrorSource:
    """One rounding: the layer, ``"activation"`` (its output's 8-bit grid) or ``"weights"`` (its int8 weights,
    PReLU slopes included), and the output's mean squared error with only it on."""

    name: str
    kind: str
    error: float


@dataclasses.dataclass(frozen=True)
class ErrorBreakdown:
    """:func:`error_sources`' result: ``sources`` in graph order, ``total`` with every rounding on."""

    sources: list
    total: float

    @property
    def sum_of_sources(self):
        return sum(s.error for s in self.sources)

    def largest(self, count=None):
        return sorted(self.sources, key=lambda s: -s.error)[:count]


def rounding_layers(model):
    """The layers of ``model`` that round as int8 TFLite will, in graph order."""
    return [layer for layer in model.layers if isinstance(layer, Rounding)]


@contextlib.contextmanager
def only(model, layers):
    """Inside, only ``layers`` of ``model``'s roundings are on (the rest pass float values); all on after.

    Seen by eager calls and ``model.predict_on_batch`` (its compiled function is rebuilt); a function compiled
    elsewhere before (``sr_zoo.upscale``'s cache) keeps the roundings it was traced with."""
    on = {id(layer) for layer in layers}
    try:
        for layer in rounding_layers(model):
            layer.simulate = id(layer) in on
        model.predict_function = None  # retrace: the traced function holds the previous state
        yield model
    finally:
        for layer in rounding_layers(model):
            layer.simulate = True
        model.predict_function = None


def error_sources(model, batches):
    """The output's mean squared error against float, per rounding alone and all together (an
    :class:`ErrorBreakdown`), on ``batches`` of LR images ``(N, H, W, C)`` in [0, 1].

    ``model`` is a quantization-aware copy with its ranges set (trained or calibrated); it is left as it was.
    """
    batches = list(batches)
    if not batches:
        raise ValueError("error_sources: give at least one LR batch")
    layers = rounding_layers(model)
    if not layers:
        raise ValueError(f"error_sources: model {model.name!r} is not quantization-aware (no int8 roundings)")
    unset = [layer.name for layer in layers if isinstance(layer, FakeQuant) and not layer.has_range]
    if unset:
        raise ValueError(f"error_sources: {', '.join(unset)} hold no range yet (train or calibrate first)")
    batches = [np.asarray(b, np.float32) for b in batches]
    with only(model, ()):  # the float computation is the target each rounding's error is measured against
        pairs = [(b, np.asarray(model.predict_on_batch(b), np.float64)) for b in batches]

    def error(on):
        with only(model, on):
            return output_error(model, pairs)

    sources = [ErrorSource(layer.name, "activation" if isinstance(layer, FakeQuant) else "weights", error([layer]))
               for layer in layers]
    return ErrorBreakdown(sources, error(layers))


def drop_db(error, psnr):
    """The dB an added mean squared error ``error`` (in [0, 1] units) costs a model at ``psnr`` dB, when it is
    uncorrelated with the model's own error."""
    mse = 10.0 ** (-psnr / 10.0)
    return 10.0 * math.log10((mse + error) / mse)


def allowed_error(drop, psnr):
    """The largest added mean squared error that costs at most ``drop`` dB at ``psnr`` dB (inverse of
    :func:`drop_db`)."""
    return 10.0 ** (-psnr / 10.0) * (10.0 ** (drop / 10.0) - 1.0)


__all__ = ["error_sources", "rounding_layers", "only", "drop_db", "allowed_error", "ErrorSource", "ErrorBreakdown"]

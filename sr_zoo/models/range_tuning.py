"""Tighter int8 activation ranges for a quantization-aware copy, chosen by the output's error, then frozen.

A learnt :class:`~sr_zoo.models.quantization.FakeQuant` range follows the
batches' min and max, so the rarest extreme value sets the 8-bit step for all
the others. Shrinking a range clips those extremes and makes the step finer
for everything else; which trade is best depends on how much the output feels
that tensor, so :func:`tighten_ranges` tries factors on each learnt range in
turn (graph order, the earlier choices kept) and keeps the pair (lower bound,
upper bound) with the lowest output error on LR/HR batches (the same search
on 30 whole T91 images took fsrcnn-s_x4's finished int8 file from a Set5 drop
of 0.164 to 0.138 dB in LiteRT, with no training). :func:`freeze_ranges` then
stops the ranges following the batches, so that the rest of a fine-tune
teaches the weights those grids (PyTorch's quantization-aware recipe likewise
turns its observers off for the last epochs): ``train.py --freeze_ranges=0.5``
does both halfway, which took the same 40k-step fine-tune to 0.149 dB.

>>> result = tighten_ranges(qat_model, [(lr_batch, hr_batch)])
>>> freeze_ranges(qat_model)
"""

import dataclasses

import keras
import numpy as np

from sr_zoo.models.quantization import FakeQuant

#: The factors each learnt bound is tried at (1.0: as trained).
FACTORS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


@dataclasses.dataclass
class RangeTightening:
    """What :func:`tighten_ranges` chose: ``factors[name] = (lower, upper)`` and the output's mean squared error
    on the batches before and after."""

    factors: dict
    error_before: float
    error_after: float


def learnt_quantizers(model):
    """The :class:`FakeQuant` layers of ``model`` whose ranges are learnt (not fixed), in graph order."""
    return [layer for layer in model.layers if isinstance(layer, FakeQuant) and not layer.fixed]


def output_error(model, pairs):
    """Mean squared error of ``model(lr)`` against ``hr`` over ``pairs`` (inference mode: ranges kept).

    Through ``predict_on_batch``: one compiled function that reads the range variables at each call, where
    eager calls would make the search's thousands of forward passes minutes long."""
    errors = [np.mean((np.asarray(model.predict_on_batch(lr), np.float64) - hr) ** 2) for lr, hr in pairs]
    return float(np.mean(errors))


def tighten_ranges(model, pairs, factors=FACTORS):
    """Shrinks each learnt range of ``model`` (in place) by the factors, of ``factors``, that give the lowest
    :func:`output_error` on ``pairs`` (``(lr, hr)`` batches, HR in [0, 1]); returns a :class:`RangeTightening`.

    Greedy in graph order: each quantizer is tuned with the earlier ones' choices in place. Factor 1.0 is
    always among the candidates, so the error never rises on ``pairs``.
    """
    pairs = [(lr, np.asarray(hr, np.float64)) for lr, hr in pairs]
    if not pairs:
        raise ValueError("tighten_ranges: give at least one (lr, hr) batch")
    quantizers = learnt_quantizers(model)
    unset = [q.name for q in quantizers if not q.has_range]
    if unset:
        raise ValueError(f"tighten_ranges: {', '.join(unset)} hold no range yet (train or calibrate first)")
    factors = sorted({1.0, *(float(f) for f in factors)}, reverse=True)
    if factors[-1] <= 0 or factors[0] > 1:
        raise ValueError(f"tighten_ranges: factors must be in (0, 1], got {factors}")
    before = best = output_error(model, pairs)
    chosen = {}
    for quantizer in quantizers:
        low, high = (float(keras.ops.convert_to_numpy(v)) for v in (quantizer.range_min, quantizer.range_max))
        pick = (1.0, 1.0)
        for a in factors if low < 0 else (1.0,):  # a bound at 0 has nothing to shrink
            for b in factors if high > 0 else (1.0,):
                if (a, b) == (1.0, 1.0):
                    continue
                quantizer.range_min.assign(low * a)
                quantizer.range_max.assign(high * b)
                error = output_error(model, pairs)
                if error < best:
                    best, pick = error, (a, b)
        quantizer.range_min.assign(low * pick[0])
        quantizer.range_max.assign(high * pick[1])
        chosen[quantizer.name] = pick
    return RangeTightening(chosen, before, best)


def freeze_ranges(model):
    """Freezes every learnt range of ``model`` (:meth:`FakeQuant.freeze`); returns how many."""
    quantizers = learnt_quantizers(model)
    for quantizer in quantizers:
        quantizer.freeze()
    return len(quantizers)


def ranges_frozen(model):
    """Whether ``model`` has learnt ranges and all of them are frozen."""
    quantizers = learnt_quantizers(model)
    return bool(quantizers) and all(q.frozen for q in quantizers)


__all__ = ["tighten_ranges", "freeze_ranges", "ranges_frozen", "learnt_quantizers", "output_error",
           "RangeTightening", "FACTORS"]

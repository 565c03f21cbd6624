"""Tiling: images whose activations would not fit in a memory budget run in overlapping tiles, each carrying
the model's halo of LR context, stitched to the whole-image result."""

import math

import numpy as np

from sr_zoo.inference.compiled import _forward_fn, _to_numpy

# Live float32 activations during a forward pass, relative to the largest one.
_LIVE_FACTOR = 3


def activation_bytes(info, height, width):
    """Bytes of live float32 activations when the model of ``info`` runs on a ``height`` x ``width`` LR input."""
    return height * width * info.peak_per_lr_pixel * 4 * _LIVE_FACTOR


def _tile_shape(tile):
    if isinstance(tile, (tuple, list)) and len(tile) == 2:
        th, tw = tile
    else:
        th = tw = tile
    for t in (th, tw):
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
            raise ValueError(f"tile must be None, a positive int or (height, width) of positive ints, got {tile!r}")
    return int(th), int(tw)

def plan(info, height, width, tile, overlap, budget):
    """Returns ((tile_h, tile_w) or None for the whole image, overlap); ``budget``: bytes of activations per call."""
    if overlap is None:
        overlap = info.halo
    elif isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or overlap < info.halo:
        raise ValueError(
            f"overlap must be an int >= the model's halo ({info.halo} LR pixels) so tiles stitch "
            f"without seams, got {overlap!r}"
        )
    overlap = int(overlap)
    if tile is not None:
        return _tile_shape(tile), overlap
    per_pixel = info.peak_per_lr_pixel * 4 * _LIVE_FACTOR
    if height * width * per_pixel <= budget:
        return None, overlap
    window = int(math.sqrt(budget / per_pixel))
    # Keep at least half of each window's side useful, even if that overshoots the budget a little.
    side = max(window - 2 * overlap, 2 * overlap, 16)
    return (side, side), overlap

def _windows(length, core, overlap):
    """[(core_start, core_stop, window_start)]; every window has the same size, inside the image."""
    size = min(core + 2 * overlap, length)
    out = []
    for start in range(0, length, core):
        stop = min(start + core, length)
        window = min(max(start - overlap, 0), length - size)
        out.append((start, stop, window))
    return out, size

def predict_tiled(entry, x, tile_hw, overlap, jit_compile, budget):
    """Runs the model on overlapping windows of the NHWC float array ``x`` (batch 1) and stitches.

    As many windows per call as ``budget`` bytes of activations hold (at most 16).
    """
    s = entry.info.scale
    _, height, width, _ = x.shape
    rows, wh = _windows(height, tile_hw[0], overlap)
    cols, ww = _windows(width, tile_hw[1], overlap)
    jobs = [(r, c) for r in rows for c in cols]
    window_bytes = wh * ww * entry.info.peak_per_lr_pixel * 4 * _LIVE_FACTOR
    batch = int(max(1, min(len(jobs), budget // max(window_bytes, 1), 16)))
    out = None
    for first in range(0, len(jobs), batch):
        group = jobs[first : first + batch]
        padded = group + [group[-1]] * (batch - len(group))  # same batch shape: no recompilation
        stack = np.concatenate([x[:, r[2] : r[2] + wh, c[2] : c[2] + ww] for r, c in padded], axis=0)
        pred = _to_numpy(_forward_fn(entry, jit_compile, stack)(stack))
        if out is None:
            out = np.empty((1, height * s, width * s, pred.shape[-1]), pred.dtype)
        for k, ((r0, r1, rw), (c0, c1, cw)) in enumerate(group):
            out[0, r0 * s : r1 * s, c0 * s : c1 * s] = pred[k, (r0 - rw) * s : (r1 - rw) * s, (c0 - cw) * s : (c1 - cw) * s]
    return out

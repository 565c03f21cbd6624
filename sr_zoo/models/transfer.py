"""Weight transfer between scales of one network (warm starts).

The papers train their larger factors from the smaller one: EDSR initialises its x3 and x4 models
with the pre-trained x2 network (Lim et al. 2017, Sec. 3.2), FSRCNN fine-tunes only its
deconvolution for a new factor (Dong et al. 2016, Sec. 3.3), and LapSRN's pyramid levels do the same
job at every level, which MS-LapSRN exploits by sharing one set of weights across levels (Lai et al.
2018). :func:`transfer_weights` copies what carries over and leaves the rest freshly initialised:

* a layer with the same name and the same weight shapes is copied (SRCNN/FSRCNN at any factor;
  EDSR's head, body and reconstruction, and the x2 upsampler into x4's first stage);
* a LapSRN level the source does not have (``level3_...`` from an x4 model) starts from the
  source's deepest level with the same layer (``level2_...``).

>>> copied, fresh = sr_zoo.models.transfer_weights(edsr_x4, edsr_x2)
>>> fresh
['upsample_conv2']
"""

import re

_LEVEL = re.compile(r"^level(\d+)_(.+)$")


def _source_layer(name, sources):
    """The name of the source layer that initialises the target layer ``name`` (or ``None``)."""
    if name in sources:
        return name
    match = _LEVEL.match(name)
    if match:
        rest = match.group(2)
        levels = sorted(int(m.group(1)) for m in map(_LEVEL.match, sources) if m and m.group(2) == rest)
        if levels:
            return f"level{levels[-1]}_{rest}"
    return None


def transfer_weights(target, source):
    """Copies ``source``'s weights into ``target`` wherever they carry over; returns ``(copied, fresh)``.

    ``copied`` and ``fresh`` list the names of ``target``'s layers with weights that were copied
    and that kept their initialisation. A ``ValueError`` says so when nothing carries over (another
    network, or another width).
    """
    sources = {layer.name: layer for layer in source.layers if layer.weights}
    copied, fresh = [], []
    for layer in target.layers:
        if not layer.weights:
            continue
        origin = sources.get(_source_layer(layer.name, sources))
        weights = origin.get_weights() if origin is not None else None
        if weights is not None and [w.shape for w in weights] == [tuple(w.shape) for w in layer.weights]:
            layer.set_weights(weights)
            copied.append(layer.name)
        else:
            fresh.append(layer.name)
    if not copied:
        raise ValueError(f"no weights of {source.name} fit {target.name} (another network or width)")
    return copied, fresh

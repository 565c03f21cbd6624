"""Publishing: measures a run's ``best.keras`` on the benchmarks and ships it into ``sr_zoo/weights/``
with its manifest entry."""

import json
import os
import pathlib

from sr_zoo import pretrained
from sr_zoo.zoo_tools.record import _training_record, compute_record


def publish(name, source, *, data_dir=None, training=None, allow_worse=False):
    """Measures ``source`` (a run folder's ``best.keras`` or a ``.keras`` file) and ships it as ``name``.

    Writes ``weights/<name>.keras`` (inference model only) and the manifest entry. ``training``
    overrides the training record (default: read from the run folder's checkpoint state). A model
    below the shipped one on Set5 is refused (``ValueError``, nothing written) unless ``allow_worse``:
    another training cycle that did not help must not replace a better file.
    """
    import keras

    from sr_zoo import evaluation, models, recipes
    from sr_zoo.data import benchmarks

    zoo_model = recipes.zoo(name)
    source = pathlib.Path(source)
    file = source / "best.keras" if source.is_dir() else source
    model = keras.models.load_model(file, compile=False)
    info = models.describe(model)
    if info.scale != zoo_model.scale or info.channels != zoo_model.channels:
        raise ValueError(f"{file} is x{info.scale} with {info.channels} channels; {name} is x{zoo_model.scale} "
                         f"with {zoo_model.channels}")
    methods = {"bicubic": benchmarks.bicubic, name: evaluation.model_upscaler(model)[0]}
    scores = evaluation.evaluate(methods, ["set5"], [zoo_model.scale], data_dir=data_dir)  # first: the gate
    shipped = pretrained.manifest().get(name)
    if shipped and not allow_worse:
        new, old = next(s.psnr for s in scores if s.method == name), shipped["measured"]["set5"]["psnr"]
        if round(new, 4) < old:
            raise ValueError(f"{file}: Set5 {new:.4f} dB is below the shipped {name}'s {old:.4f} dB; nothing "
                             "replaced (--allow_worse ships it anyway)")
    scores += evaluation.evaluate(methods, [b for b in pretrained.BENCHMARKS if b != "set5"], [zoo_model.scale],
                                  data_dir=data_dir)
    protocol = pretrained.PROTOCOL_X8 if zoo_model.scale == 8 else pretrained.PROTOCOL
    measured = {"protocol": protocol, "bicubic": {}}
    for s in scores:
        target = measured if s.method == name else measured["bicubic"]
        target[s.benchmark] = {"psnr": round(s.psnr, 4), "ssim": round(s.ssim, 5)}
    if training is None:
        training = _training_record(zoo_model, source) if source.is_dir() else {}
    out = pretrained.WEIGHTS_DIR / f"{name}.keras"
    from sr_zoo.training import save_model_atomically

    save_model_atomically(model, out)
    entry = {
        "model": zoo_model.model,
        "preset": zoo_model.preset,
        "scale": zoo_model.scale,
        "channels": zoo_model.channels,
        "config": model.get_config()["name"],
        "parameters": int(model.count_params()),
        "gmacs_per_1080p_frame": round(info.macs_per_lr_pixel * (1920 // info.scale) * (1080 // info.scale) / 1e9, 3),
        "file": out.name,
        "sha256": pretrained.sha256(out),
        "bytes": out.stat().st_size,
        "training": training,
        "measured": measured,
        "paper": zoo_model.paper,
        "paper_source": zoo_model.paper_source,
    }
    entry["compute"] = compute_record(zoo_model, training)
    if shipped and "int8" in shipped:  # a fine-tune of the earlier float file, still a model in its own right
        entry["int8"] = shipped["int8"]
    entries = pretrained.manifest()
    entries[name] = entry
    entries = {k: entries[k] for k in sorted(entries, key=lambda k: list(recipes.ZOO).index(k) if k in recipes.ZOO else 99)}
    tmp = pretrained.MANIFEST.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(entries, indent=1) + "\n")
    os.replace(tmp, pretrained.MANIFEST)
    return entry

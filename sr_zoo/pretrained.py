"""The pretrained zoo: ``.keras`` files shipped in ``sr_zoo/weights/`` with a manifest.

Each manifest entry records the architecture and config, the training data, the exact
``train.py`` command (backend and device), steps, wall time, the file's sha256 and the
Set5 / Set14 / B100 Y-PSNR / SSIM measured when it was published (crop = scale, MATLAB LR
images), beside the paper's numbers. Files hold the inference model only (no optimizer).

>>> import sr_zoo
>>> sr_zoo.pretrained.available()["espcn_x3"]["measured"]["set5"]
>>> model = sr_zoo.pretrained.load("espcn_x3")         # checks the sha256 first
>>> sr = sr_zoo.upscale(model, lr_uint8)

Command line::

    python -m sr_zoo.pretrained                          # the zoo as a table (shipped and still to train)
    python -m sr_zoo.pretrained --markdown               # the README's table
    python -m sr_zoo.pretrained --update_readme          # writes it and the compute table into README.md
    python -m sr_zoo.pretrained --compute                # training compute spent, and the paper's recipe's
    python -m sr_zoo.pretrained publish espcn_x3 runs/espcn_x3   # measure a run's best.keras and ship it
                                                         # (refused below the shipped Set5; --allow_worse)
    python -m sr_zoo.pretrained figure docs/zoo_crops.png        # the README's comparison figure
"""

import dataclasses
import hashlib
import json
import os
import pathlib
import sys

from sr_zoo.errors import ToolFailure

WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"
BENCHMARKS = ("set5", "set14", "b100")
PROTOCOL = "Y channel (MATLAB rgb2ycbcr), crop = scale pixels, MATLAB bicubic LR images (SelfExSR)"
# No MATLAB-made x8 LR images are at hand (the EDSR benchmark's X8 folder was made otherwise)
PROTOCOL_X8 = ("Y channel (MATLAB rgb2ycbcr), crop = scale pixels, LR made from the HR by sr_zoo.imresize "
               "(bit-exact with MATLAB's imresize, symmetric borders)")


class IntegrityError(ValueError, ToolFailure):
    """A shipped file does not match the sha256 its manifest entry records (the tools: exit 1)."""


def manifest():
    """The whole manifest: name -> entry (shipped models only)."""
    if not MANIFEST.exists():
        return {}
    return json.loads(MANIFEST.read_text())


def available():
    """Name -> manifest entry of every shipped model whose file is present."""
    return {name: entry for name, entry in manifest().items() if (WEIGHTS_DIR / entry["file"]).exists()}


def path(name):
    """Path of the shipped ``.keras`` file of ``name``."""
    entries = available()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none shipped"
        raise ValueError(f"unknown pretrained model {name!r}; available: {known} (or pass a .keras file path)")
    return WEIGHTS_DIR / entries[name]["file"]


def sha256(file):
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(name):
    """Raises :class:`IntegrityError` unless the file's sha256 is the manifest's."""
    file = path(name)
    expected = available()[name]["sha256"]
    actual = sha256(file)
    if actual != expected:
        raise IntegrityError(
            f"{file}: sha256 {actual[:16]}... does not match the manifest's {expected[:16]}...; the file is "
            f"corrupt or was replaced (reinstall sr_zoo)"
        )
    return file


def load(name):
    """The pretrained model ``name`` as an uncompiled ``keras.Model``, after checking its sha256."""
    import keras

    import sr_zoo  # noqa: F401  (registers the zoo's layers)

    return keras.models.load_model(verify(name), compile=False)


def load_model(spec):
    """Loads a model from a ``.keras`` path or a pretrained name; returns ``(model, label)``."""
    import keras

    import sr_zoo  # noqa: F401  (registers the zoo's layers for deserialization)

    if os.path.exists(spec):
        try:
            return keras.models.load_model(spec), spec
        except Exception as e:  # Keras raises several types for a bad file
            raise ValueError(f"cannot load model file {spec}: {e}") from e
    if spec.endswith(".keras"):
        raise FileNotFoundError(f"model file not found: {spec}")
    return load(spec), f"{spec} (pretrained)"


# ----------------------------------------------------------------------------- publishing


def _device():
    import keras

    backend = keras.backend.backend()
    gpus = []
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    return backend, (f"GPU x{len(gpus)}" if gpus else f"CPU ({os.cpu_count()} cores)")


def _training_record(zoo_model, run_dir):
    run_dir = pathlib.Path(run_dir)
    run_config = json.loads((run_dir / "run_config.json").read_text())
    state = json.loads((run_dir / "checkpoints" / "latest.json").read_text())
    planned = run_config["epochs"] * run_config["steps_per_epoch"]
    best = json.loads((run_dir / "best.json").read_text()) if (run_dir / "best.json").exists() else {}
    steps = best.get("epoch", 0) * run_config["steps_per_epoch"] or int(state["global_step"])
    # the recipe's command with the warm start this run actually had
    command = dataclasses.replace(zoo_model, warm_start=run_config.get("warm_start")).command()
    backend, device = _device()
    curve = state.get("callbacks", {}).get("validation", {}).get("curve", [])
    return {
        "data": ", ".join(pathlib.Path(d).name if "/" in d else d for d in run_config["datasets"]),
        "command": command,
        "backend": backend,
        "device": device,
        "steps": steps,  # the shipped (best) model's
        "steps_run": int(state["global_step"]),
        "steps_planned": planned,
        "batch_size": run_config["batch_size"],
        # the compute precision on the machine that trained it (runs before precision existed: float32)
        "precision": _precision_label(run_config.get("precision", "float32")),
        "wall_seconds": state.get("train_seconds"),  # the whole run so far (steps_run)
        "warm_start": run_config.get("warm_start"),
        # a shipped model warm-started from its own earlier version: name which one
        "warm_start_sha256": manifest().get(run_config.get("warm_start") or "", {}).get("sha256"),
        # the runs behind the warm start, newest first: together with this run, the model's whole training
        "lineage": _lineage(run_config.get("warm_start")),
        "flops": zoo_model.training_compute()["flops_per_step"] * int(state["global_step"]),  # this run's, estimated
        "validation_curve": {"benchmark": "set5", "epoch_psnr": curve},
        "changes_from_paper": zoo_model.changes,
    }


def _precision_label(precision):
    from sr_zoo import precision as precision_lib

    return precision_lib.describe(precision)


def _lineage(warm_start):
    """The training runs behind a warm start from a shipped model, newest first (``[]`` for none)."""
    from sr_zoo import recipes

    entry = manifest().get(warm_start or "")
    if entry is None:  # no warm start, or a .keras file from elsewhere: nothing on record
        return [{"file": warm_start, "record": "not in the zoo manifest"}] if warm_start else []
    t = entry["training"]
    stage = {"model": warm_start, "sha256": entry["sha256"], "command": t["command"], "steps_run": t["steps_run"],
             "flops": _run_flops(recipes.zoo(warm_start), t), "wall_seconds": t.get("wall_seconds"),
             "device": t.get("device"), "precision": t.get("precision", "float32")}
    if "lineage" in t or not t.get("warm_start"):
        return [stage] + t.get("lineage", [])
    # published before lineages were recorded: the earlier run is known only by its file's hash
    return [stage, {"model": t["warm_start"], "sha256": t.get("warm_start_sha256"), "record": "not kept"}]


def _run_flops(zoo_model, training):
    """A manifest training record's own FLOPs (entries from before FLOPs were recorded: the recipe's)."""
    return training.get("flops") or training.get("steps_run", 0) * zoo_model.training_compute()["flops_per_step"]


def spent_flops(name):
    """``(this run's, with the lineage's)`` training FLOPs of the shipped model ``name`` (runs on record)."""
    from sr_zoo import recipes

    zoo_model, training = recipes.zoo(name), available()[name]["training"]
    return _run_flops(zoo_model, training), compute_record(zoo_model, training)["spent_flops"]


def compute_record(zoo_model, training):
    """The manifest's ``compute``: FLOPs spent (with the lineage) beside the paper recipe's, and the rest."""
    paper = zoo_model.training_compute(paper_recipe=True)
    lineage = training.get("lineage", [])
    spent = _run_flops(zoo_model, training) + sum(stage.get("flops") or 0 for stage in lineage)
    return {"spent_flops": spent, "paper_recipe": {k: paper[k] for k in ("steps", "batch_size", "flops")},
            "spent_share": round(spent / paper["flops"], 6),
            "still_needed_flops": max(paper["flops"] - spent, 0),  # for the paper's recipe run to its end
            "lineage_complete": all(stage.get("flops") for stage in lineage)}


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
    shipped = manifest().get(name)
    if shipped and not allow_worse:
        new, old = next(s.psnr for s in scores if s.method == name), shipped["measured"]["set5"]["psnr"]
        if round(new, 4) < old:
            raise ValueError(f"{file}: Set5 {new:.4f} dB is below the shipped {name}'s {old:.4f} dB; nothing "
                             "replaced (--allow_worse ships it anyway)")
    scores += evaluation.evaluate(methods, [b for b in BENCHMARKS if b != "set5"], [zoo_model.scale],
                                  data_dir=data_dir)
    measured = {"protocol": PROTOCOL_X8 if zoo_model.scale == 8 else PROTOCOL, "bicubic": {}}
    for s in scores:
        target = measured if s.method == name else measured["bicubic"]
        target[s.benchmark] = {"psnr": round(s.psnr, 4), "ssim": round(s.ssim, 5)}
    if training is None:
        training = _training_record(zoo_model, source) if source.is_dir() else {}
    out = WEIGHTS_DIR / f"{name}.keras"
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
        "sha256": sha256(out),
        "bytes": out.stat().st_size,
        "training": training,
        "measured": measured,
        "paper": zoo_model.paper,
        "paper_source": zoo_model.paper_source,
    }
    entry["compute"] = compute_record(zoo_model, training)
    entries = manifest()
    entries[name] = entry
    entries = {k: entries[k] for k in sorted(entries, key=lambda k: list(recipes.ZOO).index(k) if k in recipes.ZOO else 99)}
    tmp = MANIFEST.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(entries, indent=1) + "\n")
    os.replace(tmp, MANIFEST)
    return entry


# ----------------------------------------------------------------------------- tables


def status(entry):
    """``'meets the paper'`` or the largest gap below the paper's numbers, in dB."""
    gaps = [entry["paper"][b] - entry["measured"][b]["psnr"] for b in BENCHMARKS
            if entry["paper"].get(b) is not None and b in entry["measured"]]
    worst = max(gaps, default=None)
    if worst is None:
        return "no paper number"
    return "meets the paper" if worst <= 0.005 else f"{worst:.2f} dB below the paper"


def table(markdown=True):
    """The zoo table: every zoo model (shipped or not), ours / paper / bicubic Y-PSNR, size and cost.

    ``markdown=False``: plain text, with a first line saying what the numbers are.
    """
    from sr_zoo import recipes, text

    entries = available()
    header = ["Model", "Params", "GMACs / 1080p frame", "Set5", "Set14", "B100", "Trained", "Status"]
    rows = []
    for name, z in recipes.ZOO.items():
        e = entries.get(name)
        label = f"`{name}`" if markdown else name
        if e is None:
            paper = ["– / " + (f"{z.paper[b]:.2f}" if z.paper.get(b) else "–") + " / –" for b in BENCHMARKS]
            c = z.training_compute()
            todo = (f"not trained yet: the recipe is {c['steps'] // 1000}k steps of batch {c['batch_size']}, "
                    f"{c['flops']:.1e} FLOPs")
            rows.append([label, "", "", *paper, todo, ""])
            continue
        cells = []
        bold = "**" if markdown else ""
        for b in BENCHMARKS:
            ours = f"{bold}{e['measured'][b]['psnr']:.2f}{bold}"
            paper = e["paper"].get(b)
            cells.append(f"{ours} / {f'{paper:.2f}' if paper else '–'} / {e['measured']['bicubic'][b]['psnr']:.2f}")
        t = e.get("training", {})
        steps, run = t.get("steps"), t.get("steps_run", t.get("steps"))
        done = "" if not run or run >= t.get("steps_planned", run) else f" of {t['steps_planned'] // 1000}k"
        best = f" (best at {steps / 1000:g}k)" if steps and run and steps != run else ""
        wall = t.get("wall_seconds")
        # The README embeds the markdown table (tests/test_pretrained.py checks it is current): its hours
        # change only together with `--update_readme`.
        hours = "" if not wall else f", {wall / 3600:.1f} h" if markdown else f", {text.duration(wall)}"
        warm = ", warm start" if t.get("warm_start") else ""
        trained = (f"{t.get('data', '?')}, {f'{run / 1000:g}' if run else '?'}k{done} steps{best}{hours}{warm}, "
                   f"{t.get('device', '?')}")
        rows.append([label, f"{e['parameters']:,}", f"{e['gmacs_per_1080p_frame']:.1f}", *cells, trained, status(e)])
    if not markdown:
        x8 = " (x8: LR made by sr_zoo.imresize)" if any(z.scale == 8 for z in recipes.ZOO.values()) else ""
        about = (f"Set5 / Set14 / B100: Y-PSNR in dB as ours / paper / bicubic; crop = scale; MATLAB LR images{x8}. "
                 "GMACs for a 1920x1080 output frame.")
        return "\n".join([about, ""] + _aligned([header] + rows))
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 3 + [":---:"] * 3 + ["---"] * 2) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    lines.append(f"PSNR in dB, ours / paper / bicubic; {PROTOCOL} (x8: LR made by `sr_zoo.imresize`, bit-exact "
                 "with MATLAB's imresize; no MATLAB x8 files are at hand). GMACs for an output frame of 1920x1080.")
    return "\n".join(lines)


def _aligned(rows):
    """Plain-text table lines: each column padded to its widest cell."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def compute_table():
    """Per zoo model: how far from the paper, the training compute spent, and the paper's recipe's."""
    from sr_zoo import recipes

    entries = available()
    header = ["Model", "Status", "Steps run", "FLOPs spent", "Paper's recipe (steps x batch)", "Spent / paper's"]
    rows = []
    for name, z in recipes.ZOO.items():
        paper = z.training_compute(paper_recipe=True)
        recipe = f"{paper['steps']:,} x {paper['batch_size']}, {paper['flops']:.1e} FLOPs"
        e = entries.get(name)
        if e is None:
            rows.append([name, "not trained yet", "0", "0", recipe, "0"])
            continue
        t = e["training"]
        own, spent = spent_flops(name)
        lineage = t.get("lineage", [])
        missing = [stage.get("model") or stage.get("file") for stage in lineage if stage.get("flops") is None]
        if missing:  # a run behind the warm start is not on record: its FLOPs are not in the total
            warm = f" + runs not on record ({', '.join(missing)})"
        else:
            warm = f" (this run {own:.1e} + {len(lineage)} earlier run{'s' * (len(lineage) > 1)})" if lineage else ""
        rows.append([name, status(e), f"{t['steps_run']:,}", f"{spent:.1e}{warm}", recipe,
                     f"{spent / paper['flops']:.2g}"])
    lines = _aligned([header] + rows)
    lines.append("FLOPs: 3x the forward multiply-adds of each training batch "
                 "(sr_zoo.recipes.ZooModel.training_compute); "
                 "the paper's steps are sr_zoo.recipes' epochs x steps per epoch, an upper bound where the paper "
                 "stops early.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the figure

FIGURE_CROPS = (("set5", "butterfly", (96, 96)), ("set14", "zebra", (240, 330)))  # (benchmark, image, HR top-left)


def figure(out_path, names=None, crop=96, zoom=2, data_dir=None):
    """Writes a PNG comparing the same HR crops: one row per scale and image, bicubic, each model, HR.

    Returns ``(out_path, rows)``: per row, the crop's Y-PSNR (dB, crop only) of each column but HR.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    from sr_zoo import inference, metrics
    from sr_zoo.data import benchmarks

    names = list(names or available())
    scales = sorted({available()[n]["scale"] for n in names})
    models_by_scale = {s: [(n, load(n)) for n in names if available()[n]["scale"] == s] for s in scales}
    width = 2 + max(len(m) for m in models_by_scale.values())  # bicubic, the models, HR
    label_h, tile = 28, crop * zoom
    rows = [(s, c) for s in scales for c in FIGURE_CROPS]
    sheet = Image.new("RGB", (tile * width, (tile + label_h) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    scores = []
    for r, (scale, (benchmark, image, (top, left))) in enumerate(rows):
        pair = next(p for p in benchmarks.load_pairs(benchmark, scale, data_dir) if p.name == image)
        columns = [(f"bicubic x{scale}", benchmarks.bicubic(pair.lr, scale))]
        columns += [(n, inference.upscale(m, pair.lr, precision="float32")) for n, m in models_by_scale[scale]]
        columns.append((f"HR ({benchmark} {image})", pair.hr))
        y0 = r * (tile + label_h)
        hr = np.atleast_3d(pair.hr)[top: top + crop, left: left + crop]
        row_scores = []
        for col, (label, out) in enumerate(columns):
            patch = np.atleast_3d(out)[top: top + crop, left: left + crop]
            caption = label
            if col < len(columns) - 1:
                row_scores.append((label, metrics.psnr(hr, patch, crop_border=0)))
                caption += f"\n{row_scores[-1][1]:.2f} dB"
            patch = np.repeat(patch, 3, axis=-1) if patch.shape[-1] == 1 else patch
            sheet.paste(Image.fromarray(patch).resize((tile, tile), Image.NEAREST), (col * tile, y0 + label_h))
            draw.multiline_text((col * tile + 3, y0 + 1), caption, fill="black", spacing=1)
        scores.append((scale, benchmark, image, row_scores))
    pathlib.Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_path)
    return out_path, scores


README_START = "<!-- zoo-table:start"
README_END = "<!-- zoo-table:end -->"
README_COMPUTE_START = "<!-- zoo-compute:start"
README_COMPUTE_END = "<!-- zoo-compute:end -->"


def _replace_block(text, start_marker, end_marker, body, readme):
    if start_marker not in text or end_marker not in text:
        raise ValueError(f"{readme}: no markers {start_marker} ... {end_marker}")
    start = text.index("\n", text.index(start_marker)) + 1
    return text[:start] + body + "\n" + text[text.index(end_marker):]


def update_readme(readme):
    """Writes :func:`table` and :func:`compute_table` between the README's zoo-table and zoo-compute markers."""
    readme = pathlib.Path(readme)
    text = _replace_block(readme.read_text(), README_START, README_END, table(markdown=True), readme)
    text = _replace_block(text, README_COMPUTE_START, README_COMPUTE_END, f"```text\n{compute_table()}\n```", readme)
    readme.write_text(text)
    return readme


def main(argv=None):
    from sr_zoo import cli

    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in cli.HELP_FLAGS for a in argv):
        print(__doc__.strip())
        return 0
    with cli.one_line_errors("python -m sr_zoo.pretrained"):
        if not argv or argv == ["--markdown"]:
            print(table(markdown=bool(argv)))
        elif argv == ["--compute"]:
            print(compute_table())
        elif argv[0] == "publish" and len(argv) in (3, 4) and argv[3:] in ([], ["--allow_worse"]):
            entry = publish(argv[1], argv[2], allow_worse=len(argv) == 4)
            print(f"published {argv[1]}: Set5 {entry['measured']['set5']['psnr']:.2f} dB ({status(entry)})")
        elif argv[0] == "--update_readme" and len(argv) <= 2:
            from sr_zoo import paths

            print(f"updated {update_readme(argv[1] if len(argv) == 2 else paths.PROJECT_ROOT / 'README.md')}")
        elif argv[0] == "figure" and len(argv) == 2:
            out, _ = figure(argv[1])
            print(f"wrote {out}")
        else:
            raise cli.FlagError(f"unexpected arguments: {' '.join(argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The zoo as tables: every zoo model's numbers (ours / paper / bicubic), size and cost; the training
compute spent beside the paper recipe's."""

from sr_zoo import pretrained
from sr_zoo.zoo_tools.record import spent_flops


def status(entry):
    """``'meets the paper'`` or the largest gap below the paper's numbers, in dB."""
    gaps = [entry["paper"][b] - entry["measured"][b]["psnr"] for b in pretrained.BENCHMARKS
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

    entries = pretrained.available()
    header = ["Model", "Params", "GMACs / 1080p frame", "Set5", "Set14", "B100", "Trained", "Status"]
    rows = []
    for name, z in recipes.ZOO.items():
        e = entries.get(name)
        label = f"`{name}`" if markdown else name
        if e is None:
            paper = ["– / " + (f"{z.paper[b]:.2f}" if z.paper.get(b) else "–") + " / –"
                     for b in pretrained.BENCHMARKS]
            c = z.training_compute()
            todo = (f"not trained yet: the recipe is {c['steps'] // 1000}k steps of batch {c['batch_size']}, "
                    f"{c['flops']:.1e} FLOPs")
            rows.append([label, "", "", *paper, todo, ""])
            continue
        cells = []
        bold = "**" if markdown else ""
        for b in pretrained.BENCHMARKS:
            ours = f"{bold}{e['measured'][b]['psnr']:.2f}{bold}"
            paper = e["paper"].get(b)
            cells.append(f"{ours} / {f'{paper:.2f}' if paper else '–'} / {e['measured']['bicubic'][b]['psnr']:.2f}")
        t = e.get("training", {})
        steps, run = t.get("steps"), t.get("steps_run", t.get("steps"))
        done = "" if not run or run >= t.get("steps_planned", run) else f" of {t['steps_planned'] // 1000}k"
        best = f" (best at {steps / 1000:g}k)" if steps and run and steps != run else ""
        wall = t.get("wall_seconds")
        # The README embeds the markdown table (tests/test_pretrained.py checks it is current, so it changes
        # with `--update_readme`); a duration reads as one ("50m 10s", "3h 20m"), never "0.0 h".
        hours = f", {text.duration(wall)}" if wall else ""
        warm = ", warm start" if t.get("warm_start") else ""
        precision = t.get("precision", "float32").split()[0]  # runs from before precision was recorded: float32
        trained = (f"{t.get('data', '?')}, {f'{run / 1000:g}' if run else '?'}k{done} steps{best}{hours}{warm}, "
                   f"{t.get('device', '?')}, {precision}")
        rows.append([label, f"{e['parameters']:,}", f"{e['gmacs_per_1080p_frame']:.1f}", *cells, trained, status(e)])
    if not markdown:
        x8 = " (x8: LR made by sr_zoo.imresize)" if any(z.scale == 8 for z in recipes.ZOO.values()) else ""
        about = (f"Set5 / Set14 / B100: Y-PSNR in dB as ours / paper / bicubic; crop = scale; MATLAB LR images{x8}. "
                 "GMACs for a 1920x1080 output frame.")
        return "\n".join([about, ""] + _aligned([header] + rows))
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 3 + [":---:"] * 3 + ["---"] * 2) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    lines.append(f"PSNR in dB, ours / paper / bicubic; {pretrained.PROTOCOL} "
                 "(x8: LR made by `sr_zoo.imresize`, bit-exact "
                 "with MATLAB's imresize; no MATLAB x8 files are at hand). GMACs for an output frame of 1920x1080.")
    return "\n".join(lines)


def _aligned(rows):
    """Plain-text table lines: each column padded to its widest cell."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def compute_table():
    """Per zoo model: how far from the paper, the training compute spent, and the paper's recipe's."""
    from sr_zoo import recipes

    entries = pretrained.available()
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


#: How an int8 network differs from its float model, by the text of its fine-tune's command (one train.py run,
#: as the manifest records it) that makes the change; a float stage first shows in its warm start.
_INT8_CHANGES = {"--split_prelu": "PReLU as fused ReLU halves", "--split_tanh": "tanh as two clipped pieces",
                 "first_activation=hard_tanh": "the first one as a clip",
                 ".float/best.keras": "after a float stage"}


def int8_table():
    """Per light model with an int8 recipe: the shipped quantization-aware int8 file's Y-PSNR beside the float
    model's (Set5 / Set14 / B100, measured in LiteRT by ``publish_int8``), or what the export falls back to."""
    from sr_zoo import recipes
    from sr_zoo.zoo_tools.int8 import MAX_DROP

    entries = pretrained.available()
    lines = ["| Model | Set5 float / int8 (drop) | Set14 float / int8 (drop) | B100 float / int8 (drop) | int8 weights |",
             "|---|:---:|:---:|:---:|---|"]
    for name in recipes.INT8:
        record = entries.get(name, {}).get("int8")
        if record is None:
            lines.append(f"| `{name}` | – | – | – | none yet: `--quantize=int8` calibrates the float weights |")
            continue
        m = record["measured"]
        cells = [f"{m[b]['float']:.2f} / {m[b]['int8']:.2f} ({m[b]['drop']:.3f})" if b in m else "–"
                 for b in pretrained.BENCHMARKS]
        steps = record["training"].get("steps_run")
        trained = f", {steps // 1000}k quantization-aware steps" if steps else ""
        command = record["training"]["command"]
        changes = [text for flag, text in _INT8_CHANGES.items() if flag in command]
        trained += f" ({'; '.join(changes)})" if changes else ""
        lines.append(f"| `{name}` | {' | '.join(cells)} | `{record['file']}`{trained} |")
    lines.append("")
    lines.append(f"Y-PSNR in dB of the int8 TFLite file (uint8 RGB in and out) in LiteRT against the float model "
                 f"through `sr_zoo.upscale`; {pretrained.PROTOCOL}. A file ships when its Set5 drop is at most "
                 f"{MAX_DROP} dB. A negative drop: the int8 network scores above the float model (its fine-tune "
                 f"trained it further, and a split PReLU's halves no longer share weights).")
    return "\n".join(lines)


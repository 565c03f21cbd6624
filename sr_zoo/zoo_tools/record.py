"""The training record of a shipped model (what publish writes into its manifest entry) and its compute:
the run's command, device, steps, wall time, lineage of warm starts, FLOPs spent beside the paper recipe's."""

import dataclasses
import json
import os
import pathlib

from sr_zoo import pretrained


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
        # as the training machine resolved it (older run folders: resolved again here)
        "precision": run_config.get("computed_in") or _precision_label(run_config.get("model"),
                                                                       run_config.get("precision", "float32")),
        "wall_seconds": state.get("train_seconds"),  # the whole run so far (steps_run)
        "warm_start": run_config.get("warm_start"),
        # a shipped model warm-started from its own earlier version: name which one
        "warm_start_sha256": pretrained.manifest().get(run_config.get("warm_start") or "", {}).get("sha256"),
        # the runs behind the warm start, newest first: together with this run, the model's whole training
        "lineage": _lineage(run_config.get("warm_start")),
        "flops": zoo_model.training_compute()["flops_per_step"] * int(state["global_step"]),  # this run's, estimated
        "validation_curve": {"benchmark": "set5", "epoch_psnr": curve},
        "changes_from_paper": zoo_model.changes,
    }


def _precision_label(model_name, precision):
    from sr_zoo.models import precision as model_precision

    return model_precision.training_precision(model_name, precision)[1]


def _lineage(warm_start):
    """The training runs behind a warm start from a shipped model, newest first (``[]`` for none)."""
    from sr_zoo import recipes

    entry = pretrained.manifest().get(warm_start or "")
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

    zoo_model, training = recipes.zoo(name), pretrained.available()[name]["training"]
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

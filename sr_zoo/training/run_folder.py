"""The run folder: its last checkpoint (resume), the run config that a resumption must match, ``--restart``
and ``--warm_start``."""

import json
import pathlib

from sr_zoo import pretrained
from sr_zoo.training.common import BEST_MODEL, CHECKPOINT_DIR, LATEST, RUN_CONFIG, TrainingError
from sr_zoo.training.saving import _write_atomically


def read_latest_checkpoint(output_dir):
    """The state dict of the last complete checkpoint in ``output_dir``, or ``None``."""
    pointer = pathlib.Path(output_dir) / CHECKPOINT_DIR / LATEST
    if not pointer.exists():
        return None
    state = json.loads(pointer.read_text())
    weights = pointer.parent / state["weights"]
    if not weights.exists():
        raise TrainingError(f"checkpoint {pointer} names {weights}, which is missing")
    state["weights_path"] = str(weights)
    return state

#: Settings that may differ when a run is resumed: more epochs only extend it; the precision is of the compute only.
RESUMABLE_CHANGES = ("epochs", "precision", "computed_in")

def check_run_config(output_dir, run_config, write=True):
    """Resumes only the same run: a folder holding a run with other settings is refused, naming them.

    ``run_config`` (the recipe's fields, seed and warm start) is recorded in ``run_config.json``;
    only the number of epochs may change between a run and its resumption.
    """
    path = pathlib.Path(output_dir) / RUN_CONFIG
    current = json.loads(json.dumps(run_config, default=list))
    if path.exists() and read_latest_checkpoint(output_dir) is not None:
        previous = json.loads(path.read_text())
        differing = [k for k in sorted(previous)  # keys a run folder lacks (older versions) are not compared
                     if k not in RESUMABLE_CHANGES and k != "source" and previous[k] != current.get(k)]
        if differing:
            changes = ", ".join(f"{k}={previous.get(k)!r} there, {current.get(k)!r} now" for k in differing)
            raise TrainingError(
                f"{output_dir} holds another run ({changes}); resume it with the same settings, choose a new "
                f"--output_dir, or pass --restart to start over in that folder"
            )
    if write:
        _write_atomically(path, json.dumps(current, indent=1))

def clear_run(output_dir):
    """Deletes a run folder's checkpoints, best model and run config (``--restart``)."""
    import shutil

    output_dir = pathlib.Path(output_dir)
    shutil.rmtree(output_dir / CHECKPOINT_DIR, ignore_errors=True)
    for name in (BEST_MODEL, "best.json", "final.keras", RUN_CONFIG):
        (output_dir / name).unlink(missing_ok=True)

def _warm_start(model, spec, split_prelu=False, split_tanh=False):
    """Copies the weights of a ``.keras`` file or pretrained model into ``model`` where they carry over.

    The same network at another scale transfers everything but its upsampler (see
    :func:`sr_zoo.models.transfer_weights`); the layers that start fresh are printed. ``split_prelu``,
    ``split_tanh``: a source with PReLUs or tanh is split first (:mod:`sr_zoo.models.activation_split`), where
    ``model`` was.
    """
    from sr_zoo import models

    source, label = pretrained.load_model(str(spec))
    source = models.split_activations(source, prelu=split_prelu, tanh=split_tanh, like=model)
    try:
        copied, fresh = models.transfer_weights(model, source)
    except ValueError as e:
        raise ValueError(f"--warm_start {spec}: {e}") from None
    print(f"Warm start from {label}: {len(copied)} of {len(copied) + len(fresh)} layers copied"
          + (f"; initialised afresh: {', '.join(fresh)}" if fresh else ""))

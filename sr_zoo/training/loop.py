"""The run: :func:`train` builds the model, optimizer and callbacks of a recipe, resumes or warm-starts, and fits."""

import dataclasses
import itertools
import json
import os
import pathlib

import keras

from sr_zoo import losses, models
from sr_zoo import precision as precision_lib
from sr_zoo.models import precision as model_precision
from sr_zoo.data import benchmarks
from sr_zoo.errors import UsageError
from sr_zoo.training.callbacks import (Checkpointer, LearningRateLogger, NonFiniteLossGuard, RangeFreeze,
                                       RunTimeEstimate, Validation, _set_state)
from sr_zoo.training.common import BEST_MODEL, TrainingError, _has_gpu, _tf, tensorflow_backend
from sr_zoo.training.optimizers import current_learning_rate, make_optimizer
from sr_zoo.training.run_folder import _warm_start, check_run_config, clear_run, read_latest_checkpoint
from sr_zoo.training.saving import save_inference_model
from sr_zoo.training.sources import (check_folder_recipe, check_recipe, check_sources, training_data,
                                     validation_pairs)
from sr_zoo.training.strategies import (DataParallelStrategy, _adapt_to_multi_worker, _ProcessShard, is_chief,
                                        make_strategy)


@dataclasses.dataclass
class TrainResult:
    best_model_path: str
    best_psnr: float
    bicubic_psnr: float
    global_step: int
    history: dict
    validation: str

def train(recipe, output_dir, **kwargs):
    previous = keras.config.dtype_policy()
    previous_distribution = keras.distribution.distribution()
    remapping = _grappler_remapping(recipe)
    try:
        return _train(recipe, output_dir, **kwargs)
    finally:  # the precision is this run's: the process goes on in the policy it had
        keras.config.set_dtype_policy(previous)
        keras.distribution.set_distribution(previous_distribution)  # and in its distribution (data_parallel)
        if remapping is not None:
            _tf().config.optimizer.set_experimental_options({"remapping": remapping})


def _grappler_remapping(recipe):
    """Turns Grappler's remapper off for LapSRN's run under TensorFlow; returns the setting to restore.

    On the gradient of LeakyReLU the remapper fails ("remapper failed: ... LeakyReluGrad exist for missing
    node", an E0000 line at every trace) and then skips the whole graph anyway, so turning it off costs
    LapSRN nothing and keeps its training output clean. Other models keep the remapper's fusions.
    """
    if recipe.model != "lapsrn" or not tensorflow_backend():
        return None
    options = _tf().config.optimizer
    previous = options.get_experimental_options().get("remapping", True)
    options.set_experimental_options({"remapping": False})
    return previous

def _train(recipe, output_dir, *, seed=0, validation="set5", validation_dir=None, tfds_data_dir=None,
          strategy="default", tpu=None, precision=None, mixed_precision=False, jit_compile=False,
          steps_per_execution=1, checkpoint_every=500, verbose=1, dataset_options=None, warm_start=None,
          restart=False, dry_run=False):
    """Trains ``recipe`` into ``output_dir`` (resuming from its last checkpoint); returns :class:`TrainResult`.

    Args:
      recipe: a :class:`sr_zoo.recipes.Recipe`.
      output_dir: run folder: ``best.keras``, ``checkpoints/``, ``tensorboard/``, ``run_config.json``.
      seed: seeds weights and the data stream (a resumed run continues with ``seed + step``).
      validation: benchmark validated on after each epoch (``'set5'``), or ``None``.
      validation_dir: folder with the benchmark (``../shared/data`` layout; default: found automatically).
      tfds_data_dir: where built TFDS datasets live.
      strategy: ``'default'``; under TensorFlow ``'mirrored'``, ``'multi_worker'`` or ``'tpu'``
        (``tf.distribute``); under JAX ``'data_parallel'`` (``keras.distribution.DataParallel`` over
        every device, multi-host with the ``KERAS_DISTRIBUTION_*`` variables), set for the whole run
        and restored afterwards. ``recipe.batch_size`` is the global batch, split across replicas.
      precision: ``'auto'``, ``'float32'``, ``'bfloat16'`` or ``'float16'`` compute, variables always
        float32 (see :mod:`sr_zoo.precision`; ``'auto'`` per architecture:
        :func:`sr_zoo.models.precision.training_precision`); default: the recipe's (``'auto'``).
      mixed_precision: the older switch, kept as an alias: float16 (TF on a GPU) / bfloat16 compute.
      jit_compile: compile the train step with XLA.
      steps_per_execution: training steps per call into the compiled graph (Keras' ``steps_per_execution``):
        less Python between steps, which small models (ESPCN) feel. It must divide
        ``recipe.steps_per_epoch``; the callbacks (NaN check, checkpoints, progress bar) then run once per
        execution, so a NaN is reported within its execution's steps and a checkpoint lands at the first
        execution end at or past each multiple of ``checkpoint_every``. Not under the torch backend.
      checkpoint_every: steps between checkpoints (each epoch end also writes one).
      dataset_options: extra keyword arguments for :func:`sr_zoo.data.train_dataset`.
      warm_start: a ``.keras`` file or pretrained name whose weights start a new run (ignored when
        resuming from a checkpoint); recorded in ``run_config.json``.
      restart: start over in ``output_dir``, deleting its checkpoints and best model, instead of
        refusing a folder that holds a run with other settings.
      dry_run: check the recipe, model, data sources, warm start and run folder, then return ``None``
        without writing anything.
    """
    output_dir = pathlib.Path(output_dir)
    check_steps_per_execution(steps_per_execution, recipe)
    dist = make_strategy(strategy, tpu)
    if isinstance(dist, DataParallelStrategy):  # for the whole run: train() restores the previous distribution
        keras.distribution.set_distribution(dist.distribution)
        chief, worker = dist.process_id == 0, dist.process_id
    else:
        chief = is_chief()
        worker = None if chief else json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    if not chief:  # other workers keep their own files (checkpoints, final model) apart from the chief's
        output_dir = output_dir / f"worker-{worker}"
    processes = f", {dist.num_processes} processes" if getattr(dist, "num_processes", 1) > 1 else ""
    print(f"Strategy: {strategy} ({dist.num_replicas_in_sync} replicas{processes})")
    if precision is None:
        precision = "bfloat16" if mixed_precision and not (_has_gpu() and tensorflow_backend()) else (
            "float16" if mixed_precision else recipe.precision)
    compute, described = model_precision.training_precision(recipe.model, precision)
    # The global policy too: Keras adds loss scaling under mixed_float16, and layers made later follow it.
    keras.mixed_precision.set_global_policy(precision_lib.policy(compute))
    print(f"Precision: {described}; variables, checkpoints and best.keras in float32")
    keras.utils.set_random_seed(seed)

    def build():
        model = models.get(recipe.model, scale=recipe.scale, channels=recipe.channels, preset=recipe.preset,
                           **recipe.model_config)
        if recipe.split_prelu:
            model = models.split_prelu(model)
        if recipe.split_tanh:
            model = models.split_tanh(model)
        # a warm start's or checkpoint's weights fill the copy; its learnt ranges start from the first batch
        return models.quantization_aware(model) if recipe.quantization_aware else model

    with dist.scope():
        model = models.with_precision(build(), compute)  # the image path stays float32 (sr_zoo.models.precision)
        check_recipe(recipe, model, dist.num_replicas_in_sync)
        check_sources(recipe.datasets, tfds_data_dir)
        if not tensorflow_backend():
            check_folder_recipe(recipe)
        optimizer = compile_model(model, recipe, jit_compile=jit_compile, steps_per_execution=steps_per_execution)

    run_config = {**dataclasses.asdict(recipe), "seed": seed, "warm_start": str(warm_start) if warm_start else None,
                  "computed_in": described}  # what "auto" resolved to on the machine that trains
    if dry_run:
        if not restart:
            check_run_config(output_dir, run_config, write=False)
        if warm_start:
            _warm_start(model, warm_start, split_prelu=recipe.split_prelu, split_tanh=recipe.split_tanh)
        if validation and validation in benchmarks.BENCHMARK_FOLDERS:
            benchmarks.load_pairs(validation, recipe.scale, validation_dir, tfds_data_dir)
        total = recipe.epochs * recipe.steps_per_epoch
        print(f"Dry run: recipe, model ({model.count_params():,} parameters), data sources and {output_dir} are fine; "
              f"would train {total:,} steps")
        return None
    if restart:
        clear_run(output_dir)
    check_run_config(output_dir, run_config, write=False)
    state = read_latest_checkpoint(output_dir)
    if state is None and warm_start:  # before anything is written: a bad --warm_start leaves no folder
        _warm_start(model, warm_start, split_prelu=recipe.split_prelu, split_tanh=recipe.split_tanh)
    output_dir.mkdir(parents=True, exist_ok=True)
    check_run_config(output_dir, run_config)
    start_step = 0
    if state is not None:
        model.load_weights(state["weights_path"])
        start_step = int(state["global_step"])
        print(f"Resuming from {state['weights_path']} at step {start_step} "
              f"(epoch {state['epoch']} + {state['step_in_epoch']} steps, lr {current_learning_rate(optimizer):.3g})")
    if start_step >= recipe.epochs * recipe.steps_per_epoch:
        print(f"{output_dir} already finished {start_step} steps")

    ds = training_data(recipe, seed + start_step, tfds_data_dir, dataset_options)
    # the run's first batches, drawn once, for what measures on them (channel equalization, the range freeze)
    first_batches = _first_batches(ds, max(_EQUALIZE_BATCHES if state is None and recipe.equalize_channels else 0,
                                           _FREEZE_BATCHES if recipe.freeze_ranges else 0))
    if state is None and recipe.equalize_channels:  # a resumed run's checkpoint holds the equalized weights
        _equalize(model, [batch[0] for batch in first_batches[:_EQUALIZE_BATCHES]])
    if getattr(dist, "num_processes", 1) > 1:  # data_parallel across processes: each feeds its slice
        ds = _ProcessShard(ds, dist.process_id, dist.num_processes)

    guard = NonFiniteLossGuard()
    total_steps = recipe.epochs * recipe.steps_per_epoch
    callbacks = [guard, LearningRateLogger(), RunTimeEstimate(start_step, total_steps)]
    if recipe.freeze_ranges:
        freeze_at = max(1, round(recipe.freeze_ranges * total_steps))
        callbacks.append(RangeFreeze(first_batches[:_FREEZE_BATCHES], freeze_at, initial_step=start_step))
    stateful = {}
    summaries = chief and tensorflow_backend()
    writer = _tf().summary.create_file_writer(str(output_dir / "tensorboard" / "validation")) if summaries else None
    val = None
    if validation:
        pairs = validation_pairs(validation, recipe.scale, validation_dir, tfds_data_dir)
        val = Validation(pairs, recipe.scale, output_dir, writer=writer, label=validation,
                         build_inference_model=build)
        callbacks.append(val)
        stateful["validation"] = val
        if recipe.lr_schedule == "plateau":
            plateau = keras.callbacks.ReduceLROnPlateau(
                monitor="val_psnr", mode="max", factor=recipe.lr_decay_factor, patience=10, min_delta=0.01,
                min_lr=recipe.min_learning_rate, verbose=verbose,
            )
            callbacks.append(plateau)
            stateful["plateau"] = plateau
        if recipe.early_stopping_patience:
            stop = keras.callbacks.EarlyStopping(monitor="val_psnr", mode="max", patience=recipe.early_stopping_patience,
                                                 verbose=verbose)
            callbacks.append(stop)
            stateful["early_stopping"] = stop
    if state is not None:
        for name, obj in stateful.items():
            if name in state.get("callbacks", {}):
                _set_state(obj, state["callbacks"][name])
    checkpointer = Checkpointer(output_dir, every_steps=checkpoint_every, steps_per_epoch=recipe.steps_per_epoch,
                                guard=guard, stateful=stateful, initial_step=start_step,
                                train_seconds=(state or {}).get("train_seconds", 0.0))
    callbacks.append(checkpointer)
    if summaries:
        callbacks.append(keras.callbacks.TensorBoard(str(output_dir / "tensorboard"), update_freq="epoch"))

    if tensorflow_backend() and isinstance(dist, _tf().distribute.MultiWorkerMirroredStrategy):
        _adapt_to_multi_worker(model)

    guard.global_step = start_step
    history = {}
    epoch, step_in_epoch = divmod(start_step, recipe.steps_per_epoch)
    if start_step < total_steps:
        with dist.scope():
            if step_in_epoch:  # finish the interrupted epoch first, then continue epoch by epoch
                left = recipe.steps_per_epoch - step_in_epoch
                if left % steps_per_execution:  # a checkpoint of a run at another rate: one step per call,
                    _set_steps_per_execution(model, 1)  # or Keras would run past the epoch's end
                    print(f"Resuming {step_in_epoch} steps into the epoch, not a multiple of steps_per_execution="
                          f"{steps_per_execution}: the rest of this epoch runs one step per execution")
                h = model.fit(ds, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=left,
                              callbacks=callbacks, verbose=verbose, shuffle=False)
                _set_steps_per_execution(model, steps_per_execution)
                _merge(history, h.history)
                epoch += 1
            if epoch < recipe.epochs and not model.stop_training and guard.bad_step is None:
                h = model.fit(ds, initial_epoch=epoch, epochs=recipe.epochs, steps_per_epoch=recipe.steps_per_epoch,
                              callbacks=callbacks, verbose=verbose, shuffle=False)
                _merge(history, h.history)
    if writer is not None:
        writer.close()
    if guard.bad_step is not None:
        last = read_latest_checkpoint(output_dir)
        kept = f"the last good checkpoint is {last['weights_path']} (step {last['global_step']})" if last else "no checkpoint was written yet"
        where = (f"at step {guard.bad_step}" if guard.first_bad_step in (None, guard.bad_step) else
                 f"in steps {guard.first_bad_step}-{guard.bad_step} (one execution of {steps_per_execution} steps)")
        raise TrainingError(
            f"loss became NaN/Inf {where}; training stopped and {kept}. "
            f"Lower the learning rate (now {recipe.learning_rate:g}) or check the data."
        )
    best_path = output_dir / BEST_MODEL
    if val is None or not best_path.exists():
        save_inference_model(model, output_dir / "final.keras", build=build)
        best_path = output_dir / "final.keras"
    best_info = json.loads((output_dir / "best.json").read_text()) if (output_dir / "best.json").exists() else {}
    return TrainResult(
        best_model_path=str(best_path),
        best_psnr=best_info.get("psnr", float("nan")),
        bicubic_psnr=val.bicubic_psnr if val else float("nan"),
        global_step=checkpointer.global_step,
        history=history,
        validation=validation or "",
    )

train.__doc__ = _train.__doc__

_EQUALIZE_BATCHES, _FREEZE_BATCHES = 8, 16  # LR batches channel equalization probes; LR/HR batches the freeze scores


def _first_batches(ds, count):
    """The run's first ``count`` ``(lr, hr)`` batches as arrays (none: no iterator, whose prefetch would start)."""
    if not count:
        return []
    return [tuple(keras.ops.convert_to_numpy(t) for t in batch[:2]) for batch in itertools.islice(iter(ds), count)]


def _equalize(model, lr):
    """Channel equalization (:func:`sr_zoo.models.equalize_channels`) on the run's first LR batches."""
    scales = models.equalize_channels(model, lr)
    widest = ", ".join(f"{name} {float(s.max()):.1f}x" for name, s in scales.items())
    print(f"Channel equalization on {len(lr)} batches, the narrowest channel scaled up by: {widest or 'no chain'}")


def check_steps_per_execution(steps_per_execution, recipe):
    """Refuses a ``steps_per_execution`` that cannot train ``recipe`` exactly (a one-line ``UsageError``)."""
    n = steps_per_execution
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"steps_per_execution must be a positive integer, got {n!r}")
    if n > 1 and keras.backend.backend() == "torch":
        raise UsageError(f"steps_per_execution={n} needs KERAS_BACKEND=tensorflow or jax (Keras runs one step per "
                         f"call under torch); use 1")
    if recipe.steps_per_epoch % n:
        raise UsageError(f"steps_per_execution={n} must divide steps_per_epoch={recipe.steps_per_epoch} (Keras would "
                         f"run whole executions past the epoch's end)")

def compile_model(model, recipe, *, jit_compile=False, steps_per_execution=1):
    """Compiles ``model`` for ``recipe`` as :func:`train` does; returns the (built) optimizer.

    The recipe's optimizer and schedule, its loss on every output (LapSRN's pyramid levels), XLA or not
    (under JAX ``jit_compile=False`` still means XLA: eager JAX is far slower; under TF and torch XLA is
    opt-in) and ``steps_per_execution`` steps per call into the compiled graph.
    """
    optimizer = make_optimizer(recipe, model)
    num_outputs = len(model.outputs)
    loss = [losses.get(recipe.loss) for _ in range(num_outputs)] if num_outputs > 1 else losses.get(recipe.loss)
    model.compile(optimizer=optimizer, loss=loss, steps_per_execution=steps_per_execution,
                  jit_compile=bool(jit_compile) if tensorflow_backend() or jit_compile else "auto")
    optimizer.build(model.trainable_variables)
    return optimizer

def _set_steps_per_execution(model, n):
    """Changes a compiled model's steps per execution; the next ``fit`` traces its train function again."""
    if model.steps_per_execution != n:
        model.steps_per_execution = n
        model.train_function = None

def _merge(history, new):
    for k, v in new.items():
        history.setdefault(k, []).extend(v)

"""Training library behind ``train.py``: recipes in, a validated ``.keras`` model out.

What it adds to ``model.fit``:

* the paper's recipe (:mod:`sr_zoo.recipes`): loss, optimizer, schedule, a 10x
  slower reconstruction layer, LapSRN's loss on every pyramid level;
* validation on Set5 after every epoch (Y-PSNR, crop = scale, the protocol of
  :mod:`sr_zoo.metrics`); the best model is kept as ``best.keras``;
* checkpoints written atomically every ``checkpoint_every`` steps: a run that
  is killed (SIGKILL included) resumes from the last one with its optimizer
  state, step, learning-rate schedule and callback state;
* a NaN or Inf loss stops training and keeps the last good checkpoint;
* mixed precision and the backend's compilation (XLA under JAX, ``jit_compile`` under TF);
* every Keras backend: under JAX or PyTorch (TensorFlow not needed) the data
  come from image folders through :class:`sr_zoo.data.FolderPairs`; the
  TensorFlow-only parts (``tf.distribute`` strategies, TFDS sources, the
  tf.data pipeline, TensorBoard summaries) are used only under
  ``KERAS_BACKEND=tensorflow``;
* several devices: ``tf.distribute`` strategies under TensorFlow (``mirrored``,
  ``multi_worker``, ``tpu``), Keras' ``keras.distribution.DataParallel`` under JAX
  (``data_parallel``, every device of every process; multi-host through
  ``keras.distribution.initialize`` and its ``KERAS_DISTRIBUTION_*`` variables).

Example:

>>> recipe = sr_zoo.recipes.get("espcn", scale=3).replace(epochs=2, steps_per_epoch=50, datasets=("sample_images",))
>>> result = sr_zoo.training.train(recipe, "runs/espcn_x3")
>>> result.best_model_path, result.best_psnr, result.bicubic_psnr
"""

import dataclasses
import json
import math
import os
import pathlib
import time

import contextlib

import keras
import numpy as np

from sr_zoo import losses, metrics, models, pretrained
from sr_zoo.data import benchmarks
from sr_zoo import precision as precision_lib
from sr_zoo.errors import ToolFailure

CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.json"
BEST_MODEL = "best.keras"
RUN_CONFIG = "run_config.json"
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu", "data_parallel")
#: The environment variables of ``keras.distribution.initialize`` (multi-host data_parallel under JAX).
DISTRIBUTION_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                    "KERAS_DISTRIBUTION_PROCESS_ID")


class TrainingError(RuntimeError, ToolFailure):
    """Training stopped for a reason the user must see (NaN loss, inconsistent resume, ...).

    The tools report it as ``training stopped: <message>``, exit 1 (:class:`sr_zoo.errors.ToolFailure`).
    """

    prefix = "training stopped: "


# ----------------------------------------------------------------------------- backends


def tensorflow_backend():
    """True under ``KERAS_BACKEND=tensorflow``: the tf.data / tf.distribute / tf.summary edges are used only then."""
    return keras.backend.backend() == "tensorflow"


def _tf():
    import tensorflow as tf  # only reached under the TensorFlow backend

    return tf


def _has_gpu():
    """Whether the backend computes on a GPU."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return bool(_tf().config.list_logical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


class _SingleDevice:
    """The default "strategy" of the JAX and PyTorch backends: one process, the backend's default device."""

    num_replicas_in_sync = 1
    num_processes = 1
    process_id = 0

    def scope(self):
        return contextlib.nullcontext()


class DataParallelStrategy:
    """``--strategy=data_parallel`` under JAX: ``keras.distribution.DataParallel`` over every device.

    The variables are replicated on all devices (of all processes) and each global batch is split
    along its first axis, one slice per device; gradients are averaged by XLA, so a step is the
    single-device step on the whole batch. ``distribution`` is the Keras object; :func:`train` sets
    it for the whole run and restores the previous one afterwards.
    """

    def __init__(self, distribution):
        self.distribution = distribution
        self.num_replicas_in_sync = int(distribution.device_mesh.devices.size)
        self.num_processes = int(distribution.num_processes)
        self.process_id = int(distribution._process_id)

    def scope(self):
        return self.distribution.scope()


_distribution_initialized = False


def _initialize_multi_host():
    """``keras.distribution.initialize()`` from its environment variables, once per process, when any is set."""
    global _distribution_initialized
    given = {k: os.environ[k] for k in DISTRIBUTION_ENV if os.environ.get(k)}
    if not given or _distribution_initialized:
        return
    try:
        keras.distribution.initialize()
    except Exception as e:  # a wrong address, an unreachable coordinator, JAX already started, ...
        settings = ", ".join(f"{k}={v}" for k, v in given.items())
        raise TrainingError(f"keras.distribution.initialize() failed with {settings}: "
                            f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from e
    _distribution_initialized = True


# ----------------------------------------------------------------------------- optimizers


def _layer_of(variable):
    """Layer name of a variable: the path component before the variable's own name."""
    parts = variable.path.split("/")
    return parts[-2] if len(parts) >= 2 else ""


@keras.saving.register_keras_serializable(package="sr_zoo")
class LayerwiseSGD(keras.optimizers.SGD):
    """SGD whose learning rate is multiplied per layer (e.g. 0.1 for SRCNN's last layer).

    For SGD, with or without momentum, scaling a layer's gradients is exactly
    scaling its learning rate, which is what the papers' Caffe solvers did
    with ``lr_mult``.

    >>> opt = LayerwiseSGD(learning_rate=1e-3, momentum=0.9, lr_multipliers={"reconstruction": 0.1})
    """

    def __init__(self, lr_multipliers=None, **kwargs):
        super().__init__(**kwargs)
        self.lr_multipliers = {str(k): float(v) for k, v in (lr_multipliers or {}).items()}

    def apply(self, grads, trainable_variables=None):
        variables = trainable_variables if trainable_variables is not None else self._trainable_variables
        if self.lr_multipliers:
            grads = [
                g if g is None else g * self.lr_multipliers.get(_layer_of(v), 1.0)
                for g, v in zip(grads, variables)
            ]
        return super().apply(grads, trainable_variables)

    def get_config(self):
        config = super().get_config()
        config["lr_multipliers"] = dict(self.lr_multipliers)
        return config


def make_optimizer(recipe, model):
    """The recipe's optimizer with its learning-rate schedule."""
    lr = recipe.learning_rate
    warmup = recipe.warmup_steps or 0
    if warmup and recipe.lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"warmup_steps needs lr_schedule 'constant' or 'cosine', got {recipe.lr_schedule!r}")
    if recipe.lr_schedule == "step":
        if not recipe.lr_decay_steps:
            raise ValueError("lr_schedule='step' needs lr_decay_steps")
        lr = keras.optimizers.schedules.ExponentialDecay(
            recipe.learning_rate, recipe.lr_decay_steps, recipe.lr_decay_factor, staircase=True
        )
    elif recipe.lr_schedule == "cosine":  # to min_learning_rate over the whole run
        total = recipe.epochs * recipe.steps_per_epoch
        alpha = recipe.min_learning_rate / recipe.learning_rate
        if warmup:  # CosineDecay's decay_steps count from the end of the warm-up
            lr = keras.optimizers.schedules.CosineDecay(
                0.0, total - warmup, alpha=alpha, warmup_target=recipe.learning_rate, warmup_steps=warmup
            )
        else:
            lr = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, total, alpha=alpha)
    elif recipe.lr_schedule == "constant" and warmup:  # a cosine "decay" with alpha=1 is constant
        lr = keras.optimizers.schedules.CosineDecay(
            0.0, 1, alpha=1.0, warmup_target=recipe.learning_rate, warmup_steps=warmup
        )
    elif recipe.lr_schedule not in ("constant", "plateau"):
        raise ValueError(f"unknown lr_schedule {recipe.lr_schedule!r}; expected constant, step, cosine or plateau")
    weight_decay = recipe.weight_decay or None
    multipliers = {}
    if recipe.reconstruction_lr_multiplier != 1.0:
        layers = models.reconstruction_layers(model)
        if not layers:
            raise ValueError(f"{recipe.model} has no reconstruction layer for reconstruction_lr_multiplier")
        multipliers = {layer.name: recipe.reconstruction_lr_multiplier for layer in layers}
    if recipe.optimizer == "sgd":
        return LayerwiseSGD(
            learning_rate=lr, momentum=recipe.momentum, weight_decay=weight_decay, lr_multipliers=multipliers
        )
    if recipe.optimizer == "adam":
        if multipliers:
            raise ValueError(
                "a reconstruction learning-rate multiplier needs optimizer='sgd' "
                "(Adam normalises gradient scale, so the papers' lr_mult has no Adam equivalent here)"
            )
        return keras.optimizers.Adam(learning_rate=lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; expected sgd or adam")


def current_learning_rate(optimizer):
    lr = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(lr))


# ----------------------------------------------------------------------------- strategies


def make_strategy(name, tpu=None):
    """The strategy of ``--strategy=name``: default, data_parallel (JAX), or mirrored, multi_worker, tpu (TensorFlow).

    Under TensorFlow a ``tf.distribute`` strategy (multi_worker reads TF_CONFIG); under JAX
    ``data_parallel`` is :class:`DataParallelStrategy` (``keras.distribution.DataParallel`` over
    ``keras.distribution.list_devices()``, after ``keras.distribution.initialize()`` when its
    ``KERAS_DISTRIBUTION_*`` variables are set). ``default`` is the backend's default device.
    Every result has ``num_replicas_in_sync`` and ``scope()``.
    """
    backend = keras.backend.backend()
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")
    if name == "data_parallel":
        if backend != "jax":
            other = ("use --strategy=mirrored (one machine) or --strategy=multi_worker (TF_CONFIG) under TensorFlow"
                     if backend == "tensorflow" else "use --strategy=default")
            raise ValueError(f"--strategy=data_parallel is Keras' JAX distribution (keras.distribution.DataParallel) "
                             f"and needs KERAS_BACKEND=jax (now {backend}); {other}")
        _initialize_multi_host()
        devices = keras.distribution.list_devices()
        # Each process feeds its own slice of the global batch (see _ProcessShard): no automatic sharding.
        return DataParallelStrategy(keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False))
    if not tensorflow_backend():
        if name != "default":
            instead = "use --strategy=data_parallel (several devices) or default" if backend == "jax" else (
                "use --strategy=default")
            raise ValueError(f"--strategy={name} is a tf.distribute strategy and needs KERAS_BACKEND=tensorflow "
                             f"(now {backend}); {instead}")
        return _SingleDevice()
    tf = _tf()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy=multi_worker needs the TF_CONFIG environment variable (cluster and task)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"--strategy={name} is not a tf.distribute strategy; expected one of {', '.join(STRATEGIES)}")


def is_chief():
    """True unless TF_CONFIG names this process a non-chief worker (only the chief writes files)."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task", {})
    if not task:
        return True
    cluster = config.get("cluster", {})
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in cluster


# ----------------------------------------------------------------------------- files


def _write_atomically(path, text):
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_model_atomically(model, path):
    """``model.save(path)`` through a temporary file, so a kill never leaves a broken ``.keras``."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_inference_model(model, path, *, build=None):
    """Saves what an app needs: the uncompiled float32 model, no optimizer, no training state.

    ``keras.models.load_model(path)`` then opens it after ``import sr_zoo`` alone, whatever
    optimizer (``LayerwiseSGD`` included) or precision policy trained it. ``build`` makes a fresh
    float32 copy of the architecture (default: ``keras.models.clone_model``).
    """
    save_model_atomically(float32_copy(model, build=build), path)


def float32_copy(model, *, build=None):
    """A float32 copy of ``model`` with its weights; ``build`` makes the architecture (default: a clone).

    The copy lives on the default device, outside any ``keras.distribution`` the model trains under.
    """
    policy = keras.config.dtype_policy()
    distribution = keras.distribution.distribution()
    keras.config.set_dtype_policy("float32")
    keras.distribution.set_distribution(None)
    try:
        clone = build() if build is not None else models.with_precision(model, "float32")
    finally:
        keras.config.set_dtype_policy(policy)
        keras.distribution.set_distribution(distribution)
    clone.set_weights(model.get_weights())
    return clone


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


# ----------------------------------------------------------------------------- callbacks


class Validation(keras.callbacks.Callback):
    """Scores the model on a benchmark after each epoch; keeps the best as ``best.keras``.

    Adds ``val_psnr`` to the epoch logs (for ReduceLROnPlateau / EarlyStopping /
    TensorBoard) and writes bicubic / SR / HR strips of two images to TensorBoard.
    """

    def __init__(self, pairs, scale, output_dir, *, writer=None, label="Set5", build_inference_model=None):
        super().__init__()
        self.build_inference_model = build_inference_model
        self.pairs = pairs
        self.scale = scale
        self.output_dir = pathlib.Path(output_dir)
        self.writer = writer
        self.label = label
        self.best_psnr = -math.inf
        self.curve = []  # [epoch, PSNR] after every epoch: the validation curve the zoo manifest records
        self.bicubic_psnr = float(np.mean([
            metrics.psnr(p.hr, benchmarks.bicubic(p.lr, scale), crop_border=scale) for p in pairs
        ]))

    def score(self):
        from sr_zoo import inference

        model = self.model  # scored in float32 (as best.keras is saved), whatever precision trains it
        # and on one device (a copy), whatever distribution trains it (data_parallel: each process scores alone)
        if models.precision_of(model) != "float32" or keras.distribution.distribution() is not None:
            model = float32_copy(model, build=self.build_inference_model)
        values, strips = [], []
        for pair in self.pairs:
            sr = inference.upscale(model, pair.lr, precision="float32")
            values.append(metrics.psnr(pair.hr, sr, crop_border=self.scale))
            if len(strips) < 2:
                strips.append(_strip(benchmarks.bicubic(pair.lr, self.scale), sr, pair.hr))
        return float(np.mean(values)), strips

    def on_epoch_end(self, epoch, logs=None):
        psnr, strips = self.score()
        if logs is not None:
            logs["val_psnr"] = psnr
        self.curve.append([epoch + 1, round(psnr, 4)])
        improved = psnr > self.best_psnr
        if improved:
            self.best_psnr = psnr
            save_inference_model(self.model, self.output_dir / BEST_MODEL, build=self.build_inference_model)
            _write_atomically(
                self.output_dir / "best.json",
                json.dumps({"epoch": epoch + 1, "psnr": psnr, "bicubic_psnr": self.bicubic_psnr,
                            "benchmark": self.label, "scale": self.scale,
                            "protocol": metrics.describe(self.scale, True)}),
            )
        if self.writer is not None:
            tf = _tf()
            with self.writer.as_default(step=epoch + 1):
                tf.summary.scalar("psnr_y", psnr)
                for i, s in enumerate(strips):
                    tf.summary.image(f"bicubic_sr_hr/{i}", s[None], max_outputs=1)
            self.writer.flush()
        print(
            f"\nepoch {epoch + 1}: {self.label} x{self.scale} PSNR {psnr:.2f} dB "
            f"({metrics.describe(self.scale, True)}; bicubic {self.bicubic_psnr:.2f})"
            + (" - best so far" if improved else "")
        )

    def get_state(self):
        return {"best_psnr": self.best_psnr, "curve": self.curve}

    def set_state(self, state):
        self.best_psnr = state.get("best_psnr", -math.inf)
        self.curve = [list(c) for c in state.get("curve", [])]


def _strip(*images):
    h = min(i.shape[0] for i in images)
    w = min(i.shape[1] for i in images)
    crops = [np.atleast_3d(i)[:h, :w] for i in images]
    crops = [np.repeat(c, 3, axis=-1) if c.shape[-1] == 1 else c for c in crops]
    return np.concatenate(crops, axis=1)


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the current learning rate into the logs (progress bar, TensorBoard, history)."""

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training at the first NaN/Inf loss, before a checkpoint can store the broken weights."""

    def __init__(self):
        super().__init__()
        self.bad_step = None
        self.global_step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += 1
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_step = self.global_step
            self.model.stop_training = True


class Checkpointer(keras.callbacks.Callback):
    """Atomic checkpoints: weights (with optimizer state) and a JSON state, then a ``latest.json`` pointer.

    A kill at any moment leaves either the previous pointer or the new one, and
    both name complete files. The last ``keep`` checkpoints are kept.
    """

    def __init__(self, output_dir, *, every_steps, steps_per_epoch, guard, stateful, keep=2, initial_step=0,
                 train_seconds=0.0):
        super().__init__()
        self.train_seconds = float(train_seconds)  # wall time of the earlier sessions of this run
        self.started = time.time()
        self.directory = pathlib.Path(output_dir) / CHECKPOINT_DIR
        self.every_steps = int(every_steps)
        self.steps_per_epoch = int(steps_per_epoch)
        self.guard = guard
        self.stateful = stateful  # name -> object with get_state()/set_state() or keras callback attrs
        self.keep = keep
        self.global_step = initial_step

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += 1
        if self.every_steps and self.global_step % self.every_steps == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.save()

    def save(self):
        if self.guard.bad_step is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"ckpt-{self.global_step}"
        weights = self.directory / f"{name}.weights.h5"
        tmp = self.directory / f".{name}.tmp.weights.h5"
        self.model.save_weights(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, weights)
        state = {
            "weights": weights.name,
            "global_step": self.global_step,
            "epoch": self.global_step // self.steps_per_epoch,
            "step_in_epoch": self.global_step % self.steps_per_epoch,
            "optimizer_iterations": int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)),
            "learning_rate": current_learning_rate(self.model.optimizer),
            "callbacks": {k: _get_state(v) for k, v in self.stateful.items()},
            "time": time.time(),
            "train_seconds": round(self.train_seconds + time.time() - self.started, 1),
        }
        _write_atomically(self.directory / LATEST, json.dumps(state, indent=1))
        for old in sorted(self.directory.glob("ckpt-*.weights.h5"), key=lambda p: int(p.name.split("-")[1].split(".")[0]))[: -self.keep]:
            old.unlink(missing_ok=True)


_CALLBACK_ATTRS = ("wait", "best", "cooldown_counter", "stopped_epoch")


def _get_state(obj):
    if hasattr(obj, "get_state"):
        return obj.get_state()
    return {k: float(getattr(obj, k)) for k in _CALLBACK_ATTRS if isinstance(getattr(obj, k, None), (int, float))}


def _set_state(obj, state):
    if hasattr(obj, "set_state"):
        obj.set_state(state)
        return
    for k, v in state.items():
        setattr(obj, k, v)


# ----------------------------------------------------------------------------- the run


@dataclasses.dataclass
class TrainResult:
    best_model_path: str
    best_psnr: float
    bicubic_psnr: float
    global_step: int
    history: dict
    validation: str


def _with_pyramid_targets(ds, scale):
    """LapSRN: one target per pyramid level (x2, x4, ...), each the MATLAB-bicubic shrunk HR."""
    from sr_zoo.image import imresize

    levels = int(round(math.log2(scale)))

    def targets(lr, hr):
        outs = [imresize(hr, 1 / 2 ** (levels - 1 - i)) if i < levels - 1 else hr for i in range(levels)]
        return lr, tuple(outs)

    return ds.map(targets, num_parallel_calls=_tf().data.AUTOTUNE)


def training_data(recipe, seed, tfds_data_dir=None, dataset_options=None):
    """The recipe's (LR, HR) batches: tf.data under TensorFlow, :class:`sr_zoo.data.FolderPairs` otherwise.

    The TensorFlow-free loader takes image folders and the bicubic degradation; LapSRN gets one
    target per pyramid level in both.
    """
    from sr_zoo import data

    lr_patch, _ = recipe.patch_sizes()
    levels = int(round(math.log2(recipe.scale))) if recipe.model == "lapsrn" else 1
    options = dict(dataset_options or {})
    if tensorflow_backend():
        ensure_embedded_built(recipe.datasets, tfds_data_dir)
        ds = data.train_dataset(
            list(recipe.datasets), scale=recipe.scale, lr_patch_size=lr_patch, batch_size=recipe.batch_size,
            degradation=recipe.degradation, channels=recipe.channels, augment=recipe.augment,
            seed=seed, rescale=recipe.rescale, data_dir=tfds_data_dir, **options,
        )
        return _with_pyramid_targets(ds, recipe.scale) if levels > 1 else ds
    check_folder_recipe(recipe)
    options.setdefault("workers", 2)  # threads: the next batch is cropped while the step runs
    return data.FolderPairs(
        list(recipe.datasets), scale=recipe.scale, lr_patch_size=lr_patch, batch_size=recipe.batch_size,
        channels=recipe.channels, augment=recipe.augment, seed=seed, steps_per_epoch=recipe.steps_per_epoch,
        rescale=recipe.rescale, pyramid_levels=levels, **options,
    )


class _ProcessShard(keras.utils.PyDataset):
    """This process's rows of each global batch (data_parallel across several processes).

    Every process draws the same global batch (the same seed) and keeps its own contiguous slice,
    the rows that ``jax.make_array_from_process_local_data`` places on its devices; the run then
    sees the batches of a single-process run, whatever the number of processes.
    """

    def __init__(self, dataset, process_id, num_processes):
        super().__init__(workers=dataset.workers, use_multiprocessing=dataset.use_multiprocessing,
                         max_queue_size=dataset.max_queue_size)
        self.dataset, self.process_id, self.num_processes = dataset, process_id, num_processes

    def __len__(self):
        return len(self.dataset)

    def on_epoch_end(self):
        self.dataset.on_epoch_end()

    def __getitem__(self, idx):
        def rows(a):
            n = a.shape[0] // self.num_processes
            return a[self.process_id * n:(self.process_id + 1) * n]

        return keras.tree.map_structure(rows, self.dataset[idx])


def check_folder_recipe(recipe):
    """What the TensorFlow-free loader supports; a one-line ValueError names the rest and what to install."""
    backend = keras.backend.backend()
    need = f"needs the tf.data pipeline (KERAS_BACKEND=tensorflow; {_TF_INSTALL})"
    for name in recipe.datasets:
        if not (isinstance(name, str) and os.path.isdir(name)):
            raise ValueError(f"dataset {name!r}: under KERAS_BACKEND={backend} training reads image folders; "
                             f"TFDS datasets need KERAS_BACKEND=tensorflow ({_TF_INSTALL})")
    if recipe.degradation != "bicubic":
        raise ValueError(f"degradation={recipe.degradation!r} {need}; under {backend} use degradation=bicubic")


_TF_INSTALL = "pip install tensorflow tensorflow-datasets"


def check_recipe(recipe, model, replicas=1):
    """Checks what can fail before any work; raises ValueError with a one-line message."""
    info = models.describe(model)
    lr_patch, _ = recipe.patch_sizes()
    minimum = min(info.receptive_field, _paper_lr_patch(recipe))
    if lr_patch < minimum:
        raise ValueError(
            f"patch of {lr_patch} LR pixels is smaller than {recipe.model}'s receptive field "
            f"({info.receptive_field} LR pixels); use at least {minimum}"
        )
    if recipe.batch_size % replicas:
        raise ValueError(f"batch size {recipe.batch_size} is not divisible by the {replicas} replicas "
                         f"(devices); --batch_size is the global batch, use a multiple of {replicas}")
    if recipe.epochs < 1 or recipe.steps_per_epoch < 1:
        raise ValueError("epochs and steps_per_epoch must be at least 1")


def _paper_lr_patch(recipe):
    from sr_zoo import recipes

    return recipes.get(recipe.model, recipe.scale).patch_sizes()[0]


def _looks_like_path(name):
    """A folder rather than a TFDS ``name[/config]``: starts like a path, or names no builder of ``tfds_builders/``."""
    from sr_zoo import paths

    if name.startswith((".", "/", "~")) or name.endswith("/"):
        return True
    base = name.split(":")[0].split("/")[0]
    return "/" in name and not (paths.PROJECT_ROOT / "tfds_builders" / base).is_dir()


def check_sources(datasets, tfds_data_dir=None):
    """Checks every training source before any work; one error lists all that are missing.

    Folders must exist; TFDS datasets must be built (the embedded ones are built on first use),
    each missing one named with the ``tfds build`` command that makes it.
    """
    if not tensorflow_backend():
        for name in datasets:
            if isinstance(name, str) and not os.path.isdir(name) and _looks_like_path(name):
                raise FileNotFoundError(f"folder not found: {name}")
        return  # check_folder_recipe names the TFDS datasets this backend cannot read
    from sr_zoo import data

    problems = []
    for name in datasets:
        if not isinstance(name, str):
            continue
        if os.path.isdir(name):
            continue
        if _looks_like_path(name):
            problems.append(f"folder not found: {name}")
            continue
        if name.split("/")[0] in EMBEDDED_DATASETS:
            continue
        try:
            data.tfds_builder(name, tfds_data_dir)
        except data.DatasetNotBuiltError as e:
            command = str(e).splitlines()[-1].strip()
            problems.append(f"TFDS dataset '{name}' is not built; build it with: {command}")
    if not problems:
        return
    if len(problems) == 1:
        raise data.DatasetNotBuiltError(problems[0]) if "TFDS" in problems[0] else FileNotFoundError(problems[0])
    raise data.DatasetNotBuiltError(f"{len(problems)} training datasets are missing: " + "; ".join(problems))


#: Datasets whose files ship with the installed packages: built on first use, nothing is downloaded.
EMBEDDED_DATASETS = ("sample_images",)


def ensure_embedded_built(names, tfds_data_dir=None):
    """Builds the embedded TFDS datasets among ``names`` (``sample_images``) if they are not built yet."""
    from sr_zoo import data, paths

    for name in names:
        if not isinstance(name, str) or name.split("/")[0] not in EMBEDDED_DATASETS:
            continue
        try:
            data.tfds_builder(name, tfds_data_dir)
        except data.DatasetNotBuiltError:
            import tensorflow_datasets as tfds

            base = name.split("/")[0]
            print(f"Building the embedded TFDS dataset {base} (no download) ...")
            with tfds.core.utils.add_sys_path(paths.PROJECT_ROOT / "tfds_builders"):
                cls = tfds.core.community.builder_cls_from_module(f"{base}.{base}_dataset_builder")
            kwargs = {"data_dir": str(tfds_data_dir)} if tfds_data_dir else {}
            cls(**kwargs).download_and_prepare()


def validation_pairs(benchmark, scale, data_dir=None, tfds_data_dir=None):
    """Validation images: a benchmark (``set5`` ... from a folder or TFDS) or the test split of any TFDS dataset.

    Benchmarks use their MATLAB LR images; other datasets get the MATLAB-exact bicubic LR of the modcropped HR.
    """
    if benchmark in benchmarks.BENCHMARK_FOLDERS:
        return benchmarks.load_pairs(benchmark, scale, data_dir, tfds_data_dir)
    from sr_zoo import data

    ensure_embedded_built([benchmark], tfds_data_dir)
    builder = data.tfds_builder(benchmark, tfds_data_dir)
    split = data.pipeline.default_split(builder, train=False)
    pairs = []
    for ex in data.load_images(benchmark, split, data_dir=tfds_data_dir).as_numpy_iterator():
        hr = benchmarks.modcrop(ex["hr"], scale)
        pairs.append(benchmarks.Pair(ex["name"].decode(), hr, benchmarks.imresize(hr, 1 / scale), "imresize"))
    return pairs


def train(recipe, output_dir, **kwargs):
    previous = keras.config.dtype_policy()
    previous_distribution = keras.distribution.distribution()
    try:
        return _train(recipe, output_dir, **kwargs)
    finally:  # the precision is this run's: the process goes on in the policy it had
        keras.config.set_dtype_policy(previous)
        keras.distribution.set_distribution(previous_distribution)  # and in its distribution (data_parallel)


def _train(recipe, output_dir, *, seed=0, validation="set5", validation_dir=None, tfds_data_dir=None,
          strategy="default", tpu=None, precision=None, mixed_precision=False, jit_compile=False,
          checkpoint_every=500, verbose=1, dataset_options=None, warm_start=None, restart=False, dry_run=False):
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
        float32 (see :mod:`sr_zoo.precision`); default: the recipe's (``'auto'``).
      mixed_precision: the older switch, kept as an alias: float16 (TF on a GPU) / bfloat16 compute.
      jit_compile: compile the train step with XLA.
      checkpoint_every: steps between checkpoints (each epoch end also writes one).
      dataset_options: extra keyword arguments for :func:`sr_zoo.data.train_dataset`.
      warm_start: a ``.keras`` file or pretrained name whose weights start a new run (ignored when
        resuming from a checkpoint); recorded in ``run_config.json``.
      restart: start over in ``output_dir``, deleting its checkpoints and best model, instead of
        refusing a folder that holds a run with other settings.
      dry_run: check the recipe, model, data sources, warm start and run folder, then return ``None``
        without writing anything.
    """
    from sr_zoo import data

    output_dir = pathlib.Path(output_dir)
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
    compute = precision_lib.resolve(precision)
    # The global policy too: Keras adds loss scaling under mixed_float16, and layers made later follow it.
    keras.mixed_precision.set_global_policy(precision_lib.policy(compute))
    print(f"Precision: {precision_lib.describe(precision)}; variables, checkpoints and best.keras in float32")
    keras.utils.set_random_seed(seed)

    def build():
        return models.get(recipe.model, scale=recipe.scale, channels=recipe.channels, preset=recipe.preset,
                          **recipe.model_config)

    with dist.scope():
        model = models.with_precision(build(), compute)  # the image path stays float32 (sr_zoo.models.precision)
        check_recipe(recipe, model, dist.num_replicas_in_sync)
        check_sources(recipe.datasets, tfds_data_dir)
        if not tensorflow_backend():
            check_folder_recipe(recipe)
        optimizer = make_optimizer(recipe, model)
        num_outputs = len(model.outputs)
        loss = [losses.get(recipe.loss) for _ in range(num_outputs)] if num_outputs > 1 else losses.get(recipe.loss)
        # Under JAX "auto" is XLA (eager JAX is far slower); under TF and torch it is opt-in.
        model.compile(optimizer=optimizer, loss=loss,
                      jit_compile=bool(jit_compile) if tensorflow_backend() or jit_compile else "auto")
        optimizer.build(model.trainable_variables)

    run_config = {**dataclasses.asdict(recipe), "seed": seed, "warm_start": str(warm_start) if warm_start else None}
    if dry_run:
        if not restart:
            check_run_config(output_dir, run_config, write=False)
        if warm_start:
            _warm_start(model, warm_start)
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
        _warm_start(model, warm_start)
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
    if getattr(dist, "num_processes", 1) > 1:  # data_parallel across processes: each feeds its slice
        ds = _ProcessShard(ds, dist.process_id, dist.num_processes)

    guard = NonFiniteLossGuard()
    total_steps = recipe.epochs * recipe.steps_per_epoch
    callbacks = [guard, LearningRateLogger(), RunTimeEstimate(start_step, total_steps)]
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
                h = model.fit(ds, initial_epoch=epoch, epochs=epoch + 1,
                              steps_per_epoch=recipe.steps_per_epoch - step_in_epoch,
                              callbacks=callbacks, verbose=verbose, shuffle=False)
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
        raise TrainingError(
            f"loss became NaN/Inf at step {guard.bad_step}; training stopped and {kept}. "
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


def _adapt_to_multi_worker(model):
    """Works around two Keras 3 bugs of ``fit`` under MultiWorkerMirroredStrategy (tensorflow/tensorflow#72388).

    1. ``fit`` first "symbolically builds" the model by ``strategy.reduce``-ing one distributed batch, which
       this strategy cannot do eagerly. The model is already built; with no strategy pinned on the model,
       ``fit`` (run inside ``strategy.scope()``) takes the strategy from the scope and skips that step.
    2. The per-step logs are reduced with ``strategy.reduce("MEAN", v, axis=0)``, which fails on scalars.
       Giving each log value a batch axis of length one makes that reduction the mean over workers.
    Gradients are all-reduced by the strategy as usual; only these two bookkeeping paths change.
    """
    model._distribute_strategy = None
    step = model.train_step

    def train_step(data):
        return {k: _tf().reshape(v, [1]) for k, v in step(data).items()}

    model.train_step = train_step


def _merge(history, new):
    for k, v in new.items():
        history.setdefault(k, []).extend(v)


#: Settings that may differ when a run is resumed: more epochs only extend it; the precision is of the compute only.
RESUMABLE_CHANGES = ("epochs", "precision")


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


def _warm_start(model, spec):
    """Copies the weights of a ``.keras`` file or pretrained model into ``model`` where they carry over.

    The same network at another scale transfers everything but its upsampler (see
    :func:`sr_zoo.models.transfer_weights`); the layers that start fresh are printed.
    """
    from sr_zoo import models

    source, label = pretrained.load_model(str(spec))
    try:
        copied, fresh = models.transfer_weights(model, source)
    except ValueError as e:
        raise ValueError(f"--warm_start {spec}: {e}") from None
    print(f"Warm start from {label}: {len(copied)} of {len(copied) + len(fresh)} layers copied"
          + (f"; initialised afresh: {', '.join(fresh)}" if fresh else ""))


class RunTimeEstimate(keras.callbacks.Callback):
    """Prints the steps ahead at the start and, after the first timed steps, the estimated time to finish.

    The first step compiles, so timing starts at the end of the second; the estimate is printed after
    ``after_steps`` timed steps or ``after_seconds``, whichever comes first (fewer steps in a short run,
    but always one left to estimate), or at the first epoch end before then, before validation runs.
    """

    def __init__(self, start_step, total_steps, after_seconds=5.0, after_steps=5, clock=time.monotonic):
        super().__init__()
        self.start_step, self.total_steps = start_step, total_steps
        self.after_seconds, self.after_steps, self.clock = after_seconds, after_steps, clock
        self.steps = 0
        self.t0 = None
        self.done = False

    def on_train_begin(self, logs=None):
        if self.t0 is None:
            left = self.total_steps - self.start_step
            print(f"Training {left:,} steps (total {self.total_steps:,}, from step {self.start_step:,})")

    def _left(self):
        return self.total_steps - self.start_step - self.steps

    def on_train_batch_end(self, batch, logs=None):
        if self.done:
            return
        self.steps += 1
        if self.steps == 2:  # the first step compiles: time from the end of the second one
            self.t0, self.t_steps = self.clock(), self.steps
            self.wanted = min(self.after_steps, self._left() - 1)  # a short run: leave one step to estimate
            self.done = self.wanted < 1
        elif self.t0 is not None:
            counted = self.steps - self.t_steps
            if counted >= self.wanted or self.clock() - self.t0 >= self.after_seconds:
                self._report()

    def on_epoch_end(self, epoch, logs=None):
        # Runs before Validation's on_epoch_end: the time of the steps so far, validation not in it.
        if not self.done and self.t0 is not None and self.steps > self.t_steps and self._left() > 0:
            self._report()

    def _report(self):
        elapsed, counted = self.clock() - self.t0, self.steps - self.t_steps
        per_step, left = elapsed / counted, self._left()
        device = "GPU" if _has_gpu() else f"CPU ({os.cpu_count()} cores)"
        print(f"\n{per_step * 1000:.1f} ms/step on {device}: about {_duration(left * per_step)} "
              f"for the {left:,} step{'s' * (left != 1)} left (validation not counted)")
        self.done = True


def _duration(seconds):
    from sr_zoo import text

    return text.duration(seconds)


__all__ = ["train", "TrainResult", "TrainingError", "LayerwiseSGD", "make_optimizer", "make_strategy", "Checkpointer",
           "Validation", "read_latest_checkpoint", "save_model_atomically", "save_inference_model", "check_run_config",
           "clear_run"]

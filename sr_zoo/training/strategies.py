"""Devices to train on: ``tf.distribute`` strategies under TensorFlow, ``keras.distribution.DataParallel`` under JAX,
and what ``fit`` needs around them (which process writes files, each process's slice of a batch)."""

import contextlib
import json
import os

import keras

from sr_zoo.training.common import TrainingError, _tf, tensorflow_backend

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu", "data_parallel")
#: The environment variables of ``keras.distribution.initialize`` (multi-host data_parallel under JAX).
DISTRIBUTION_ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                    "KERAS_DISTRIBUTION_PROCESS_ID")


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

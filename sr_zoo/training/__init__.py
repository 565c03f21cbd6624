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

The package, one module per concern (each importable alone):

* :mod:`~sr_zoo.training.loop`: :func:`train` and :class:`TrainResult`;
* :mod:`~sr_zoo.training.optimizers`: :class:`LayerwiseSGD`, :func:`make_optimizer` and the schedules;
* :mod:`~sr_zoo.training.strategies`: devices (``tf.distribute``, ``keras.distribution``);
* :mod:`~sr_zoo.training.callbacks`: validation, checkpoints, NaN guard, learning-rate log, time estimate;
* :mod:`~sr_zoo.training.run_folder`: resume, run config check, restart, warm start;
* :mod:`~sr_zoo.training.sources`: the training batches, validation pairs and data-source checks;
* :mod:`~sr_zoo.training.saving`: atomic files, the float32 inference model;
* :mod:`~sr_zoo.training.common`: :class:`TrainingError`, backend checks, the run folder's file names.
"""

from sr_zoo.training.callbacks import (
    Checkpointer,
    LearningRateLogger,
    NonFiniteLossGuard,
    RunTimeEstimate,
    Validation,
)
from sr_zoo.training.common import (
    BEST_MODEL,
    CHECKPOINT_DIR,
    LATEST,
    RUN_CONFIG,
    TrainingError,
    tensorflow_backend,
)
from sr_zoo.training.loop import TrainResult, train
from sr_zoo.training.optimizers import LayerwiseSGD, current_learning_rate, make_optimizer
from sr_zoo.training.run_folder import RESUMABLE_CHANGES, check_run_config, clear_run, read_latest_checkpoint
from sr_zoo.training.saving import float32_copy, save_inference_model, save_model_atomically
from sr_zoo.training.sources import (
    EMBEDDED_DATASETS,
    check_folder_recipe,
    check_recipe,
    check_sources,
    ensure_embedded_built,
    training_data,
    validation_pairs,
)
from sr_zoo.training.sources import _with_pyramid_targets as with_pyramid_targets
from sr_zoo.training.strategies import STRATEGIES, DataParallelStrategy, is_chief, make_strategy

__all__ = ["train", "TrainResult", "TrainingError", "LayerwiseSGD", "make_optimizer", "make_strategy", "Checkpointer",
           "Validation", "read_latest_checkpoint", "save_model_atomically", "save_inference_model", "check_run_config",
           "clear_run"]

"""Training data: the recipe's (LR, HR) batches and validation pairs, and the checks that every source exists
(and that the backend can read it) before any work."""

import contextlib
import io
import math
import os

import keras

from sr_zoo import models
from sr_zoo.data import benchmarks
from sr_zoo.image import imresize
from sr_zoo.training.common import _tf, tensorflow_backend


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
    if recipe.degradation == "gaussian":  # the recipe's sigma, the one run_config.json records
        options["sigma"] = recipe.blur_sigma
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
    if recipe.degradation == "gaussian" and not (recipe.blur_sigma and recipe.blur_sigma > 0):
        raise ValueError(f"degradation 'gaussian' needs a positive blur_sigma (HR pixels), got {recipe.blur_sigma}")
    if recipe.equalize_channels and not recipe.quantization_aware:
        raise ValueError("--equalize_channels prepares an int8 fine-tune: use it with --quantization_aware")
    # (--split_tanh and --split_prelu are allowed in float: split tanh is a new function, trained in float before
    # quantization-aware; split PReLU's halves then train apart, a larger network than the paper's)
    if recipe.freeze_ranges is not None and not (recipe.quantization_aware and 0 < recipe.freeze_ranges < 1):
        raise ValueError(f"freeze_ranges={recipe.freeze_ranges}: a fraction in (0, 1) of a quantization-aware "
                         f"run's steps (--quantization_aware)")

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
            print(f"Building the embedded TFDS dataset {base} (no download) ...", flush=True)
            with tfds.core.utils.add_sys_path(paths.PROJECT_ROOT / "tfds_builders"):
                cls = tfds.core.community.builder_cls_from_module(f"{base}.{base}_dataset_builder")
            kwargs = {"data_dir": str(tfds_data_dir)} if tfds_data_dir else {}
            builder = cls(**kwargs)
            # TFDS's own progress bars and "Downloading and preparing ..." lines: one line of ours instead
            with _quiet_tfds(), contextlib.redirect_stdout(io.StringIO()):
                builder.download_and_prepare()
            print(f"Built {base} in {builder.data_dir}")


@contextlib.contextmanager
def _quiet_tfds():
    """TFDS's progress bars off and its INFO log lines (absl) hidden, for the duration."""
    import tensorflow_datasets as tfds
    from absl import logging as absl_logging

    verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.WARNING)
    tfds.disable_progress_bar()
    try:
        yield
    finally:
        tfds.enable_progress_bar()
        absl_logging.set_verbosity(verbosity)


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
        pairs.append(benchmarks.Pair(ex["name"].decode(), hr, imresize(hr, 1 / scale), "imresize"))
    return pairs

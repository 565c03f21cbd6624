"""Trains a zoo model with its paper's recipe; every part of the recipe can be overridden.

    python train.py --model=espcn --scale=3                       # ESPCN's recipe on T91
    python train.py --model=lapsrn --scale=4 --output_dir=runs/lapsrn_x4
    python train.py --model=espcn --scale=3 --datasets=sample_images --epochs=3 --steps_per_epoch=100

Killed at any moment, the same command resumes from the last checkpoint in
--output_dir. The best model by validation PSNR (Set5, Y, crop = scale) is
saved as <output_dir>/best.keras.

Any Keras backend: KERAS_BACKEND=jax (or torch) trains from image folders
(--datasets=<folder>,...) without TensorFlow; its best.keras loads under TensorFlow.

Several GPUs: --strategy=data_parallel under JAX (every device; multi-host with the
KERAS_DISTRIBUTION_* variables of keras.distribution.initialize), --strategy=mirrored
or multi_worker (TF_CONFIG) under TensorFlow.
"""

import os

from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "srcnn, espcn, fsrcnn, lapsrn or edsr.")
flags.DEFINE_integer("scale", None, "Upscaling factor.")
flags.DEFINE_string("output_dir", None, "Run folder (default: runs/<model>[-<preset>]_x<scale>).")
flags.DEFINE_bool("restart", False, "Start over in --output_dir, deleting the run (checkpoints, best model) it holds.")
flags.DEFINE_string("warm_start", None, "A .keras file or pretrained name whose weights start the run.")
flags.DEFINE_string("preset", None, "Model preset (see sr_zoo.models.available()).")
flags.DEFINE_list("model_options", None, "Model options as key=value, e.g. filters=4 (see sr_zoo.models.available()).")
flags.DEFINE_integer("channels", None, "1 (Y channel) or 3 (RGB).")
flags.DEFINE_list("datasets", None, "TFDS names (t91, bsd200, div2k, sample_images, ...) or image folders; mixed.")
flags.DEFINE_integer("patch_size", None, "HR patch side (a multiple of --scale).")
flags.DEFINE_integer("lr_patch_size", None, "LR patch side (instead of --patch_size).")
flags.DEFINE_integer("batch_size", None, "Global batch size (split across replicas).")
flags.DEFINE_string("loss", None, "mse, l1, charbonnier or perceptual.")
flags.DEFINE_enum("optimizer", None, ["sgd", "adam"], "Optimizer.")
flags.DEFINE_float("learning_rate", None, "Initial learning rate.")
flags.DEFINE_enum("lr_schedule", None, ["constant", "step", "cosine", "plateau"], "Learning-rate schedule.")
flags.DEFINE_integer("lr_decay_steps", None, "Steps between decays (step schedule).")
flags.DEFINE_float("lr_decay_factor", None, "Decay factor (step and plateau schedules).")
flags.DEFINE_float("min_learning_rate", None, "Floor of the plateau schedule; end value of the cosine schedule.")
flags.DEFINE_integer("warmup_steps", None, "Linear learning-rate warm-up from 0 over this many steps "
                     "(constant and cosine schedules; eases a --warm_start's fresh optimizer in).")
flags.DEFINE_float("reconstruction_lr_multiplier", None, "Learning-rate multiplier of the last layer (SGD).")
flags.DEFINE_integer("epochs", None, "Epochs.")
flags.DEFINE_integer("steps_per_epoch", None, "Steps per epoch.")
flags.DEFINE_enum("degradation", None, ["bicubic", "gaussian", "kernel"], "How LR patches are made.")
flags.DEFINE_float("blur_sigma", None, "--degradation=gaussian: the Gaussian blur's standard deviation in HR pixels "
                   "before sub-sampling (the ESPCN paper's LR synthesis; e.g. 1.6 at x3, RDN's 'BD').")
flags.DEFINE_bool("augment", None, "Flips and 90-degree rotations.")
flags.DEFINE_list("rescale", None, "Rescaling augmentation (FSRCNN's, LapSRN's): each HR image also downscaled by "
                  "these factors in (0, 1], e.g. 1,0.9,0.8,0.7,0.6; 'none' turns off the recipe's.")
flags.DEFINE_string("validation", "set5", "Benchmark validated on after each epoch ('none' to skip).")
flags.DEFINE_string("validation_dir", None, "Folder holding the benchmark (default: $SR_ZOO_DATA or ../shared/data).")
flags.DEFINE_string("tfds_data_dir", None, "Where built TFDS datasets live (default: ~/tensorflow_datasets).")
flags.DEFINE_integer("seed", 0, "Random seed (weights and data).")
flags.DEFINE_enum("strategy", "default", ["default", "data_parallel", "mirrored", "multi_worker", "tpu"],
                  "Devices to train on. JAX: data_parallel (keras.distribution.DataParallel over every GPU/TPU; "
                  "across hosts with KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES, _PROCESS_ID). "
                  "TensorFlow: mirrored (every GPU), multi_worker (TF_CONFIG) or tpu (tf.distribute). "
                  "--batch_size is the global batch.")
flags.DEFINE_string("tpu", None, "TPU address for --strategy=tpu.")
flags.DEFINE_integer("cpu_devices", None, "Split the CPU into this many logical devices (to try mirrored on a CPU).")
flags.DEFINE_enum("precision", None, ["auto", "float32", "bfloat16", "float16"],
                  "Compute precision, variables always float32 (default: the recipe's, auto: bfloat16 on GPUs (float16 "
                  "under TensorFlow) and on CPUs with AMX / AVX512-BF16 under TensorFlow, float32 elsewhere and for "
                  "FSRCNN on a CPU, where its bfloat16 step is slower).")
flags.DEFINE_bool("mixed_precision", False, "Alias of --precision=bfloat16 (float16 under TensorFlow on a GPU).")
flags.DEFINE_bool("quantization_aware", None, "Fine-tune with int8 TFLite arithmetic simulated (fake-quantized "
                  "weights and activations, output clipped to [0, 1]); start from a float model with --warm_start.")
flags.DEFINE_bool("equalize_channels", None, "With --quantization_aware and --warm_start: first scale the channels "
                  "between convolutions joined by PReLU/ReLU to one range on the first training batches (the same "
                  "float model; each channel then keeps all 256 int8 levels).")
flags.DEFINE_float("freeze_ranges", None, "With --quantization_aware: after this fraction of the steps (e.g. 0.5), "
                   "shrink each learnt int8 activation range to the one with the lowest output error on training "
                   "batches and freeze the ranges; the rest of the run fine-tunes the weights to them.")
flags.DEFINE_bool("split_prelu", None, "Write each PReLU between two convolutions as two ReLU halves fused into "
                  "them: the same float function at the start, one int8 rounding per layer instead of two (for "
                  "--quantization_aware), twice the next layer's inputs. The halves then train apart: in float, a "
                  "larger network than the paper's. A --warm_start from the PReLU model is split the same way.")
flags.DEFINE_bool("split_tanh", None, "Write each tanh between two convolutions as two clipped linear pieces fused "
                  "into the first (hard_tanh), read by the second with folded weights: close to tanh, one int8 "
                  "rounding per piece instead of two per layer, 4x the work between them. Trained in float first "
                  "(the pieces are not tanh), then with --quantization_aware; a --warm_start from the tanh model is "
                  "split the same way.")
flags.DEFINE_bool("jit_compile", False, "Compile the train step with XLA (TF) / torch.compile (torch); JAX always uses XLA.")
flags.DEFINE_integer("steps_per_execution", 1, "Training steps per call into the compiled graph (Keras' "
                     "steps_per_execution; TensorFlow and JAX): less Python between steps, for small models such as "
                     "ESPCN. Must divide --steps_per_epoch; the NaN check, checkpoints and progress bar then run "
                     "once per call.")
flags.DEFINE_integer("checkpoint_every", 500, "Steps between checkpoints (each epoch end writes one too).")
flags.DEFINE_integer("verbose", 1, "Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch.")
flags.DEFINE_bool("dry_run", False, "Check flags, recipe, model, data and run folder; train nothing, write nothing.")

_RECIPE_FLAGS = ("preset", "channels", "lr_patch_size", "batch_size", "loss", "optimizer", "learning_rate",
                 "lr_schedule", "lr_decay_steps", "lr_decay_factor", "min_learning_rate",
                 "warmup_steps", "reconstruction_lr_multiplier", "epochs", "steps_per_epoch", "degradation", "blur_sigma",
                 "augment", "precision", "quantization_aware", "equalize_channels", "freeze_ranges",
                 "split_prelu", "split_tanh")


def recipe_from_flags():
    """The recipe of --model/--scale with the flags' changes; ``cli.FlagError`` names a bad flag."""
    import dataclasses

    from sr_zoo import cli, recipes

    for name in ("model", "scale"):
        if FLAGS[name].value is None:
            raise cli.FlagError(f"--{name} is required")
    try:
        recipe = recipes.get(FLAGS.model, FLAGS.scale)
    except ValueError as e:
        raise cli.FlagError(f"--model: {e}") from None
    changes = {name: FLAGS[name].value for name in _RECIPE_FLAGS}
    if FLAGS.datasets:
        changes["datasets"] = tuple(FLAGS.datasets)
    if FLAGS.model_options:
        changes["model_config"] = {**recipe.model_config, **cli.parse_options(FLAGS.model_options, "--model_options")}
    recipe = recipe.replace(**changes)
    if FLAGS.rescale is not None:
        recipe = dataclasses.replace(recipe, rescale=cli.parse_rescale(FLAGS.rescale))
    if FLAGS.patch_size is not None:  # an HR patch side replaces the recipe's LR side
        recipe = dataclasses.replace(recipe, hr_patch_size=FLAGS.patch_size, lr_patch_size=None)
    cli.check_recipe_flags(recipe, hr_patch_size=FLAGS.patch_size, checkpoint_every=FLAGS.checkpoint_every)
    return recipe


def default_output_dir(recipe):
    preset = f"-{recipe.preset}" if recipe.preset else ""
    return os.path.join("runs", f"{recipe.model}{preset}_x{recipe.scale}")


def main(argv):
    from sr_zoo import cli

    debug = bool(os.environ.get("SR_ZOO_DEBUG"))  # full tracebacks instead of one-line errors
    if not debug:  # JAX reports each accelerator it did not find (TPU, ...) at INFO through absl's handler
        import logging

        logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
        if not FLAGS["verbosity"].present:  # TFDS logs every dataset load at INFO ("Load dataset info ...")
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.WARNING)
    with cli.one_line_errors("train.py", debug=debug):
        if len(argv) > 1:
            raise cli.FlagError(f"unexpected arguments: {' '.join(argv[1:])}")
        recipe = recipe_from_flags()
        if FLAGS.mixed_precision and FLAGS.precision:
            raise cli.FlagError("--mixed_precision is an alias of --precision=bfloat16; pass one of the two")
        output_dir = FLAGS.output_dir or default_output_dir(recipe)
        from sr_zoo import training

        if FLAGS.cpu_devices:
            if not training.tensorflow_backend():
                raise cli.FlagError("--cpu_devices splits the CPU for tf.distribute and needs KERAS_BACKEND=tensorflow")
            import tensorflow as tf

            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * FLAGS.cpu_devices)
        if debug:
            import keras

            keras.config.disable_traceback_filtering()
        print(f"Recipe ({recipe.source}):")
        print("  " + ", ".join(f"{k}={v}" for k, v in vars(recipe).items() if k not in ("source", "model_config"))
              + (f", model_config={recipe.model_config}" if recipe.model_config else ""))
        result = training.train(
            recipe, output_dir, seed=FLAGS.seed,
            validation=None if FLAGS.validation.lower() == "none" else FLAGS.validation.lower(),
            validation_dir=FLAGS.validation_dir, tfds_data_dir=FLAGS.tfds_data_dir, strategy=FLAGS.strategy,
            tpu=FLAGS.tpu, mixed_precision=FLAGS.mixed_precision, jit_compile=FLAGS.jit_compile,
            steps_per_execution=FLAGS.steps_per_execution, checkpoint_every=FLAGS.checkpoint_every,
            verbose=FLAGS.verbose, warm_start=FLAGS.warm_start, restart=FLAGS.restart, dry_run=FLAGS.dry_run,
        )
    if result is None:  # dry run
        return
    if result.validation:
        print(
            f"Best model: {result.best_model_path} ({result.validation} x{recipe.scale} PSNR {result.best_psnr:.2f} dB "
            f"vs bicubic {result.bicubic_psnr:.2f} dB; Y, crop {recipe.scale})"
        )
    else:
        print(f"Model: {result.best_model_path} (no validation)")


if __name__ == "__main__":
    from sr_zoo import cli

    cli.run(main, __doc__)

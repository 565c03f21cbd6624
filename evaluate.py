"""Prints the standard SR benchmark table (Y-PSNR / SSIM, crop = scale) and writes it to JSON.

    python evaluate.py --model=bicubic --datasets=set5,set14,b100 --scales=2,3,4
    python evaluate.py --model=runs/espcn_x3/best.keras --datasets=set5,set14
    python evaluate.py --model=espcn_x3 --self_ensemble --save_images=out/

``--model`` is ``bicubic``, a ``.keras`` file, or the name of a pretrained model
(see ``sr_zoo.pretrained.available()``). Bicubic is always the first row. LR
inputs are the MATLAB-made LR images where the data has them.

Blind SR: ``--datasets=div2krk/b100`` (a built DIV2KRK config, LR made by its random
kernels, scales 2 and 4) or a folder of paired images (``HR/`` beside ``LR/``, ``LR_x4/``
or ``LR_bicubic/X4/``; the DIV2KRK archive's ``gt/`` + ``lr_x4/`` too).
"""

import os
import pathlib

from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "bicubic", "'bicubic', .keras model files or pretrained model names (comma-separated).")
flags.DEFINE_list("datasets", ["set5", "set14", "b100"],
                  "Benchmarks: set5, set14, b100, urban100, div2krk[/config], or folders of paired LR/HR images.")
flags.DEFINE_list("scales", None, "Scales to evaluate; default: the model's scale (bicubic: 2,3,4).")
flags.DEFINE_string("data_dir", None, "Folder in the layout of ../shared/data (default: $SR_ZOO_DATA or ../shared/data).")
flags.DEFINE_string("tfds_data_dir", None, "Built TFDS datasets (sr_benchmarks/<set>), used when no folder has the set.")
flags.DEFINE_bool("self_ensemble", False, "Average the 8 flips/rotations (EDSR+ / x8 self-ensemble).")
flags.DEFINE_bool("rgb", False, "Measure on RGB instead of Y (the DIV2K convention).")
flags.DEFINE_integer("crop_border", None, "Pixels shaved from each side (default: the scale).")
flags.DEFINE_string("save_images", None, "Write SR outputs as PNG and side-by-side crops (bicubic / SR / HR) here.")
flags.DEFINE_string("json", "evaluation.json", "Write the numbers (means and per image, with timings) here; "
                    "'' writes none.")
flags.DEFINE_bool("overwrite", False, "Replace a --json file that holds another run's results (another model, "
                  "datasets or scales); the same run's file is always replaced.")
flags.DEFINE_bool("per_image", False, "Also print per-image PSNR / SSIM / seconds.")
flags.DEFINE_integer("tile", None, "Tile size in LR pixels for large images (default: automatic).")
flags.DEFINE_enum("precision", "float32", ["auto", "float32", "bfloat16", "float16"],
                  "Models' compute precision (float32: the published tables; auto: what sr_zoo.upscale picks, "
                  "bfloat16 for EDSR and LapSRN on CPUs with AMX).")
flags.DEFINE_bool("dry_run", False, "Check the flags, the model and that every dataset/scale loads; measure nothing.")


def main(argv):
    from sr_zoo import cli

    with cli.one_line_errors("evaluate.py"):
        if len(argv) > 1:
            raise cli.FlagError(f"unexpected arguments: {' '.join(argv[1:])}")
        scales = cli.parse_int_list(FLAGS.scales, "--scales") if FLAGS.scales else None
        if FLAGS.crop_border is not None and FLAGS.crop_border < 0:
            raise cli.FlagError(f"--crop_border must be 0 or more, got {FLAGS.crop_border}")
        if FLAGS.tile is not None and FLAGS.tile <= 0:
            raise cli.FlagError(f"--tile must be positive, got {FLAGS.tile}")
        if FLAGS.data_dir and not os.path.isdir(FLAGS.data_dir):
            raise cli.FlagError(f"--data_dir folder not found: {FLAGS.data_dir}")
        datasets = [d.strip() if evaluation_is_folder(d.strip()) else d.strip().lower() for d in FLAGS.datasets]
        from sr_zoo import evaluation
        from sr_zoo.data import benchmarks

        benchmarks.check_benchmarks(datasets)
        methods, scales, label = evaluation.methods_from_flag(
            FLAGS.model, scales=scales, self_ensemble=FLAGS.self_ensemble, tile=FLAGS.tile, precision=FLAGS.precision
        )
        from sr_zoo import precision as precision_lib

        precision = precision_lib.describe(FLAGS.precision)
        if FLAGS.precision == "auto" and precision_lib.resolve("auto") != "float32":
            from sr_zoo.models.precision import AUTO_BFLOAT16_INFERENCE

            precision += f" for {', '.join(AUTO_BFLOAT16_INFERENCE)}; float32 for the other architectures"
        if FLAGS.json:  # before the work, not after it
            check_json_target(FLAGS.json, list(methods), datasets, scales, FLAGS.overwrite)
        if FLAGS.dry_run:
            counts = [len(benchmarks.load_pairs(d, s, FLAGS.data_dir, FLAGS.tfds_data_dir)) for d in datasets
                      for s in scales]
            print(f"Dry run: {label}; {len(counts)} dataset/scale combinations ({sum(counts)} images) load")
            return
        on_image = evaluation.ImageSaver(FLAGS.save_images) if FLAGS.save_images else None
        scores = evaluation.evaluate(
            methods, datasets, scales, data_dir=FLAGS.data_dir, tfds_data_dir=FLAGS.tfds_data_dir,
            y_channel=not FLAGS.rgb, crop_border=FLAGS.crop_border, on_image=on_image,
        )
    print(f"Model: {label}")
    print(evaluation.markdown_table(scores, precision=None if label == "bicubic (MATLAB)" else precision))
    if FLAGS.per_image:
        print()
        print(evaluation.per_image_table(scores))
    if FLAGS.json:
        evaluation.to_json(scores, FLAGS.json)  # a temporary file, then os.replace: never half a file
        print(f"\nWrote {os.path.abspath(FLAGS.json)}")
    if on_image is not None:
        print(f"Wrote images to {FLAGS.save_images}")


def _run_of(methods, datasets, scales):
    return {"methods": sorted(methods), "datasets": sorted(datasets), "scales": sorted(scales)}


def check_json_target(path, methods, datasets, scales, overwrite=False):
    """Refuses (``cli.FlagError``) a ``--json`` path that cannot be written, or whose file holds another
    run's results (another model, datasets or scales) unless ``overwrite``; before any work is done."""
    import json

    from sr_zoo import cli

    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder):
        raise cli.FlagError(f"--json={path}: " + ("is a folder" if os.path.isdir(path) else f"no folder {folder}"))
    if overwrite or not os.path.exists(path):
        return
    try:
        scores = json.loads(pathlib.Path(path).read_text())
        theirs = _run_of(*({s[key] for s in scores} for key in ("method", "benchmark", "scale")))
    except (OSError, ValueError, TypeError, KeyError):  # not evaluate.py's list of scores
        raise cli.FlagError(f"--json={path} exists and holds no evaluate.py results; pass --overwrite to "
                            f"replace it, or another --json") from None
    if theirs != _run_of(methods, datasets, scales):
        held = "; ".join(f"{key} {', '.join(map(str, values))}" for key, values in theirs.items())
        raise cli.FlagError(f"--json={path} holds another run's results ({held}); pass --overwrite to replace "
                            f"it, or another --json")


def evaluation_is_folder(name):
    from sr_zoo.data import benchmarks

    return benchmarks.is_folder_spec(name)


if __name__ == "__main__":
    from sr_zoo import cli

    cli.run(main, __doc__)

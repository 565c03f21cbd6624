"""Prints the standard SR benchmark table (Y-PSNR / SSIM, crop = scale) and writes it to JSON.

    python evaluate.py --model=bicubic --datasets=set5,set14,b100 --scales=2,3,4
    python evaluate.py --model=runs/espcn_x3/best.keras --datasets=set5,set14
    python evaluate.py --model=espcn_x3 --self_ensemble --save_images=out/

``--model`` is ``bicubic``, a ``.keras`` file, or the name of a pretrained model
(see ``sr_zoo.pretrained.available()``). Bicubic is always the first row. LR
inputs are the MATLAB-made LR images where the data has them.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "bicubic", "'bicubic', a .keras model file, or a pretrained model name.")
flags.DEFINE_list("datasets", ["set5", "set14", "b100"], "Benchmarks: set5, set14, b100, urban100.")
flags.DEFINE_list("scales", None, "Scales to evaluate; default: the model's scale (bicubic: 2,3,4).")
flags.DEFINE_string("data_dir", None, "Folder in the layout of ../shared/data (default: $SR_ZOO_DATA or ../shared/data).")
flags.DEFINE_string("tfds_data_dir", None, "Built TFDS datasets (sr_benchmarks/<set>), used when no folder has the set.")
flags.DEFINE_bool("self_ensemble", False, "Average the 8 flips/rotations (EDSR+ / x8 self-ensemble).")
flags.DEFINE_bool("rgb", False, "Measure on RGB instead of Y (the DIV2K convention).")
flags.DEFINE_integer("crop_border", None, "Pixels shaved from each side (default: the scale).")
flags.DEFINE_string("save_images", None, "Write SR outputs as PNG and side-by-side crops (bicubic / SR / HR) here.")
flags.DEFINE_string("json", "evaluation.json", "Write the numbers (means and per image, with timings) here.")
flags.DEFINE_bool("per_image", False, "Also print per-image PSNR / SSIM / seconds.")
flags.DEFINE_integer("tile", None, "Tile size in LR pixels for large images (default: automatic).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from sr_zoo import evaluation

    try:
        methods, scales, label = evaluation.methods_from_flag(
            FLAGS.model, scales=FLAGS.scales, self_ensemble=FLAGS.self_ensemble, tile=FLAGS.tile
        )
        on_image = evaluation.ImageSaver(FLAGS.save_images) if FLAGS.save_images else None
        scores = evaluation.evaluate(
            methods,
            [d.strip().lower() for d in FLAGS.datasets],
            scales,
            data_dir=FLAGS.data_dir,
            tfds_data_dir=FLAGS.tfds_data_dir,
            y_channel=not FLAGS.rgb,
            crop_border=FLAGS.crop_border,
            on_image=on_image,
        )
    except (ValueError, FileNotFoundError) as e:
        raise app.UsageError(str(e)) from None
    print(f"Model: {label}")
    print(evaluation.markdown_table(scores))
    if FLAGS.per_image:
        print()
        print(evaluation.per_image_table(scores))
    if FLAGS.json:
        evaluation.to_json(scores, FLAGS.json)
        print(f"\nWrote {FLAGS.json}")
    if on_image is not None:
        print(f"Wrote images to {FLAGS.save_images}")


if __name__ == "__main__":
    app.run(main)

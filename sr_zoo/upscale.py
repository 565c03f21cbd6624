"""Command line: super-resolve an image file or a folder of images.

    python -m sr_zoo.upscale --model=espcn_x3 photo.png photo_x3.png
    python -m sr_zoo.upscale --model=runs/edsr_x4/best.keras photos/ photos_x4/

``--model`` is a pretrained name (``sr_zoo.pretrained.available()``) or a
``.keras`` file. Images of any size are accepted; large ones are processed in
overlapping tiles (``--tile`` forces a tile size). A folder is processed file
by file with a progress bar; outputs keep their names (as PNG) and a file that
cannot be read is reported and skipped.

In Python, ``sr_zoo.upscale(model, image)`` is the function this wraps.
"""

import os
import pathlib
import sys
import types

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _run(argv):
    from absl import app, flags

    flags.DEFINE_string("model", None, "Pretrained model name or .keras file.", required=True)
    flags.DEFINE_integer("tile", None, "Tile size in LR pixels (default: automatic).")
    flags.DEFINE_bool("overwrite", False, "Replace existing output files.")
    app.run(_main, argv=argv)


def _main(argv):
    from absl import app, flags

    FLAGS = flags.FLAGS
    if len(argv) != 3:
        raise app.UsageError("usage: python -m sr_zoo.upscale --model=NAME_OR_PATH INPUT OUTPUT")
    source, target = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    if not source.exists():
        raise app.UsageError(f"input not found: {source}")
    from sr_zoo import evaluation

    try:
        model, label = evaluation.load_model(FLAGS.model)
    except (ValueError, FileNotFoundError) as e:
        raise app.UsageError(str(e)) from None
    if source.is_file():
        if target.exists() and not FLAGS.overwrite:
            raise app.UsageError(f"output exists: {target} (use --overwrite)")
        _one(model, source, target, FLAGS.tile)
        print(f"{source} -> {target} ({label})")
        return
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise app.UsageError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {source}")
    target.mkdir(parents=True, exist_ok=True)
    import keras

    bar = keras.utils.Progbar(len(files), unit_name="image")
    failed = []
    for i, path in enumerate(files):
        out = target / (path.stem + ".png")
        if not out.exists() or FLAGS.overwrite:
            try:
                _one(model, path, out, FLAGS.tile)
            except ValueError as e:  # unreadable or unsupported image: report, keep going
                failed.append(f"{path}: {e}")
        bar.update(i + 1)
    print(f"{len(files) - len(failed)} of {len(files)} images written to {target} ({label})")
    for line in failed:
        print(f"skipped {line}", file=sys.stderr)
    if failed:
        sys.exit(1)


def _one(model, source, target, tile):
    from PIL import Image

    from sr_zoo import inference

    image = _read(source)
    sr = inference.upscale(model, image, tile=tile)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.tmp{target.suffix}")
    Image.fromarray(sr.squeeze() if sr.ndim == 3 and sr.shape[-1] == 1 else sr).save(tmp)
    os.replace(tmp, target)  # a killed run never leaves half an image


def _read(path):
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("L", "LA", "RGB", "RGBA"):
                im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            return np.array(im)
    except OSError as e:
        raise ValueError(f"cannot read image: {e}") from e


class _CallableModule(types.ModuleType):
    """``sr_zoo.upscale`` is also the function: importing this module must not shadow it."""

    def __call__(self, *args, **kwargs):
        from sr_zoo.inference import upscale

        return upscale(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _run(sys.argv)

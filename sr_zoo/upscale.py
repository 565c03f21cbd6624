"""Command line: super-resolve an image file, a folder of images or a video.

    python -m sr_zoo.upscale --model=espcn_x3 photo.png photo_x3.png
    python -m sr_zoo.upscale --model=runs/edsr_x4/best.keras photos/ photos_x4/
    python -m sr_zoo.upscale --model=espcn_x3 clip.mp4 clip_x3.mp4 --crf=18

``--model`` is a pretrained name (``sr_zoo.pretrained.available()``) or a
``.keras`` file. Images of any size are accepted; large ones are processed in
overlapping tiles (``--tile`` forces a tile size). A folder is processed file
by file with a progress bar; outputs keep their names (as PNG) and a file that
cannot be read is reported and skipped. A video (by its extension) is decoded,
upscaled in batches and encoded with FFmpeg through PyAV, keeping its frame
rate and audio (``sr_zoo.upscale_video``).

In Python, ``sr_zoo.upscale(model, image)`` is the function this wraps.
"""

import os
import pathlib
import sys
import types

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")
PROG = "python -m sr_zoo.upscale"


def _parser():
    from sr_zoo.cli_argparse import ArgumentParser

    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n", 1)[1], formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("input", help="image file, folder of images, or video file (" + " ".join(VIDEO_SUFFIXES) + ")")
    p.add_argument("output", help="image file, folder, or video file")
    p.add_argument("--model", required=True, help="pretrained model name or .keras file")
    p.add_argument("--tile", type=int, help="tile size in LR pixels (default: automatic)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (never the input)")
    p.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="compute precision (default: auto, bfloat16 for EDSR and LapSRN on CPUs with AMX or "
                        "AVX512-BF16 and on GPUs, float32 otherwise; the image path stays float32)")
    video = p.add_argument_group("video")
    video.add_argument("--codec", default="libx264", help="FFmpeg encoder (default: libx264, H.264; libx264rgb with --crf=0 is lossless RGB)")
    video.add_argument("--crf", type=int, default=18, help="quality for x264/x265/VPx encoders, lower is better, 0 is lossless (default: 18)")
    video.add_argument("--batch_size", type=int, default=4, help="frames per model call (default: 4)")
    from sr_zoo.deploy.video import DEFAULT_PRESET, PRESET_CODECS, PRESETS
    from sr_zoo.deploy.video_yuv import COLOR_CHOICES

    video.add_argument("--preset", choices=PRESETS, metavar="PRESET",
                       help=f"encoder speed preset of {', '.join(PRESET_CODECS)}: {', '.join(PRESETS)}; faster ones make "
                            f"bigger files at the same --crf; refused with other codecs (default: {DEFAULT_PRESET})")
    video.add_argument("--video_color", choices=COLOR_CHOICES, default="auto",
                       help="colour path: yuv (Y, U and V planes, no RGB round trip: faster, same Y up to 8-bit "
                            "rounding) or rgb (sr_zoo.upscale's RGB pipeline per frame); default auto: yuv for a Y "
                            "model (ESPCN, FSRCNN, SRCNN, LapSRN) with a yuv420p output from a 4:2:0 source, rgb otherwise")
    p.add_argument("--verbose", action="store_true", help="keep TensorFlow's start-up log lines")
    return p


def _main(argv):
    from sr_zoo.cli_argparse import CliError, load_model, start_tensorflow

    args = _parser().parse_args(argv)
    source, target = pathlib.Path(args.input), pathlib.Path(args.output)
    if args.tile is not None and args.tile <= 0:
        raise CliError(f"--tile must be a positive number of LR pixels, got {args.tile}")
    if not source.exists():
        raise CliError(f"input not found: {source}")
    _refuse_output_over_input(source, target)
    is_video = source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES
    if is_video:
        if target.suffix.lower() not in VIDEO_SUFFIXES:
            raise CliError(f"output {target} must end in a video extension ({', '.join(VIDEO_SUFFIXES)})")
        if args.batch_size < 1:
            raise CliError(f"--batch_size must be >= 1, got {args.batch_size}")
        if not 0 <= args.crf <= 63:
            raise CliError(f"--crf must be in 0..63, got {args.crf}")
    elif source.is_file() and target.suffix.lower() not in IMAGE_SUFFIXES:
        raise CliError(f"output {target} has no image extension ({', '.join(IMAGE_SUFFIXES)})")
    elif source.is_dir() and target.exists() and not target.is_dir():
        raise CliError(f"output {target} is a file; a folder input needs an output folder")
    if source.is_file() and target.exists() and not args.overwrite:
        raise CliError(f"output exists: {target} (use --overwrite)")
    if source.is_dir() and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in source.iterdir()):
        raise CliError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {source}")
    model, label = load_model(args.model)
    start_tensorflow()
    if is_video:
        from sr_zoo.deploy import video

        try:
            stats = video.upscale_video(
                model, source, target, codec=args.codec, crf=args.crf, preset=args.preset, batch_size=args.batch_size,
                overwrite=args.overwrite, tile=args.tile, precision=args.precision, video_color=args.video_color,
            )
        except ValueError as e:
            raise CliError(str(e)) from None
        print(f"{source} -> {target} ({stats['frames']} frames, {stats['frames_per_second']:.2f} frames/s, "
              f"{stats['color']} path; {label})")
        return
    if source.is_file():
        try:
            _one(model, source, target, args.tile, args.precision)
        except ValueError as e:
            raise CliError(str(e)) from None
        print(f"{source} -> {target} ({label})")
        return
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    target.mkdir(parents=True, exist_ok=True)
    import keras

    bar = keras.utils.Progbar(len(files), unit_name="image")
    failed = []
    for i, path in enumerate(files):
        out = target / (path.stem + ".png")
        if not out.exists() or args.overwrite:
            try:
                _one(model, path, out, args.tile, args.precision)
            except ValueError as e:  # unreadable or unsupported image: report, keep going
                failed.append(str(e))
        bar.update(i + 1)
    print(f"{len(files) - len(failed)} of {len(files)} images written to {target} ({label})")
    for line in failed:
        print(f"skipped {line}", file=sys.stderr)
    if failed:
        sys.exit(1)


def _refuse_output_over_input(source, target):
    """An output that is its input, or lies inside an input folder, is refused whatever ``--overwrite`` says.

    Paths are compared after resolving symlinks and ``..``, so other spellings of the same file count.
    """
    from sr_zoo.cli_argparse import CliError

    src, dst = source.resolve(), target.resolve()
    if dst == src or (target.exists() and os.path.samefile(source, target)):
        raise CliError(f"output {target} is the input {source}; choose another output (the input is never replaced)")
    if source.is_dir() and src in dst.parents:
        raise CliError(f"output {target} is inside the input folder {source}; choose a folder outside it")


def _one(model, source, target, tile, precision="auto"):
    from PIL import Image

    from sr_zoo import inference

    image = _read(source)
    try:
        sr = inference.upscale(model, image, tile=tile, precision=precision)
    except ValueError as e:
        raise ValueError(f"{source}: {e}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.tmp{target.suffix}")
    try:
        Image.fromarray(sr.squeeze() if sr.ndim == 3 and sr.shape[-1] == 1 else sr).save(tmp)
    except (OSError, ValueError, KeyError) as e:  # e.g. RGBA as JPEG
        tmp.unlink(missing_ok=True)
        raise ValueError(f"cannot write {target}: {e}") from None
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
    except (OSError, SyntaxError, ValueError) as e:  # PIL: OSError for most, SyntaxError for some broken headers
        size = path.stat().st_size if path.exists() else 0
        why = "empty file" if size == 0 else str(e).splitlines()[0]
        raise ValueError(f"cannot read image {path}: {why}") from None


class _CallableModule(types.ModuleType):
    """``sr_zoo.upscale`` is also the function: importing this module must not shadow it."""

    def __call__(self, *args, **kwargs):
        from sr_zoo.inference import upscale

        return upscale(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    from sr_zoo.cli_argparse import run

    run(_main, sys.argv[1:], PROG)

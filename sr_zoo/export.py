"""Command line: export a zoo model to a SavedModel, TFLite or ONNX file.

    python -m sr_zoo.export --model=espcn_x3 --format=saved_model espcn_x3_savedmodel
    python -m sr_zoo.export --model=espcn_x3 --format=tflite espcn_x3.tflite
    python -m sr_zoo.export --model=espcn_x3 --format=onnx espcn_x3.onnx
    python -m sr_zoo.export --model=runs/edsr-baseline_x2/best.keras --format=onnx edsr_x2.onnx

Every file takes a uint8 RGB image (H, W, 3) and returns the uint8 RGB image
at the scale, with sr_zoo.upscale's colour pipeline inside (SavedModel:
signature "serve", also grey and alpha images). TFLite: any size by default
(resize the interpreter's input to the image), or one fixed --input_size=HxW;
--quantize=none|float16|dynamic|int8 (int8: the zoo's quantization-aware
weights where they ship, else the float weights calibrated on LR crops of T91
or --calibration_data). ONNX: any size. --io=model writes the network's own
float graph instead (NHWC in [0, 1], Y for Y models; the colour steps are the
caller's). Each file records the model, scale, colour handling, value range
and the sha256 of its .keras file in its metadata.

In Python, ``sr_zoo.deploy.export(model, output, format=...)`` is the function this wraps.
"""

import argparse
import pathlib
import shutil
import sys

PROG = "python -m sr_zoo.export"


def _parser():
    from sr_zoo.cli_argparse import ArgumentParser
    from sr_zoo.deploy.exporters import FORMATS, IO, QUANTIZE

    p = ArgumentParser(prog=PROG, description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", help="SavedModel folder, .tflite or .onnx file")
    p.add_argument("--model", required=True, help="pretrained model name or .keras file")
    p.add_argument("--format", required=True, choices=FORMATS, help="saved_model, tflite or onnx")
    p.add_argument("--quantize", default="none", choices=QUANTIZE, help="TFLite only (default: none = float32)")
    p.add_argument("--input_size", help="TFLite only: LR input HxW, or 'dynamic' (the default for --io=rgb; --io=model: 360x640)")
    p.add_argument("--io", default="rgb", choices=IO,
                   help="rgb: uint8 RGB image in and out, colour pipeline inside (default); model: the network's "
                        "float graph")
    p.add_argument("--calibration_data", help="int8 only: folder of HR training images (default: T91 in the shared data)")
    p.add_argument("--calibration_samples", type=int, default=16, help="int8 only: LR crops for calibration (default: 16)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--verbose", action="store_true", help="keep TensorFlow's start-up and converter log lines")
    return p


def _main(argv):
    from sr_zoo.cli_argparse import CliError, Failure, load_model, start_tensorflow

    args = _parser().parse_args(argv)
    output = pathlib.Path(args.output)
    if output.exists() and not args.overwrite:
        raise CliError(f"output exists: {output} (use --overwrite)")
    if args.calibration_samples < 1:
        raise CliError(f"--calibration_samples must be >= 1, got {args.calibration_samples}")
    if args.calibration_data and not pathlib.Path(args.calibration_data).is_dir():
        raise CliError(f"--calibration_data folder not found: {args.calibration_data}")
    from sr_zoo.deploy import exporters

    try:  # option errors before the (slow) model load
        exporters.check_options(output, args.format, args.quantize, args.input_size, args.io)
    except exporters.ExportError as e:
        raise CliError(str(e)) from None
    model, label = load_model(args.model)
    name, source = _source(args.model)
    if args.quantize == "int8" and name is not None:
        from sr_zoo import pretrained

        int8_file = pretrained.int8_path(name)
        if int8_file is not None:  # the zoo's quantization-aware fine-tune of the same model
            model, source = pretrained.load_int8(name), int8_file
            label = f"{name} (pretrained, quantization-aware int8 weights)"
    start_tensorflow()
    if output.exists():
        shutil.rmtree(output) if output.is_dir() else output.unlink()
    from sr_zoo import _startup

    _startup.begin()  # the converters print C++ log lines ("fully_quantize: 0, ..."); hold them back
    try:
        result = exporters.export(
            model, output, format=args.format, quantize=args.quantize, input_size=args.input_size,
            io=args.io, calibration_images=args.calibration_data, calibration_samples=args.calibration_samples,
            name=name, source=source,
        )
    except exporters.ExportError as e:  # past the option checks: the conversion (or its calibration) failed
        _startup.end(show=False)
        raise Failure(str(e)) from None
    _startup.end(show=False)
    extra = f", input {result['input_size']} {result.get('input_dtype', '')}".rstrip() if args.format == "tflite" else ""
    print(f"{label} -> {output} ({args.format}, io={args.io}, quantize={args.quantize}{extra}, "
          f"{result['bytes'] / 1024:.0f} KiB)")


def _source(spec):
    """(name for the metadata, .keras file) of --model: a zoo name and its shipped file, or a file."""
    if pathlib.Path(spec).is_file():
        return None, spec
    from sr_zoo import pretrained

    return spec, pretrained.path(spec)


if __name__ == "__main__":
    from sr_zoo.cli_argparse import run

    run(_main, sys.argv[1:], PROG)

"""Where a model's int8 error comes from: each rounding alone, on Set5, against the budget of a 0.1 dB drop.

    python benchmarks/int8_error_sources.py --model=fsrcnn-s_x3
    python benchmarks/int8_error_sources.py --model=fsrcnn-s_x3 --calibrated --split_prelu
    python benchmarks/int8_error_sources.py --model=espcn_x2 --calibrated --split_tanh
    python benchmarks/int8_error_sources.py --model=espcn_x2 --weights=runs/espcn_x2.int8.float/best.keras \
        --equalize_channels
    python benchmarks/int8_error_sources.py --model=fsrcnn_x2 --weights=runs/fsrcnn_x2.int8/best.keras

The quantization-aware copy: ``--weights`` (a run's ``best.keras``), else the
zoo's int8 weights where they ship (unless ``--calibrated``), else the float
weights (or a float ``--weights`` file) with their ranges calibrated on 16 T91
crops (what ``--quantize=int8`` does without them; ``--split_prelu`` /
``--split_tanh``: after writing their PReLUs as ReLU halves or their tanh as
clipped pieces, :mod:`sr_zoo.models.activation_split`; ``--equalize_channels``:
after :func:`sr_zoo.models.equalize_channels` on the same crops). Per
rounding (an activation's 8-bit grid, a layer's int8 weights): the output's
mean squared error against the same weights in float with only it on
(:func:`sr_zoo.models.int8_error.error_sources`, Set5 LR images whole, the
model's input: Y for Y models), its share of the sum, and the dB it alone would
cost at the float model's Set5 PSNR. Simulated in Keras, which the int8 TFLite
file matches to about 0.1 level (see the README's int8 section). For calibrated
float weights the total is the int8 file's loss; a quantization-aware file has
learnt to rely on its clipped ranges, so there its float computation is no
reference and the shares are what to read.
"""

import argparse
import os
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import sr_zoo  # noqa: E402
import sr_zoo.pretrained  # noqa: E402
from sr_zoo import models  # noqa: E402
from sr_zoo.data import benchmarks as benchmark_data  # noqa: E402
from sr_zoo.image import rgb_to_y  # noqa: E402
from sr_zoo.models import int8_error, quantization  # noqa: E402

DROP = 0.1  # dB: the zoo's int8 gate (sr_zoo.zoo_tools.int8.MAX_DROP)


def quantization_aware_copy(name, weights=None, calibrated=False, split_prelu=False, split_tanh=False,
                            equalize=False):
    """The copy to analyse and where it came from; a ``ValueError`` for options that do not apply."""
    import keras

    float_options = split_prelu or split_tanh or equalize  # they rewrite float weights before calibrating them
    model = keras.models.load_model(weights, compile=False) if weights else None
    if model is not None and models.is_quantization_aware(model):
        if calibrated or float_options:
            raise ValueError(f"--weights: {weights} is quantization-aware already; --calibrated, --split_prelu, "
                             f"--split_tanh and --equalize_channels apply to float weights")
        return model, str(weights)
    if model is None and sr_zoo.pretrained.int8_path(name) and not (calibrated or float_options):
        return sr_zoo.pretrained.load_int8(name), f"the zoo's {name}.int8.keras"
    from sr_zoo.deploy.tflite_export import calibration_crops

    model = model if model is not None else sr_zoo.pretrained.load(name)
    crops = np.stack(calibration_crops(models.describe(model), (96, 96)))
    model = models.split_prelu(model) if split_prelu else model
    model = models.split_tanh(model) if split_tanh else model
    copy = models.quantization_aware(model)
    if equalize:
        models.equalize_channels(copy, [crops])
    # one batch: its min and max set every range, as TFLite's calibration takes the extremes
    quantization.calibrate(copy, [crops])
    changes = [text for flag, text in ((split_prelu, "PReLUs split"), (split_tanh, "tanh split"),
                                       (equalize, "channels equalized")) if flag]
    return copy, (f"{weights or 'float weights'}{' with ' + ', '.join(changes) if changes else ''}, "
                  f"ranges from 16 T91 crops")


def set5_inputs(scale, channels):
    inputs = []
    for pair in benchmark_data.load_pairs("set5", scale):
        lr = pair.lr if pair.lr.ndim == 3 else np.repeat(pair.lr[..., None], 3, axis=-1)
        lr = rgb_to_y(lr) if channels == 1 else lr
        inputs.append(lr[None].astype(np.float32) / 255.0)
    return inputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a shipped model name, e.g. fsrcnn-s_x3")
    parser.add_argument("--weights", type=pathlib.Path, help="a .keras file (a run's best.keras): "
                        "quantization-aware, or float and then calibrated like the shipped float weights")
    parser.add_argument("--calibrated", action="store_true", help="the float weights calibrated, even where int8 "
                        "weights ship (implied by the three options below)")
    parser.add_argument("--split_prelu", action="store_true", help="with the float weights: PReLUs as ReLU halves")
    parser.add_argument("--split_tanh", action="store_true", help="with the float weights: tanh as clipped pieces")
    parser.add_argument("--equalize_channels", action="store_true", help="with the float weights: channels "
                        "equalized before the calibration (sr_zoo.models.equalize_channels)")
    args = parser.parse_args(argv)
    entry = sr_zoo.pretrained.available().get(args.model)
    if entry is None:
        parser.error(f"--model: {args.model!r} is not a shipped model")
    if args.weights and not args.weights.is_file():
        parser.error(f"--weights: no file {args.weights}")
    try:
        model, source = quantization_aware_copy(args.model, args.weights, args.calibrated, args.split_prelu,
                                                args.split_tanh, args.equalize_channels)
    except ValueError as e:
        parser.error(str(e))
    start = time.perf_counter()
    breakdown = int8_error.error_sources(model, set5_inputs(entry["scale"], entry["channels"]))
    psnr = entry["measured"]["set5"]["psnr"]
    budget = int8_error.allowed_error(DROP, psnr)
    print(f"{args.model}: {source}; Set5 LR whole, output MSE against float (x 1e-6), float Set5 {psnr:.2f} dB")
    print("| rounding | kind | MSE alone | share | dB alone |\n|---|---|---|---|---|")
    for s in breakdown.sources:
        share = s.error / breakdown.sum_of_sources if breakdown.sum_of_sources else 0.0
        print(f"| {s.name} | {s.kind} | {s.error * 1e6:.2f} | {share:.0%} | {int8_error.drop_db(s.error, psnr):.3f} |")
    print(f"all on: {breakdown.total * 1e6:.2f} (sum alone {breakdown.sum_of_sources * 1e6:.2f}), "
          f"{int8_error.drop_db(breakdown.total, psnr):.3f} dB; a {DROP} dB drop allows {budget * 1e6:.2f}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{time.perf_counter() - start:.1f} s, load average {load}")


if __name__ == "__main__":
    main()

"""The suspects of ``bench_training.py``'s float32 gap: options that change one thing, both sides where it
applies (Keras and PyTorch), so the same command with and without one measures what it costs.

>>> training_suspects.add_flags(parser)       # --activation, --optimizer, --subpixel, --tf_threads, ...
>>> args = parser.parse_args(); extra = training_suspects.check(args, parser)  # --dataset_option
>>> notes = training_suspects.apply(args)     # the process-wide changes, described for the header
"""

import keras
import numpy as np
import tensorflow as tf

from sr_zoo import text
from sr_zoo.errors import FlagError


def add_flags(p):
    """The suspect options on the argparse parser ``p``."""
    p.add_argument("--activation", choices=("tanh", "relu", "gelu"), help="ESPCN's activation, Keras and PyTorch")
    p.add_argument("--optimizer", choices=("sgd", "adam"), help="another optimizer than the recipe's, both sides")
    p.add_argument("--subpixel", default="depth_to_space", choices=("depth_to_space", "reshape"),
                   help="Keras sub-pixel shuffle: keras.ops.depth_to_space or reshape + transpose")
    p.add_argument("--tf_threads", help="INTRA,INTER: TensorFlow's thread pools (default: TensorFlow's)")
    p.add_argument("--remapper", default="as-train", choices=("as-train", "on", "off"),
                   help="Grappler's remapper (op fusions): as train.py (off for LapSRN only), on or off")
    p.add_argument("--dataset_option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra sr_zoo.data.train_dataset argument (repeatable), e.g. patches_per_visit=16 or "
                        "num_parallel_calls=1")
    p.add_argument("--torch_channels_last", action="store_true", help="PyTorch in channels_last (NHWC) memory format")


def check(args, p):
    """Validates the suspect options (``p.error`` on a bad one); returns ``--dataset_option`` as a dict (numbers
    and booleans where they parse, else strings: ``sr_zoo.text.parse_options``)."""
    if args.tf_threads and len(args.tf_threads.split(",")) != 2:
        p.error("--tf_threads: INTRA,INTER")
    options = {}
    for item in args.dataset_option:
        try:
            options.update(text.parse_options([item], "--dataset_option"))
        except FlagError:
            p.error(f"--dataset_option: KEY=VALUE, got {item!r}")
    return options


def depth_to_space_by_reshape(x, block_size, data_format=None):
    """``keras.ops.depth_to_space`` (NHWC, TF's channel order) as reshape + transpose + reshape."""
    ops, r = keras.ops, block_size
    b, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
    c = x.shape[-1] // (r * r)
    y = ops.reshape(x, (b, h, w, r, r, c))
    y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
    return ops.reshape(y, (b, h * r, w * r, c))


def apply(args):
    """The process-wide changes of the suspect options; returns what they are, for the header."""
    notes = []
    if args.tf_threads:
        intra, inter = (int(v) for v in args.tf_threads.split(","))
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    notes.append(f"TF threads intra {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}, "
                 f"inter {tf.config.threading.get_inter_op_parallelism_threads() or 'default'}")
    if args.subpixel == "reshape":
        x = np.random.default_rng(0).random((2, 5, 4, 18), np.float32)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(depth_to_space_by_reshape(x, 3)),
                                      keras.ops.convert_to_numpy(keras.ops.depth_to_space(x, 3)))
        keras.ops.depth_to_space = depth_to_space_by_reshape  # SubPixel, SubPixelConv2DTranspose call it by name
        notes.append("sub-pixel shuffle: reshape + transpose")
    if args.remapper != "as-train":
        tf.config.optimizer.set_experimental_options({"remapping": args.remapper == "on"})
        notes.append(f"Grappler remapper {args.remapper} for every recipe")
    if args.activation:
        notes.append(f"ESPCN activation {args.activation} (both sides)")
    if args.optimizer:
        notes.append(f"optimizer {args.optimizer} (both sides)")
    if args.torch_channels_last:
        notes.append("PyTorch channels_last")
    return notes

"""What ``python -m sr_zoo.upscale`` and ``python -m sr_zoo.export`` share: argparse on the exit-code
convention of :mod:`sr_zoo.cli`, and model loading.

A usage error (bad flag, missing or unusable input) is one line ``<prog>: error: ... (see --help)``
and exit code 2; a failure while running (a conversion, a corrupt shipped model) exit code 1;
Ctrl-C exit code 130; ``--help`` prints the full text and exits 0.
"""

import argparse
import os
import zipfile

from sr_zoo import cli

CliError = cli.UsageError  # a usage error: one line, exit code 2
Failure = cli.Failure  # a failure while running: one line, exit code 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is the one line of :func:`sr_zoo.cli.fail` (argparse prints the whole usage)."""

    def error(self, message):
        raise CliError(message)


def run(main, argv, prog):
    """Calls ``main(argv)`` under :func:`sr_zoo.cli.one_line_errors`: one line and the convention's exit code."""
    from sr_zoo import _startup

    try:
        with cli.one_line_errors(prog, interrupted="interrupted; nothing written under the output name"):
            main(argv)
    finally:
        _startup.end(show=False)


def first_line(error):
    """The first non-empty line of an exception's message (Keras and converters write paragraphs)."""
    text = str(error).strip()
    return next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)


def load_model(spec):
    """``--model``: a pretrained name or a ``.keras`` file -> ``(model, label)``; CliError when unusable."""
    if os.path.isdir(spec):
        raise CliError(f"--model={spec} is a folder; expected a pretrained name or a .keras file")
    if os.path.exists(spec) and not zipfile.is_zipfile(spec):  # Keras calls this "File not found"
        size = os.path.getsize(spec)
        raise CliError(f"cannot load model file {spec}: not a .keras (zip) archive ({size} bytes; truncated or corrupt?)")
    from sr_zoo import pretrained

    try:
        return pretrained.load_model(spec)
    except pretrained.IntegrityError as e:  # a shipped file, not the user's: exit 1
        raise Failure(first_line(e)) from None
    except (ValueError, FileNotFoundError, OSError) as e:
        raise CliError(first_line(e)) from None


def start_tensorflow():
    """Initialises TensorFlow's devices while its start-up lines are held back, then releases stderr.

    Under another Keras backend (JAX, PyTorch: no TensorFlow needed) only stderr is released.
    """
    import keras

    from sr_zoo import _startup

    if keras.backend.backend() != "tensorflow":
        _startup.end(show=False)
        return
    import tensorflow as tf

    tf.config.list_logical_devices()  # cuInit and friends log here
    # sr_zoo.upscale compiles one function per image shape on purpose (cached); a folder of
    # differently sized photos makes TensorFlow warn about "retracing", which is not news to the user.
    tf.get_logger().addFilter(lambda record: "triggered tf.function retracing" not in record.getMessage())
    _startup.end(show=False)

"""What ``python -m sr_zoo.upscale`` and ``python -m sr_zoo.export`` share: one-line errors, model loading.

Errors are one line on stderr ending in "(see --help)" with exit code 1;
``--help`` prints the full text and exits 0.
"""

import argparse
import os
import sys
import zipfile


class CliError(Exception):
    """A user error: printed as one line, exit code 1."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line and exit code 1 (argparse prints the usage and exits 2)."""

    def error(self, message):
        raise CliError(message)


def run(main, argv, prog):
    """Calls ``main(argv)``; turns CliError, ValueError and Ctrl-C into one line and an exit code."""
    try:
        main(argv)
    except CliError as e:
        _fail(f"{prog}: error: {e} (see --help)", 1)
    except KeyboardInterrupt:
        _fail(f"{prog}: interrupted; nothing written under the output name", 130)
    finally:
        from sr_zoo import _startup

        _startup.end(show=False)


def _fail(line, code):
    from sr_zoo import _startup

    _startup.end(show=False)
    print(line, file=sys.stderr)
    sys.exit(code)


def first_line(error):
    """The first non-empty line of an exception's message (Keras and converters write paragraphs)."""
    text = str(error).strip()
    return next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)


def load_model(spec):
    """``--model``: a pretrained name or a ``.keras`` file -> ``(model, label)``; CliError when unusable."""
    from sr_zoo import evaluation

    if os.path.isdir(spec):
        raise CliError(f"--model={spec} is a folder; expected a pretrained name or a .keras file")
    if os.path.exists(spec) and not zipfile.is_zipfile(spec):  # Keras calls this "File not found"
        size = os.path.getsize(spec)
        raise CliError(f"cannot load model file {spec}: not a .keras (zip) archive ({size} bytes; truncated or corrupt?)")
    try:
        return evaluation.load_model(spec)
    except (ValueError, FileNotFoundError, OSError) as e:
        raise CliError(first_line(e)) from None


def start_tensorflow():
    """Initialises TensorFlow's devices while its start-up lines are held back, then releases stderr."""
    import tensorflow as tf

    from sr_zoo import _startup

    tf.config.list_logical_devices()  # cuInit and friends log here
    # sr_zoo.upscale compiles one function per image shape on purpose (cached); a folder of
    # differently sized photos makes TensorFlow warn about "retracing", which is not news to the user.
    tf.get_logger().addFilter(lambda record: "triggered tf.function retracing" not in record.getMessage())
    _startup.end(show=False)

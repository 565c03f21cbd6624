"""What the five command-line tools share: one exit-code convention, one-line errors, flag checks, ``--help``.

``train.py``, ``evaluate.py`` and ``python -m sr_zoo.pretrained`` use this module directly;
``python -m sr_zoo.upscale`` and ``python -m sr_zoo.export`` through :mod:`sr_zoo.cli_argparse`. All of them:

========  ====================================================================================
exit 0    done; ``--help`` prints the tool's usage and exits 0
exit 2    usage error: a bad flag or argument, an input file or folder the user named that is
          missing or unusable; stderr: ``<tool>: error: <message> (see --help)``
exit 1    failure while running: training stopped (NaN loss, another run in the folder), a
          conversion failed, a shipped weights file is corrupt; ``<tool>: error: <message>``
exit 130  interrupted (Ctrl-C); ``<tool>: error: interrupted``
========  ====================================================================================

The message is always one line. ``SR_ZOO_DEBUG=1`` shows full tracebacks instead.

>>> from sr_zoo import cli
>>> cli.run(main, __doc__)          # instead of absl's app.run(main)
"""

import contextlib
import os
import sys

# The errors and text helpers live low in the package (library modules raise and use them); the tools
# keep finding them here.
from sr_zoo.errors import Failure, FlagError, ToolFailure, UsageError  # noqa: F401
from sr_zoo.text import duration, parse_options  # noqa: F401

HELP_FLAGS = ("--help", "-h", "-?", "--helpshort", "--helpfull")
USAGE_ERROR, FAILURE, INTERRUPTED = 2, 1, 130


def fail(tool, message, code=USAGE_ERROR, hint=None):
    """Prints ``tool: error: message`` (one line) and exits with ``code``.

    ``hint`` (default: for usage errors only) appends "(see --help)".
    """
    from sr_zoo import _startup

    _startup.end(show=False)  # a tool holding back TensorFlow's start-up lines: the error must show
    message = " ".join(str(message).split())  # one line, whatever the message was made of
    hint = code == USAGE_ERROR if hint is None else hint
    print(f"{tool}: error: {message}" + (" (see --help)" if hint else ""), file=sys.stderr)
    sys.exit(code)


def run(main, doc):
    """``absl.app.run(main)`` with ``--help`` exiting 0, flag-parsing errors on one line and Ctrl-C exiting 130."""
    from absl import app, flags

    tool = os.path.basename(sys.argv[0]) or "sr_zoo"
    if any(arg in HELP_FLAGS for arg in sys.argv[1:]):
        print((doc or "").strip() + "\n")
        full = "--helpfull" in sys.argv[1:]
        print(flags.FLAGS if full else flags.FLAGS.main_module_help())
        sys.exit(0)

    def parse(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            fail(tool, e)

    try:
        app.run(main, flags_parser=parse)
    except KeyboardInterrupt:  # outside one_line_errors (start-up, flag parsing)
        if _debug():
            raise
        fail(tool, "interrupted", INTERRUPTED)


def _debug():
    return bool(os.environ.get("SR_ZOO_DEBUG"))


@contextlib.contextmanager
def one_line_errors(tool, debug=None, interrupted="interrupted"):
    """Turns the library's expected errors into one line on stderr and the exit code of the convention above.

    Flag and input errors (:class:`UsageError`, ``ValueError``, a missing file, ``ImportError`` for a
    TensorFlow-only feature without TensorFlow) exit 2; training that stopped, :class:`Failure`, a
    corrupt shipped file and other OS errors (disk full) exit 1; Ctrl-C exits 130 with ``interrupted``.
    ``debug`` (default: ``$SR_ZOO_DEBUG``) lets every error through with its traceback.
    """
    if _debug() if debug is None else debug:
        yield
        return
    try:
        yield
    except KeyboardInterrupt:
        fail(tool, interrupted, INTERRUPTED)
    except UsageError as e:
        fail(tool, e)
    except Failure as e:
        fail(tool, e, FAILURE)
    except Exception as e:
        if isinstance(e, ToolFailure):  # an error a library module defines (TrainingError, IntegrityError)
            fail(tool, f"{e.prefix}{e}", FAILURE)
        if isinstance(e, (ValueError, ImportError, FileNotFoundError, FileExistsError, NotADirectoryError,
                          IsADirectoryError, PermissionError)):
            fail(tool, e)
        if isinstance(e, OSError):
            fail(tool, e, FAILURE)
        raise


def check_recipe_flags(recipe, *, hr_patch_size=None, checkpoint_every=None):
    """Rejects values that would fail late (or silently train to NaN), naming the flag."""
    positive = {
        "learning_rate": recipe.learning_rate, "batch_size": recipe.batch_size, "epochs": recipe.epochs,
        "steps_per_epoch": recipe.steps_per_epoch, "scale": recipe.scale,
    }
    for name, value in positive.items():
        if value is None or value <= 0:
            raise FlagError(f"--{name} must be positive, got {value}")
    if recipe.lr_schedule == "step" and not (recipe.lr_decay_steps and recipe.lr_decay_steps > 0):
        raise FlagError(f"--lr_decay_steps must be positive with --lr_schedule=step, got {recipe.lr_decay_steps}")
    if recipe.lr_schedule in ("step", "plateau") and not 0 < recipe.lr_decay_factor <= 1:
        raise FlagError(f"--lr_decay_factor must be in (0, 1], got {recipe.lr_decay_factor}")
    if recipe.min_learning_rate < 0 or (recipe.lr_schedule == "cosine" and recipe.min_learning_rate > recipe.learning_rate):
        raise FlagError(f"--min_learning_rate must be between 0 and --learning_rate, got {recipe.min_learning_rate}")
    warmup = recipe.warmup_steps or 0
    if warmup < 0 or (warmup and warmup >= recipe.epochs * recipe.steps_per_epoch):
        raise FlagError(f"--warmup_steps must be between 0 and the run's {recipe.epochs * recipe.steps_per_epoch} "
                        f"steps (--epochs x --steps_per_epoch), got {warmup}")
    if warmup and recipe.lr_schedule not in ("constant", "cosine"):
        raise FlagError(f"--warmup_steps needs --lr_schedule=constant or cosine, got {recipe.lr_schedule}")
    if recipe.reconstruction_lr_multiplier <= 0:
        raise FlagError(f"--reconstruction_lr_multiplier must be positive, got {recipe.reconstruction_lr_multiplier}")
    if recipe.degradation == "gaussian" and not (recipe.blur_sigma and recipe.blur_sigma > 0):
        raise FlagError(f"--degradation=gaussian needs a positive --blur_sigma (HR pixels), got {recipe.blur_sigma}")
    if recipe.blur_sigma is not None and recipe.degradation != "gaussian":
        raise FlagError(f"--blur_sigma applies to --degradation=gaussian only, not {recipe.degradation}")
    if recipe.equalize_channels and not recipe.quantization_aware:
        raise FlagError("--equalize_channels prepares an int8 fine-tune: use it with --quantization_aware")
    # (--split_tanh and --split_prelu are allowed in float: split tanh is a new function, trained in float before
    # quantization-aware; split PReLU's halves then train apart, a larger network than the paper's)
    if recipe.freeze_ranges is not None and not recipe.quantization_aware:
        raise FlagError("--freeze_ranges freezes int8 ranges: use it with --quantization_aware")
    if recipe.freeze_ranges is not None and not 0 < recipe.freeze_ranges < 1:
        raise FlagError(f"--freeze_ranges is a fraction of the run's steps, in (0, 1), got {recipe.freeze_ranges}")
    if hr_patch_size is not None and (hr_patch_size < recipe.scale or hr_patch_size % recipe.scale):
        raise FlagError(
            f"--patch_size={hr_patch_size} (HR side) must be a positive multiple of --scale={recipe.scale}; "
            f"or give the LR side with --lr_patch_size"
        )
    if recipe.lr_patch_size is not None and recipe.lr_patch_size <= 0:
        raise FlagError(f"--lr_patch_size must be positive, got {recipe.lr_patch_size}")
    if checkpoint_every is not None and checkpoint_every < 0:
        raise FlagError(f"--checkpoint_every must be 0 (epoch ends only) or positive, got {checkpoint_every}")
    if not recipe.datasets:
        raise FlagError("--datasets is empty")


def _convert_each(values, flag, convert, what):
    """Each item of a list flag through ``convert``; one that fails names the flag and the item."""
    out = []
    for v in values:
        try:
            out.append(convert(str(v).strip()))
        except ValueError:
            raise FlagError(f"{flag}: {v!r} is not {what}") from None
    return out


def parse_int_list(values, flag):
    """``['2', '3']`` -> ``[2, 3]``; a non-integer or non-positive item names the flag."""
    out = _convert_each(values, flag, int, "an integer")
    for n in out:
        if n <= 0:
            raise FlagError(f"{flag}: {n} must be positive")
    return out


def parse_rescale(values, flag="--rescale"):
    """``['1', '0.9']`` -> ``(1.0, 0.9)``; ``['none']`` -> ``None``; a factor outside (0, 1] names the flag."""
    if [str(v).strip().lower() for v in values] in ([], ["none"]):
        return None
    out = _convert_each(values, flag, float, "a number")
    for r in out:
        if not 0 < r <= 1:
            raise FlagError(f"{flag}: factor {r:g} is not in (0, 1] (HR images are only ever shrunk)")
    return tuple(out)

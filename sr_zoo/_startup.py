"""Quiet TensorFlow start-up: imported first by ``sr_zoo/__init__.py``.

TensorFlow 2.21's C++ runtime writes its start-up lines (oneDNN, CUDA stubs, CPU features,
cuInit) to file descriptor 2 before ``absl::InitializeLog`` runs, so ``TF_CPP_MIN_LOG_LEVEL``
does not hide them and every tool would open with a screen of them. Two tools here:

* :func:`quiet_tensorflow_import` (run at import): ``TF_CPP_MIN_LOG_LEVEL`` defaults to 2 and,
  unless it is 0 or 1, descriptor 2 points at /dev/null while TensorFlow loads and lists its
  devices. Nothing happens if TensorFlow is already imported, is not the Keras backend, or is
  not installed.
* :func:`begin` / :func:`end`: the command-line tools (``python -m sr_zoo.upscale``,
  ``sr_zoo.export``) hold descriptor 2 in a buffer while the package and the converters start;
  the buffer is dropped on success and printed if the process dies before :func:`end`.

``TF_CPP_MIN_LOG_LEVEL=0`` (or 1), or a tool's ``--verbose`` flag, keeps TensorFlow's output.
"""

import atexit
import os
import sys
import tempfile

_TOOLS = ("sr_zoo.upscale", "sr_zoo.export")
_held = None  # (saved descriptor 2, buffer file) while output is held back


def tensorflow_logs_wanted(argv=None):
    """True when the user asked for TensorFlow's own output."""
    argv = sys.argv if argv is None else argv
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() in ("0", "1") or "--verbose" in argv


def _tool_command():
    argv = getattr(sys, "orig_argv", [])
    return any(a == "-m" and b in _TOOLS for a, b in zip(argv, argv[1:]))


def begin():
    """Holds back descriptor 2 until :func:`end` (no-op if the user wants TensorFlow's logs)."""
    global _held
    if _held is not None or tensorflow_logs_wanted(getattr(sys, "orig_argv", sys.argv)):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    buffer = tempfile.TemporaryFile()
    _held = (os.dup(2), buffer)
    os.dup2(buffer.fileno(), 2)


def end(show=False):
    """Restores descriptor 2; ``show=True`` first writes out what was held back."""
    global _held
    if _held is None:
        return
    saved, buffer = _held
    _held = None
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)
    if show:
        buffer.seek(0)
        sys.stderr.write(buffer.read().decode(errors="replace"))
        sys.stderr.flush()
    buffer.close()


atexit.register(end, show=True)  # died before end(): the traceback must not stay hidden


def quiet_tensorflow_import():
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if level in ("0", "1") or "tensorflow" in sys.modules:  # the user asked for TensorFlow's info lines
        return
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    try:
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no usable file descriptor 2 (some embedded interpreters)
        return
    os.dup2(null, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # CUDA probing logs here, not at import
    except Exception:  # noqa: BLE001 - whoever needs TensorFlow reports it, with stderr back
        pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def choose_backend_without_tensorflow():
    """With no ``KERAS_BACKEND`` set and no TensorFlow installed, Keras would fail on import: pick the
    first installed of JAX and PyTorch instead (``upscale``, ``evaluate`` and JAX/torch training
    need no TensorFlow; what does, the tf.data pipelines and TFDS, says so in one line)."""
    import importlib.util

    if "KERAS_BACKEND" in os.environ or "keras" in sys.modules:
        return
    try:
        if importlib.util.find_spec("tensorflow") is not None:
            return
    except (ImportError, ValueError):  # sys.modules["tensorflow"] = None, as the tests block it
        pass
    for backend, module in (("jax", "jax"), ("torch", "torch")):
        if importlib.util.find_spec(module) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return


choose_backend_without_tensorflow()
if _tool_command():
    begin()
quiet_tensorflow_import()

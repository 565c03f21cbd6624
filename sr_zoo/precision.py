"""Which floating-point precision to compute in: one place decides it for training, upscaling and evaluation.

``resolve("auto")`` picks by hardware:

* a GPU: ``"float16"`` under TensorFlow (Keras scales the loss), ``"bfloat16"`` under JAX and PyTorch;
* a CPU with native bfloat16 (Intel AMX ``amx_bf16`` or ``avx512_bf16`` in ``/proc/cpuinfo``) under
  TensorFlow: ``"bfloat16"``; oneDNN runs its convolutions there about 4x faster than float32
  (EDSR-baseline training, measured on this project's 2-core Xeon);
* anything else: ``"float32"``: bfloat16 would be emulated, and XLA:CPU (JAX) ran bfloat16 no
  faster than float32 on the same Xeon.

Variables stay float32 in every precision (Keras' ``mixed_*`` policies); which layers a model keeps in
float32 is decided per architecture in :mod:`sr_zoo.models.precision`.

>>> sr_zoo.precision.resolve("auto")                 # on a CPU with AMX
'bfloat16'
>>> sr_zoo.precision.policy("bfloat16")
'mixed_bfloat16'
"""

import functools

import keras

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
#: CPU flags (``/proc/cpuinfo``) of native bfloat16 arithmetic.
BFLOAT16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.lru_cache(maxsize=None)
def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (empty where ``/proc/cpuinfo`` cannot be read, e.g. macOS)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def has_gpu():
    """Whether the Keras backend computes on a GPU."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def resolve(precision="auto", *, gpu=None, flags=None, backend=None):
    """``"float32"``, ``"bfloat16"`` or ``"float16"`` for ``precision`` (one of :data:`PRECISIONS`).

    ``gpu``, ``flags`` (CPU flags) and ``backend`` default to this machine's and Keras'; pass them
    to ask what another machine would get.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    backend = backend or keras.backend.backend()
    if has_gpu() if gpu is None else gpu:
        return "float16" if backend == "tensorflow" else "bfloat16"
    if backend != "tensorflow":  # oneDNN's bfloat16 kernels are TensorFlow's; XLA:CPU gains nothing from them
        return "float32"
    flags = cpu_flags() if flags is None else frozenset(flags)
    return "bfloat16" if flags & set(BFLOAT16_CPU_FLAGS) else "float32"


def policy(precision):
    """The Keras dtype policy of a resolved precision: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``."""
    precision = resolve(precision)
    return "float32" if precision == "float32" else f"mixed_{precision}"


def describe(precision):
    """``"bfloat16 (auto: CPU with amx_bf16)"``: what a tool prints on its protocol line."""
    resolved = resolve(precision)
    if precision != "auto":
        return resolved
    if has_gpu():
        why = "GPU"
    elif keras.backend.backend() != "tensorflow":
        why = f"CPU under {keras.backend.backend()}"
    else:
        found = [f for f in BFLOAT16_CPU_FLAGS if f in cpu_flags()]
        why = f"CPU with {found[0]}" if found else "CPU without native bfloat16"
    return f"{resolved} (auto: {why})"


__all__ = ["PRECISIONS", "resolve", "policy", "describe", "cpu_flags", "has_gpu"]

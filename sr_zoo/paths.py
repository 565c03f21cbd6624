"""Where sr_zoo finds the shared SR data (T91, BSD200, Set5, Set14, B100, ...)."""

import hashlib
import os
import pathlib

#: Environment variable that points at the data folder (the layout of ``../shared/data``).
DATA_ENV_VAR = "SR_ZOO_DATA"

PROJECT_ROOT = pathlib.Path(__file__).resolve().parent.parent


def shared_data_dir():
    """Returns the shared data folder as a ``pathlib.Path``, or ``None`` if absent.

    ``$SR_ZOO_DATA`` wins; otherwise ``../shared/data`` beside the project root.
    """
    env = os.environ.get(DATA_ENV_VAR)
    candidate = pathlib.Path(env) if env else PROJECT_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def sha256(file):
    """The hex sha256 of a file, read in 1 MiB blocks (shipped weights, and the source recorded in exports)."""
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

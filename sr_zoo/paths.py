"""Where sr_zoo finds the shared SR data (T91, BSD200, Set5, Set14, B100, ...)."""

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

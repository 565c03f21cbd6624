import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

from sr_zoo import paths  # noqa: E402


@pytest.fixture(scope="session")
def data_dir():
    """The shared SR data folder (``../shared/data`` or ``$SR_ZOO_DATA``); skips when absent."""
    found = paths.shared_data_dir()
    if found is None:
        pytest.skip(
            f"shared SR data not found: set ${paths.DATA_ENV_VAR} or place it at "
            f"{paths.PROJECT_ROOT.parent / 'shared' / 'data'}"
        )
    return found

"""A builder whose download cannot be made fails within seconds, naming --manual_dir (no minutes of retries)."""

import pathlib
import time

import pytest

from sr_zoo.data import io as sr_io

ROOT = pathlib.Path(__file__).resolve().parent.parent
UNREACHABLE = "http://127.0.0.1:9/DIV2KRK_public.zip"  # the discard port on this machine: refused at once


def test_unreachable_host_fails_fast_naming_manual_dir():
    start = time.time()
    with pytest.raises(sr_io.DownloadUnavailableError, match=r"127\.0\.0\.1:9 is unreachable .*--manual_dir"):
        sr_io.check_reachable({"archive": UNREACHABLE}, "DIV2KRK")
    assert time.time() - start < sr_io.PROBE_TIMEOUT + 2


def test_div2krk_build_without_manual_dir_stops_before_retrying(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    with tfds.core.utils.add_sys_path(ROOT / "tfds_builders"):
        module = __import__("div2krk.div2krk_dataset_builder", fromlist=["Builder"])
    monkeypatch.setattr(module, "_OFFICIAL_URL", UNREACHABLE)
    builder = module.Builder(config="official", data_dir=str(tmp_path))
    start = time.time()
    with pytest.raises(sr_io.DownloadUnavailableError, match="--manual_dir"):
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path / "none")))
    assert time.time() - start < 30

"""Builds t91, bsd200, set5, set14 and b100 from the real files in ../shared/data (skipped when absent).

Set5 goes through the real ``tfds build`` command line; the others through the builder API.
Everything is built once per session into a temporary TFDS data dir.
"""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import sr_zoo
import sr_zoo.data as D
from sr_zoo import paths

BUILDERS = paths.PROJECT_ROOT / "tfds_builders"


def _builder_cls(name):
    import tensorflow_datasets as tfds

    with tfds.core.utils.add_sys_path(BUILDERS):
        return tfds.core.community.builder_cls_from_module(f"{name}.{name}_dataset_builder")


@pytest.fixture(scope="session")
def built(data_dir, tmp_path_factory):
    import tensorflow_datasets as tfds

    out = tmp_path_factory.mktemp("tfds")
    cfg = tfds.download.DownloadConfig(manual_dir=str(data_dir), compute_stats=tfds.download.ComputeStatsMode.SKIP)
    for name, config in (("t91", None), ("bsd200", None), ("sr_benchmarks", "set14"), ("sr_benchmarks", "b100")):
        _builder_cls(name)(data_dir=str(out), config=config).download_and_prepare(download_config=cfg)
    return out


@pytest.fixture(scope="session")
def built_set5_with_cli(built, data_dir):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    tfds_cli = pathlib.Path(sys.executable).with_name("tfds")
    cmd = [str(tfds_cli), "build", str(BUILDERS / "sr_benchmarks"), "--config=set5",
           f"--manual_dir={data_dir}", f"--data_dir={built}"]
    done = subprocess.run(cmd, cwd=paths.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return built


@pytest.mark.parametrize("name,count", [("t91", 91), ("bsd200", 200), ("sr_benchmarks/set14", 14),
                                        ("sr_benchmarks/b100", 100)])
def test_counts_and_shapes(built, data_dir, name, count):
    builder = D.tfds_builder(name, built)
    split = D.pipeline.default_split(builder, train=name in ("t91", "bsd200"))
    assert builder.info.splits[split].num_examples == count
    images = list(D.load_images(name, split, data_dir=built))
    assert len(images) == count
    for ex in images:
        assert ex["hr"].shape[2] == 3 and ex["hr"].dtype == tf.uint8
    names = {ex["name"].numpy().decode(): ex["hr"].numpy() for ex in images}
    if name == "t91":
        assert np.array_equal(names["t1"], np.array(Image.open(data_dir / "T91" / "t1.bmp").convert("RGB")))
    if name == "bsd200":
        assert all(sorted(im.shape[:2]) == [321, 481] for im in names.values())
        assert np.array_equal(names["100075"], np.array(Image.open(data_dir / "BSD200" / "100075.png")))
    if name == "sr_benchmarks/set14":
        bridge = names["bridge"]
        assert bridge.shape == (512, 512, 3) and np.array_equal(bridge[..., 0], bridge[..., 1])
    if name == "sr_benchmarks/b100":
        assert all(sorted(im.shape[:2]) == [321, 480] for im in names.values())  # x3's HR: the largest kept


def test_set5_from_the_tfds_cli_and_stored_lr(built_set5_with_cli, data_dir):
    built = built_set5_with_cli
    builder = D.tfds_builder("sr_benchmarks/set5", built)
    assert builder.info.splits["test"].num_examples == 5
    pairs = list(D.eval_dataset("sr_benchmarks/set5", scale=3, channels=3, with_names=True, data_dir=built))
    assert [n.numpy()[0].decode() for _, _, n in pairs] == ["baby", "bird", "butterfly", "head", "woman"]
    lr, hr, _ = pairs[0]
    to_u8 = lambda t: np.round(t.numpy()[0] * 255).astype(np.uint8)
    sx = data_dir / "Set5" / "SelfExSR" / "image_SRF_3"
    np.testing.assert_array_equal(to_u8(hr), np.array(Image.open(sx / "img_001_SRF_3_HR.png")))
    np.testing.assert_array_equal(to_u8(lr), np.array(Image.open(sx / "img_001_SRF_3_LR.png")))
    # x4 of Set14's grayscale bridge: the stored MATLAB LR, as three equal channels.
    lr14 = [p for p in D.eval_dataset("sr_benchmarks/set14", scale=4, channels=1, data_dir=built)]
    assert len(lr14) == 14 and lr14[2][0].shape[-1] == 1


def test_291_training_mix(built):
    ds = D.train_dataset(["t91", "bsd200"], scale=3, lr_patch_size=17, batch_size=16, seed=0, data_dir=built)
    lr, hr = next(iter(ds))
    assert lr.shape == (16, 17, 17, 1) and hr.shape == (16, 51, 51, 1)
    assert float(tf.math.reduce_std(hr)) > 0.01

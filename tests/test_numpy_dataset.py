"""FolderPairs, the TensorFlow-free PyDataset: the tf.data pipeline's pairs, from numpy only."""

import numpy as np
import pytest
from PIL import Image

import sr_zoo
from sr_zoo.data import FolderPairs


@pytest.fixture()
def folder(tmp_path, data_dir):
    # Two small crops of real T91 images (fast to search exhaustively), one odd-sized, one too small.
    src = sorted((data_dir / "T91").glob("*.bmp"))
    for i, (path, size) in enumerate([(src[0], (61, 52)), (src[1], (48, 70)), (src[2], (20, 20))]):
        rgb = np.asarray(Image.open(path).convert("RGB"))[: size[0], : size[1]]
        Image.fromarray(rgb).save(tmp_path / f"img{i}.png")
    return tmp_path


def _find(pairs, hr_u8):
    """(image, y, x, transform) whose HR patch equals ``hr_u8``; exactly one must exist."""
    found = []
    p, s = pairs.lr_patch, pairs.scale
    for index, image in enumerate(pairs.hr):
        for y in range(image.shape[0] // s - p + 1):
            for x in range(image.shape[1] // s - p + 1):
                for t in range(8):
                    if np.array_equal(pairs.pair(index, y, x, t)[1], hr_u8):
                        found.append((index, y, x, t))
    assert len(found) >= 1, "the tf.data patch is not a crop of any image"
    return found[0]


def test_pairs_are_byte_identical_to_the_tf_data_pipeline(folder):
    tf = pytest.importorskip("tensorflow")
    del tf
    pairs = FolderPairs(folder, scale=3, lr_patch_size=7, batch_size=6, channels=3, seed=0)
    assert len(pairs.hr) == 2  # the 20x20 image is skipped (smaller than the 21x21 HR patch)
    lr_tf, hr_tf = next(iter(sr_zoo.data.train_dataset(str(folder), scale=3, lr_patch_size=7, batch_size=6,
                                                        channels=3, seed=1)))
    to_u8 = lambda a: np.round(np.asarray(a) * 255.0).astype(np.uint8)  # noqa: E731  (k/255 floats: exact)
    transforms = set()
    for lr, hr in zip(to_u8(lr_tf), to_u8(hr_tf)):
        index, y, x, t = _find(pairs, hr)
        transforms.add(t)
        np.testing.assert_array_equal(pairs.pair(index, y, x, t)[0], lr)
    assert len(transforms) > 1  # augmentation really exercised


def test_rescaled_versions_are_the_tf_data_pipelines(folder):
    # FSRCNN's / LapSRN's rescaling augmentation: each image also shrunk by each factor, the same bytes
    tf = pytest.importorskip("tensorflow")
    del tf
    pairs = FolderPairs(folder, scale=3, lr_patch_size=7, batch_size=8, channels=3, seed=0, rescale=(1.0, 0.75))
    # 61x52 and 48x70 and their 0.75 versions (46x39, 36x53); the 20x20 image and its version are too small
    assert [h.shape[:2] for h in pairs.hr] == [(60, 51), (45, 39), (48, 69), (36, 51)]
    shrunk = sr_zoo.imresize(np.asarray(Image.open(folder / "img0.png")), 0.75)  # 46x39, MATLAB bicubic
    np.testing.assert_array_equal(pairs.hr[1], shrunk[:45])
    lr_tf, hr_tf = next(iter(sr_zoo.data.train_dataset(str(folder), scale=3, lr_patch_size=7, batch_size=16,
                                                        channels=3, seed=3, rescale=(1.0, 0.75))))
    to_u8 = lambda a: np.round(np.asarray(a) * 255.0).astype(np.uint8)  # noqa: E731
    images = set()
    for lr, hr in zip(to_u8(lr_tf), to_u8(hr_tf)):
        index, y, x, t = _find(pairs, hr)
        images.add(index)
        np.testing.assert_array_equal(pairs.pair(index, y, x, t)[0], lr)
    assert images & {1, 3}, "no patch came from a rescaled version"
    with pytest.raises(ValueError, match="rescale factors must be in"):
        FolderPairs(folder, scale=3, lr_patch_size=7, batch_size=2, rescale=(1.0, 1.5))


def test_batches_are_deterministic_float_and_y(folder):
    rgb = FolderPairs(folder, scale=2, patch_size=16, batch_size=5, channels=3, seed=7, steps_per_epoch=3)
    y = FolderPairs(folder, scale=2, patch_size=16, batch_size=5, channels=1, seed=7, steps_per_epoch=3)
    assert len(rgb) == 3
    lr, hr = rgb[1]
    assert lr.shape == (5, 8, 8, 3) and hr.shape == (5, 16, 16, 3) and lr.dtype == hr.dtype == np.float32
    lr_y, hr_y = y[1]
    np.testing.assert_array_equal(lr_y, sr_zoo.rgb_to_y(lr))
    np.testing.assert_array_equal(hr_y, sr_zoo.rgb_to_y(hr))
    np.testing.assert_array_equal(rgb[1][0], lr)  # same index, same batch
    assert not np.array_equal(rgb[2][0], lr)
    rgb.on_epoch_end()
    assert not np.array_equal(rgb[1][0], lr)  # a new epoch draws new patches


def test_bad_arguments_fail_with_one_line(folder, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(ValueError, match="no image files in"):
        FolderPairs(empty, scale=2, patch_size=8, batch_size=2)
    with pytest.raises(ValueError, match="multiple of scale=3"):
        FolderPairs(folder, scale=3, patch_size=16, batch_size=2)
    with pytest.raises(ValueError, match="no usable images"):
        FolderPairs(folder, scale=4, lr_patch_size=40, batch_size=2)
    with pytest.raises(ValueError, match="channels"):
        FolderPairs(folder, scale=2, patch_size=8, batch_size=2, channels=2)

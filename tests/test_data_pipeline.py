"""sr_zoo.data pipelines on synthetic images: pairing, exactness, determinism, degradations, bad data."""

import logging
import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import sr_zoo
import sr_zoo.data as D
from sr_zoo.data import degradations as deg
from sr_zoo.data import kernels


def _noise(h, w, seed, channels=3):
    return np.random.default_rng(seed).integers(0, 256, (h, w, channels), dtype=np.uint8)


def _tf_images(images):
    return tf.data.Dataset.from_generator(lambda: iter(images), output_signature=tf.TensorSpec([None, None, 3], tf.uint8))


@pytest.fixture(scope="module")
def noise_images():
    return [_noise(40, 36, 1), _noise(33, 45, 2)]


def _find(image, patch, s):
    """Position (in LR pixels) of ``patch`` in ``image`` on the ``s`` grid, or None."""
    ph = patch.shape[0]
    for y in range(0, image.shape[0] - ph + 1, s):
        for x in range(0, image.shape[1] - ph + 1, s):
            if np.array_equal(image[y:y + ph, x:x + ph], patch):
                return y // s, x // s
    return None


@pytest.mark.parametrize("scale,boundary", [(3, "symmetric"), (4, "replicate")])
def test_bicubic_patches_equal_crops_of_the_whole_lr_image(noise_images, scale, boundary):
    """The margin trick: each LR patch is bit-identical to the same crop of imresize(whole image)."""
    ds = D.train_dataset(_tf_images(noise_images), scale=scale, lr_patch_size=5, batch_size=8, channels=3,
                         augment=False, seed=3, boundary=boundary)
    lr, hr = next(iter(ds))
    lr = np.round(lr.numpy() * 255).astype(np.uint8)
    hr = np.round(hr.numpy() * 255).astype(np.uint8)
    assert lr.shape == (8, 5, 5, 3) and hr.shape == (8, 5 * scale, 5 * scale, 3)
    full = [sr_zoo.imresize(sr_zoo.data.io.modcrop(im, scale), 1 / scale, boundary=boundary) for im in noise_images]
    borders = 0
    for k in range(8):
        hits = [(i, _find(im, hr[k], scale)) for i, im in enumerate(noise_images)]
        i, pos = next((i, p) for i, p in hits if p is not None)
        y, x = pos
        np.testing.assert_array_equal(lr[k], full[i][y:y + 5, x:x + 5])
        borders += y == 0 or x == 0 or y + 5 == full[i].shape[0] or x + 5 == full[i].shape[1]
    assert borders > 0  # patches touching the image border were checked too


def test_patch_size_convention_and_y_channel(noise_images):
    ds = D.train_dataset(_tf_images(noise_images), scale=3, patch_size=27, batch_size=4, seed=0)
    lr, hr = next(iter(ds))
    assert lr.shape == (4, 9, 9, 1) and hr.shape == (4, 27, 27, 1)
    assert lr.dtype == tf.float32 and hr.dtype == tf.float32
    # Y of MATLAB's rgb2ycbcr lies in [16, 235] / 255.
    assert 16 / 255 - 1e-6 <= float(tf.reduce_min(hr)) and float(tf.reduce_max(hr)) <= 235 / 255 + 1e-6
    same = D.train_dataset(_tf_images(noise_images), scale=3, lr_patch_size=9, batch_size=4, seed=0)
    np.testing.assert_array_equal(next(iter(same))[1].numpy(), hr.numpy())
    with pytest.raises(ValueError, match="multiple of scale"):
        D.train_dataset(_tf_images(noise_images), scale=3, patch_size=17, batch_size=4)
    with pytest.raises(ValueError, match="exactly one"):
        D.train_dataset(_tf_images(noise_images), scale=3, patch_size=18, lr_patch_size=6, batch_size=4)


def test_upsampled_lr_for_pre_upsampling_models(noise_images):
    ds = D.train_dataset(_tf_images(noise_images), scale=3, lr_patch_size=6, batch_size=2, seed=0, upsample_lr=True)
    lr, hr = next(iter(ds))
    assert lr.shape == hr.shape == (2, 18, 18, 1)
    assert 0.0 <= float(tf.reduce_min(lr)) and float(tf.reduce_max(lr)) <= 1.0


def _batches(ds, n):
    return [tuple(t.numpy() for t in b) for b in ds.take(n)]


def test_deterministic_for_a_seed(noise_images):
    kw = dict(scale=2, lr_patch_size=8, batch_size=4, degradation="kernel", noise_sigma=(0, 10),
              jpeg_quality=(40, 90))
    a = _batches(D.train_dataset(_tf_images(noise_images), seed=7, **kw), 3)
    b = _batches(D.train_dataset(_tf_images(noise_images), seed=7, **kw), 3)
    c = _batches(D.train_dataset(_tf_images(noise_images), seed=8, **kw), 3)
    for (la, ha), (lb, hb) in zip(a, b):
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(ha, hb)
    assert not all(np.array_equal(la, lc) for (la, _), (lc, _) in zip(a, c))


def _dihedral_variants(x):
    out = []
    for k in range(4):
        r = np.rot90(x, k)
        out += [r, r[:, ::-1]]
    return out


def test_augmentation_is_the_same_dihedral_transform_on_both():
    """Undoing the transform that maps each HR patch back into the image also maps its LR patch
    back onto the same crop of the whole-image LR, bit for bit; all 8 transforms occur."""
    img = _noise(64, 64, 5)
    full = sr_zoo.imresize(img, 1 / 2)
    ds = D.train_dataset(_tf_images([img]), scale=2, lr_patch_size=8, batch_size=32, channels=3,
                         augment=True, seed=1)
    lr, hr = next(iter(ds))
    lr = np.round(lr.numpy() * 255).astype(np.uint8)
    hr = np.round(hr.numpy() * 255).astype(np.uint8)
    used = set()
    for k in range(32):
        for u, (hr_u, lr_u) in enumerate(zip(_dihedral_variants(hr[k]), _dihedral_variants(lr[k]))):
            pos = _find(img, hr_u, 2)
            if pos is not None:
                y, x = pos
                np.testing.assert_array_equal(lr_u, full[y:y + 8, x:x + 8])
                used.add(u)
                break
        else:
            raise AssertionError(f"patch {k} is no dihedral transform of a crop")
    assert len(used) >= 6  # 32 draws of 8 transforms


def test_kernel_degradation_matches_the_numpy_div2krk_recipe():
    hr = _noise(44, 48, 9)
    k2 = kernels.div2krk_kernel(np.random.default_rng(0)).astype(np.float32)
    for s in (2, 4):
        tf_lr = deg.kernel_downsample(tf.constant(hr), tf.constant(k2), s).numpy()
        x = kernels.blur_downsample(hr, k2, 2)
        if s == 4:
            x = kernels.blur_downsample(x, k2, 2)
        np_lr = np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)
        assert tf_lr.shape == np_lr.shape == (44 // s, 48 // s, 3)
        assert np.abs(tf_lr.astype(int) - np_lr.astype(int)).max() <= 1  # float32 vs float64 rounding


def test_tf_random_kernels_follow_the_recipe():
    from scipy import ndimage

    ks = [deg.div2krk_kernel(tf.constant([i, 0], tf.int64)).numpy() for i in range(20)]
    assert all(k.shape == (11, 11) and abs(k.sum() - 1) < 1e-5 and k.min() >= 0 for k in ks)
    centres = np.array([ndimage.center_of_mass(k) for k in ks])
    np.testing.assert_allclose(centres.mean(0), kernels.kernel_mean(11, 2), atol=0.35)
    assert len({k.tobytes() for k in ks}) == 20
    x4 = kernels.x4_kernel_from_x2(ks[0].astype(np.float64))
    assert x4.shape == (31, 31) and abs(x4.sum() - 1) < 1e-5


def test_gaussian_degradation_geometry():
    """A constant image stays constant; an impulse lands where MATLAB bicubic puts it."""
    flat = np.full((30, 30, 3), 77, np.uint8)
    assert np.all(deg.gaussian_downsample(tf.constant(flat), 3, 1.2).numpy() == 77)
    img = np.zeros((30, 30, 3), np.uint8)
    img[13, 16] = 255  # HR pixel inside LR pixel (4, 5) at x3
    lr = deg.gaussian_downsample(tf.constant(img), 3, 0.8).numpy()[..., 0]
    assert np.unravel_index(np.argmax(lr), lr.shape) == (4, 5)
    with pytest.raises(ValueError, match="sigma"):
        D.train_dataset(_tf_images([flat]), scale=3, lr_patch_size=4, batch_size=1, degradation="gaussian")


def test_noise_and_jpeg_change_only_the_lr(noise_images):
    base = dict(scale=2, lr_patch_size=8, batch_size=4, seed=2, channels=3)
    clean = _batches(D.train_dataset(_tf_images(noise_images), **base), 1)[0]
    noisy = _batches(D.train_dataset(_tf_images(noise_images), noise_sigma=20, jpeg_quality=30, **base), 1)[0]
    np.testing.assert_array_equal(clean[1], noisy[1])
    assert np.abs(clean[0] - noisy[0]).mean() > 0.02


def test_rescale_augmentation():
    from sr_zoo.data.pipeline import _imresize_tensor_scale

    img = _noise(41, 37, 6)
    for r in (0.6, 0.7, 0.8, 0.9):  # the in-graph-scale resize gives sr_zoo.imresize's bytes
        np.testing.assert_array_equal(_imresize_tensor_scale(tf.constant(img), tf.constant(r, tf.float64)).numpy(),
                                      sr_zoo.imresize(img, r))
    small_and_large = [_noise(30, 30, 3), _noise(90, 80, 4)]  # 30x30 is too small to shrink: kept at 1.0
    ds = D.train_dataset(_tf_images(small_and_large), scale=3, lr_patch_size=9, batch_size=6, seed=0, rescale=True,
                         channels=3, augment=False)
    lr, hr = next(iter(ds))
    assert lr.shape == (6, 9, 9, 3) and hr.shape == (6, 27, 27, 3)
    # Shrunk patches are not crops of the originals; unshrunk ones are.
    hr = np.round(hr.numpy() * 255).astype(np.uint8)
    found = [any(_find(im, hr[k], 1) is not None for im in small_and_large) for k in range(6)]
    assert any(found) and not all(found)
    with pytest.raises(ValueError, match="rescale"):
        D.train_dataset(_tf_images(small_and_large), scale=3, lr_patch_size=9, batch_size=6, rescale=(1.5,))


def _write_folder(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in files.items():
        Image.fromarray(array).save(folder / name)
    return folder


def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path, caplog):
    good = _write_folder(tmp_path / "imgs", {
        "good.png": _noise(40, 40, 1),
        "gray.png": _noise(36, 40, 2, channels=1)[..., 0],
        "rgba.png": _noise(40, 36, 3, channels=4),
        "tiny.png": _noise(10, 12, 4),
        "big.bmp": _noise(48, 44, 5),
    })
    data = (good / "good.png").read_bytes()
    (good / "truncated.png").write_bytes(data[: len(data) // 3])
    (good / "garbage.jpg").write_bytes(b"this is not a JPEG at all" * 10)
    caplog.set_level(logging.WARNING, logger="sr_zoo.data")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = D.train_dataset(str(good), scale=2, patch_size=24, batch_size=2, seed=0, repeat=False,
                             patches_per_image=2, drop_remainder=False)
        batches = list(ds)  # two full passes, no exception
    n = sum(int(b[0].shape[0]) for b in batches)
    assert n == 2 * 4  # good, gray, rgba, big
    # logged once on sr_zoo.data, not repeated as a Python warning (users saw every line twice)
    assert not [w for w in caught if "sr_zoo.data" in str(w.message)]
    text = caplog.text
    for name in ("truncated.png", "garbage.jpg", "tiny.png"):
        assert name in text
    for name in ("good.png", "gray.png", "rgba.png", "big.bmp"):
        assert name not in text
    images = {ex["name"].numpy().decode().rsplit("/", 1)[-1]: ex["hr"].numpy() for ex in D.load_images(str(good))}
    assert images["gray.png"].shape == (36, 40, 3) and np.array_equal(images["gray.png"][..., 0], images["gray.png"][..., 2])
    assert images["rgba.png"].shape == (40, 36, 3)


def test_mixing_sources_and_eval_dataset(tmp_path):
    a = _write_folder(tmp_path / "a", {"a1.png": _noise(26, 25, 1), "a2.png": _noise(24, 30, 2)})
    b = _write_folder(tmp_path / "b", {"b1.png": _noise(31, 29, 3)})
    names = sorted(ex["name"].numpy().decode().rsplit("/", 1)[-1] for ex in D.load_images([str(a), str(b)]))
    assert names == ["a1.png", "a2.png", "b1.png"]
    mixed = D.train_dataset([str(a), str(b)], scale=2, lr_patch_size=6, batch_size=3, seed=0, repeat=False)
    assert sum(int(x.shape[0]) for x, _ in mixed) == 3
    ev = list(D.eval_dataset(str(a), scale=3, channels=3, with_names=True))
    assert len(ev) == 2
    lr, hr, name = ev[0]
    hr_u8 = np.round(hr.numpy()[0] * 255).astype(np.uint8)
    assert hr_u8.shape == (24, 24, 3)  # 26x25 modcropped to a multiple of 3
    expected = sr_zoo.imresize(hr_u8, 1 / 3)
    np.testing.assert_array_equal(np.round(lr.numpy()[0] * 255).astype(np.uint8), expected)


def test_missing_tfds_dataset_names_the_build_command(tmp_path):
    with pytest.raises(D.DatasetNotBuiltError) as info:
        D.train_dataset("sr_benchmarks/set5", scale=3, lr_patch_size=17, batch_size=4, data_dir=tmp_path)
    msg = str(info.value)
    assert "tfds build tfds_builders/sr_benchmarks --config=set5 --manual_dir=" in msg
    assert f"--data_dir={tmp_path}" in msg
    with pytest.raises(D.DatasetNotBuiltError, match="tfds build tfds_builders/t91"):
        D.eval_dataset("t91", scale=2, data_dir=tmp_path)


# ----------------------------------------------------------------------------- precomputed LR (fixed degradation)


@pytest.fixture(scope="module")
def odd_images():
    # Sides that are no multiple of 2, 3 or 4 (modcrop matters) and small enough that most patches touch a border.
    return [_noise(31, 29, 11), _noise(26, 37, 12), _noise(43, 25, 13)]


def _u8(x):
    return np.round(x.numpy() * 255).astype(np.uint8)


@pytest.mark.parametrize("scale,channels,boundary,augment", [
    (2, 3, "symmetric", True), (3, 1, "replicate", True), (4, 3, "replicate", False), (3, 3, "symmetric", False),
])
def test_precomputed_lr_gives_the_per_patch_bytes(odd_images, scale, channels, boundary, augment):
    """Same seed, same crop positions and transforms: the two paths yield identical batches (Y and RGB)."""
    kw = dict(scale=scale, lr_patch_size=5, batch_size=16, channels=channels, boundary=boundary, augment=augment,
              seed=4)
    cached = _batches(D.train_dataset(_tf_images(odd_images), **kw), 4)
    per_patch = _batches(D.train_dataset(_tf_images(odd_images), precompute_lr=False, **kw), 4)
    for (lc, hc), (lp, hp) in zip(cached, per_patch):
        np.testing.assert_array_equal(lc, lp)
        np.testing.assert_array_equal(hc, hp)


@pytest.mark.parametrize("scale,boundary", [(2, "symmetric"), (3, "replicate"), (4, "symmetric")])
def test_precomputed_pairs_are_aligned_crops_at_every_border(odd_images, scale, boundary):
    """LR offset (i, j) <-> HR offset (s*i, s*j) of the modcropped image; patches reach all four borders."""
    ds = D.train_dataset(_tf_images(odd_images), scale=scale, lr_patch_size=4, batch_size=64, channels=3,
                         augment=False, seed=5, boundary=boundary)
    crops = [sr_zoo.data.io.modcrop(im, scale) for im in odd_images]
    full = [sr_zoo.imresize(c, 1 / scale, boundary=boundary) for c in crops]
    sides = set()
    # Up to 4 batches: which borders one batch reaches depends on the global seed earlier tests leave behind.
    for batch, _ in zip(ds, range(4)):
        lr, hr = (_u8(t) for t in batch)
        for k in range(len(lr)):
            i, (y, x) = next((i, p) for i, p in ((i, _find(c, hr[k], scale)) for i, c in enumerate(crops)) if p)
            np.testing.assert_array_equal(lr[k], full[i][y:y + 4, x:x + 4])
            h, w = full[i].shape[:2]
            sides |= {s for s, hit in (("top", y == 0), ("left", x == 0), ("bottom", y + 4 == h),
                                       ("right", x + 4 == w)) if hit}
        if len(sides) == 4:
            break
    assert sides == {"top", "left", "bottom", "right"}


def test_precomputed_lr_is_deterministic_for_a_seed(odd_images):
    kw = dict(scale=3, lr_patch_size=6, batch_size=8, channels=1)
    a = _batches(D.train_dataset(_tf_images(odd_images), seed=9, **kw), 3)
    b = _batches(D.train_dataset(_tf_images(odd_images), seed=9, **kw), 3)
    c = _batches(D.train_dataset(_tf_images(odd_images), seed=10, **kw), 3)
    for (la, ha), (lb, hb) in zip(a, b):
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(ha, hb)
    assert not all(np.array_equal(ha, hc) for (_, ha), (_, hc) in zip(a, c))


def test_precomputed_lr_only_for_fixed_degradations(odd_images, monkeypatch):
    from sr_zoo.data import pipeline

    calls = []
    real = pipeline._whole_pairs
    monkeypatch.setattr(pipeline, "_whole_pairs", lambda images, **kw: calls.append(kw["factors"]) or real(images, **kw))
    base = dict(scale=2, lr_patch_size=4, batch_size=2, seed=0)
    for extra in [dict(noise_sigma=5), dict(jpeg_quality=80), dict(degradation="kernel"), dict(precompute_lr=False),
                  dict(cache=False)]:
        D.train_dataset(_tf_images(odd_images), **base, **extra)
        assert not calls, extra
    D.train_dataset(_tf_images(odd_images), **base)
    D.train_dataset(_tf_images(odd_images), rescale=True, **base)
    assert calls == [None, D.FSRCNN_RESCALE]


def test_precomputed_rescaling_crops_whole_rescaled_images():
    """FSRCNN's factors: every pair is an aligned crop of (imresize(image, r), its bicubic LR) for one r;
    versions smaller than the patch are left out."""
    scale, p, factors = 3, 5, (1.0, 0.8, 0.6)
    images = [_noise(23, 31, 21), _noise(40, 34, 22)]  # 0.6 x 23 rows: 14, under the 15-row HR patch
    versions = {}
    for i, im in enumerate(images):
        for r in factors:
            hr = sr_zoo.data.io.modcrop(im if r == 1 else sr_zoo.imresize(im, r), scale)
            if min(hr.shape[:2]) >= p * scale:
                versions[i, r] = (hr, sr_zoo.imresize(hr, 1 / scale))
    assert (0, 0.6) not in versions
    ds = D.train_dataset(_tf_images(images), scale=scale, lr_patch_size=p, batch_size=40, channels=3, augment=False,
                         seed=6, rescale=factors)
    lr, hr = (_u8(t) for t in next(iter(ds)))
    used = set()
    for k in range(len(lr)):
        key, (y, x) = next((key, pos) for key, pos in ((key, _find(v[0], hr[k], scale)) for key, v in versions.items())
                           if pos)
        np.testing.assert_array_equal(lr[k], versions[key][1][y:y + p, x:x + p])
        used.add(key)
    assert {r for _, r in used} == set(factors)


def test_precomputed_lr_file_cache_is_per_scale(odd_images, tmp_path):
    cache = tmp_path / "t91_cache"
    for scale in (2, 3):
        ds = D.train_dataset(_tf_images(odd_images), scale=scale, lr_patch_size=4, batch_size=3, seed=0,
                             cache=str(cache), repeat=False)
        assert sum(int(lr.shape[0]) for lr, _ in ds) == 3
    names = {p.name.split(".lr_")[1].split(".")[0] for p in tmp_path.iterdir()}
    assert names == {"x2_symmetric", "x3_symmetric"}
    # A second run reads the file cache of its own scale and gives the same patches.
    again = D.train_dataset(_tf_images(odd_images), scale=3, lr_patch_size=4, batch_size=3, seed=0,
                            cache=str(cache), repeat=False)
    fresh = D.train_dataset(_tf_images(odd_images), scale=3, lr_patch_size=4, batch_size=3, seed=0, repeat=False)
    for (la, ha), (lb, hb) in zip(_batches(again, 1), _batches(fresh, 1)):
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(ha, hb)


def test_patches_per_visit_must_divide_the_batch(odd_images):
    with pytest.raises(ValueError, match="patches_per_visit=3 must divide batch_size=16"):
        D.train_dataset(_tf_images(odd_images), scale=2, lr_patch_size=4, batch_size=16, patches_per_visit=3)
    with pytest.raises(ValueError, match="needs the precomputed path"):
        D.train_dataset(_tf_images(odd_images), scale=2, lr_patch_size=4, batch_size=16, patches_per_visit=4,
                        noise_sigma=5)
    ds = D.train_dataset(_tf_images(odd_images), scale=2, lr_patch_size=4, batch_size=16, patches_per_visit=4, seed=0)
    lr, hr = next(iter(ds))
    assert lr.shape == (16, 4, 4, 1) and hr.shape == (16, 8, 8, 1)

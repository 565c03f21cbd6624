"""sr_zoo.evaluation: benchmark loading (folders and TFDS), self-ensemble, tables."""

import numpy as np
import pytest

from sr_zoo import evaluation, paths
from sr_zoo.data import benchmarks
from sr_zoo.image import imresize


def test_set5_pairs_from_the_shared_folder(data_dir):
    pairs = benchmarks.load_pairs("set5", 3, data_dir)
    assert [p.name for p in pairs] == ["baby", "bird", "butterfly", "head", "woman"]
    for p in pairs:
        assert p.lr_source == "matlab"
        assert p.hr.shape[0] == 3 * p.lr.shape[0] and p.hr.shape[1] == 3 * p.lr.shape[1]
    # x8 has no MATLAB LR here: HR is modcropped and shrunk with the MATLAB-exact imresize.
    pairs8 = benchmarks.load_pairs("set5", 8, data_dir)
    assert all(p.lr_source == "imresize" and p.hr.shape[0] % 8 == 0 for p in pairs8)
    set14 = benchmarks.load_pairs("set14", 2, data_dir)
    assert set14[2].name == "bridge" and set14[2].hr.ndim == 2  # grayscale stays grayscale


def test_x8_pairs_crop_the_hr_and_make_the_lr_with_matlab_imresize(data_dir):
    # no MATLAB LR files at x8: B100 (no full-size folder) takes the HR of its x4 folder
    x4 = {p.name: p for p in benchmarks.load_pairs("b100", 4, data_dir)}
    x8 = benchmarks.load_pairs("b100", 8, data_dir)
    assert len(x8) == len(x4) == 100
    for pair in x8[:5]:
        assert pair.lr_source == "imresize" and pair.hr.shape[0] % 8 == 0 and pair.hr.shape[1] % 8 == 0
        np.testing.assert_array_equal(pair.hr, benchmarks.modcrop(x4[pair.name].hr, 8))
        np.testing.assert_array_equal(pair.lr, imresize(pair.hr, 1 / 8))


def test_tfds_source_gives_the_same_numbers(data_dir, tmp_path):
    import tensorflow_datasets as tfds

    with tfds.core.utils.add_sys_path(paths.PROJECT_ROOT / "tfds_builders"):
        cls = tfds.core.community.builder_cls_from_module("sr_benchmarks.sr_benchmarks_dataset_builder")
    cfg = tfds.download.DownloadConfig(manual_dir=str(data_dir), compute_stats=tfds.download.ComputeStatsMode.SKIP)
    cls(data_dir=str(tmp_path / "tfds"), config="set5").download_and_prepare(download_config=cfg)
    empty = tmp_path / "no_folders"
    empty.mkdir()
    from_tfds = evaluation.evaluate({"bicubic": benchmarks.bicubic}, ["set5"], [4], data_dir=empty,
                                    tfds_data_dir=tmp_path / "tfds")
    from_folder = evaluation.evaluate({"bicubic": benchmarks.bicubic}, ["set5"], [4], data_dir=data_dir)
    assert from_tfds[0].psnr == pytest.approx(from_folder[0].psnr, abs=1e-9)
    with pytest.raises(FileNotFoundError, match="tfds build"):
        benchmarks.load_pairs("urban100", 2, empty, tmp_path / "tfds")


def test_urban100_x2_uses_the_full_size_original(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "Urban100" / "SelfExSR"
    original = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    for s, hr, lr in [(2, "half", "quarter"), (4, "full", "quarter")]:
        (root / f"image_SRF_{s}").mkdir(parents=True)
    half = imresize(original, 1 / 2)
    quarter = imresize(original, 1 / 4)
    Image.fromarray(half).save(root / "image_SRF_2" / "img_001_SRF_2_HR.png")
    Image.fromarray(quarter).save(root / "image_SRF_2" / "img_001_SRF_2_LR.png")
    Image.fromarray(original).save(root / "image_SRF_4" / "img_001_SRF_4_HR.png")
    Image.fromarray(quarter).save(root / "image_SRF_4" / "img_001_SRF_4_LR.png")
    (pair,) = benchmarks.load_pairs("urban100", 2, tmp_path)
    np.testing.assert_array_equal(pair.hr, original)
    np.testing.assert_array_equal(pair.lr, half)


def test_self_ensemble_of_an_equivariant_method_changes_nothing():
    rng = np.random.default_rng(1)
    lr = rng.integers(0, 256, (10, 14, 3), dtype=np.uint8)
    nearest = lambda x, s: np.repeat(np.repeat(x, s, axis=0), s, axis=1)  # noqa: E731
    np.testing.assert_array_equal(evaluation.self_ensemble(nearest)(lr, 2), nearest(lr, 2))


def test_markdown_table_states_protocol():
    score = evaluation.Score("bicubic", "set5", 4, 28.42, 0.8104, 0.01, 4, True, [])
    table = evaluation.markdown_table([score])
    assert "Y channel, crop = scale" in table
    assert "| bicubic | 28.42 / 0.8104 |" in table


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown benchmark 'set6'"):
        benchmarks.load_pairs("set6", 2, tmp_path)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read image .*bad.png"):
        benchmarks.read_image(bad)


def test_models_with_the_same_file_name_get_their_own_rows(tmp_path):
    from sr_zoo import models

    model = models.get("espcn", scale=2)
    specs = []
    for run in ("run_a", "run_b"):
        (tmp_path / run).mkdir()
        model.save(tmp_path / run / "best.keras")
        specs.append(str(tmp_path / run / "best.keras"))
    methods, scales, _ = evaluation.methods_from_flag(",".join(specs))
    assert list(methods) == ["bicubic", "run_a/best", "run_b/best"] and scales == [2]
    assert evaluation._method_names(["espcn_x3", str(tmp_path / "run_a" / "best.keras")]) == ["espcn_x3", "best"]
    with pytest.raises(ValueError, match="lists .*best.keras more than once"):
        evaluation.methods_from_flag(f"{specs[0]},{specs[0]}")

"""The bundled pretrained model loads by name and still measures what its metadata says."""

import pytest

from sr_zoo import evaluation, pretrained


def test_registry_lists_bundled_models():
    models = pretrained.available()
    assert "espcn_x3" in models
    assert models["espcn_x3"]["scale"] == 3
    with pytest.raises(ValueError, match="unknown pretrained model 'nope'; available: espcn_x3"):
        pretrained.path("nope")


def test_espcn_x3_reproduces_its_set5_number(data_dir):
    meta = pretrained.available()["espcn_x3"]
    methods, scales, _ = evaluation.methods_from_flag("espcn_x3")
    scores = evaluation.evaluate(methods, ["set5"], scales, data_dir=data_dir)
    bicubic, model = scores
    assert model.psnr == pytest.approx(meta["measured"]["set5"]["psnr"], abs=0.01)
    assert model.ssim == pytest.approx(meta["measured"]["set5"]["ssim"], abs=0.0005)
    assert model.psnr > bicubic.psnr + 0.5

"""The bicubic baseline table of the SR literature, reproduced from MATLAB's LR images."""

import pytest

from sr_zoo import evaluation
from sr_zoo.data import benchmarks

# Published bicubic baseline (SRCNN / VDSR / LapSRN papers): (PSNR, SSIM), Y channel, crop = scale.
PUBLISHED = {
    ("set5", 2): (33.66, 0.9299), ("set5", 3): (30.39, 0.8682), ("set5", 4): (28.42, 0.8104),
    ("set14", 2): (30.24, 0.8688), ("set14", 3): (27.55, 0.7742), ("set14", 4): (26.00, 0.7027),
    ("b100", 2): (29.56, 0.8431), ("b100", 3): (27.21, 0.7385), ("b100", 4): (25.96, 0.6675),
}


@pytest.mark.parametrize("benchmark", ["set5", "set14", "b100"])
def test_bicubic_reproduces_published_table(data_dir, benchmark):
    scores = evaluation.evaluate({"bicubic": benchmarks.bicubic}, [benchmark], [2, 3, 4], data_dir=data_dir)
    for score in scores:
        psnr, ssim = PUBLISHED[(score.benchmark, score.scale)]
        assert score.psnr == pytest.approx(psnr, abs=0.02), (score.benchmark, score.scale, score.psnr)
        assert score.ssim == pytest.approx(ssim, abs=0.001), (score.benchmark, score.scale, score.ssim)

"""sr_benchmarks on dummy_data/: every config and both local layouts, 2 synthetic images each.

Set5 has `original/` + `SelfExSR/`; Set14 only `SelfExSR/` (one grayscale image);
B100 sits under its other name `BSD100/` with `image_SRF_*` directly inside;
Urban100 has SelfExSR's x2 quirk (`image_SRF_2/*_HR.png` is the x2 LR).
"""

import numpy as np
import tensorflow_datasets as tfds

import sr_zoo
from sr_zoo.data import io as sr_io

from . import sr_benchmarks_dataset_builder


class SrBenchmarksTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = sr_benchmarks_dataset_builder.Builder
  BUILDER_CONFIG_NAMES_TO_TEST = ["set5", "set14", "b100", "urban100"]
  SPLITS = {"test": 2}

  def test_registered(self):
    # Project builders stay out of TFDS's global registry; `tfds build` finds them by module.
    cls = tfds.core.community.builder_cls_from_module(sr_benchmarks_dataset_builder.__name__)
    self.assertIs(cls, self.DATASET_CLASS)

  def _examples(self, config):
    builder = self._make_builder(config=config)
    gen = builder._generate_examples(sr_io.find_folder(self.dummy_data, builder.builder_config.folders))
    return dict(gen)

  def test_names_and_pairs(self):
    set5 = self._examples("set5")
    self.assertEqual(sorted(set5), ["baby", "bird"])  # names from original/
    baby = set5["baby"]
    self.assertEqual(baby["hr"].shape, (26, 25, 3))  # full-size original, not the modcrop
    self.assertEqual(baby["lr_x3"].shape, (8, 8, 3))
    self.assertEqual(sorted(self._examples("set14")), ["baboon", "barbara"])  # SelfExSR numbering table
    barbara = self._examples("set14")["barbara"]["hr"]
    np.testing.assert_array_equal(barbara[..., 0], barbara[..., 2])  # grayscale stored as RGB

  def test_b100_hr_is_the_largest_consistent_selfexsr_hr(self):
    a = self._examples("b100")["img_001"]
    self.assertEqual(a["hr"].shape, (21, 30, 3))  # x3's HR; x2's and x4's are its modcrops
    self.assertEqual((a["lr_x2"].shape, a["lr_x3"].shape, a["lr_x4"].shape), ((10, 15, 3), (7, 10, 3), (5, 7, 3)))

  def test_urban100_x2_comes_from_full_size_hr(self):
    u1 = self._examples("urban100")["img_001"]
    self.assertEqual(set(u1), {"name", "hr", "lr_x2", "lr_x4"})
    self.assertEqual(u1["hr"].shape, (32, 40, 3))  # image_SRF_4 HR, not image_SRF_2's half-size "HR"
    self.assertEqual(u1["lr_x2"].shape, (16, 20, 3))
    # The x2 LR is image_SRF_2's "HR" file (imresize of the original), cropped to modcrop(hr, 2) / 2.
    self.assertLess(np.abs(u1["lr_x2"].astype(int) - sr_zoo.imresize(u1["hr"], 1 / 2).astype(int)).mean(), 3.0)


if __name__ == "__main__":
  tfds.testing.test_main()

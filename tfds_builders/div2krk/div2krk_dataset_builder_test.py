"""div2krk on dummy_data/: the official layout (2 synthetic images, .mat kernels) and the b100 re-generation."""

import numpy as np
import tensorflow_datasets as tfds

from sr_zoo.data import io as sr_io

from . import div2krk_dataset_builder


class Div2krkTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = div2krk_dataset_builder.Builder
  BUILDER_CONFIG_NAMES_TO_TEST = ["official", "b100"]
  SPLITS = {"test": 2}

  def test_registered(self):
    # Project builders stay out of TFDS's global registry; `tfds build` finds them by module.
    cls = tfds.core.community.builder_cls_from_module(div2krk_dataset_builder.__name__)
    self.assertIs(cls, self.DATASET_CLASS)

  def test_regenerated_recipe(self):
    builder = self._make_builder(config="b100")
    folder = sr_io.find_folder(self.dummy_data, ("B100",))
    first = dict(builder._regenerated(folder))
    again = dict(builder._regenerated(folder))
    ex = first["101085"]
    self.assertEqual(ex["hr"].shape, (36, 44, 3))
    self.assertEqual(ex["lr_x2"].shape, (18, 22, 3))
    self.assertEqual(ex["lr_x4"].shape, (9, 11, 3))
    self.assertEqual(ex["kernel_x2"].shape, (11, 11))
    self.assertEqual(ex["kernel_x4"].shape, (31, 31))
    self.assertAlmostEqual(float(ex["kernel_x2"].sum()), 1.0, places=5)
    self.assertAlmostEqual(float(ex["kernel_x4"].sum()), 1.0, places=5)
    # Deterministic, and a different kernel per image.
    np.testing.assert_array_equal(ex["kernel_x2"], again["101085"]["kernel_x2"])
    self.assertFalse(np.allclose(ex["kernel_x2"], first["101087"]["kernel_x2"]))


if __name__ == "__main__":
  tfds.testing.test_main()

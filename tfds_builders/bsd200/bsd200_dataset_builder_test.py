"""bsd200 builder on dummy_data/: 2 synthetic PNGs."""

import tensorflow_datasets as tfds

from . import bsd200_dataset_builder


class Bsd200Test(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = bsd200_dataset_builder.Builder
  SPLITS = {"train": 2}

  def test_registered(self):
    # Project builders stay out of TFDS's global registry (``div2k`` would clash with TFDS's
    # own); ``tfds build tfds_builders/bsd200`` finds the class by module, as checked here.
    cls = tfds.core.community.builder_cls_from_module(bsd200_dataset_builder.__name__)
    self.assertIs(cls, self.DATASET_CLASS)


if __name__ == "__main__":
  tfds.testing.test_main()

"""t91 builder on dummy_data/: 4 synthetic files (BMP, grayscale, RGBA, one truncated PNG that is skipped)."""

import tensorflow_datasets as tfds

from . import t91_dataset_builder


class T91Test(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = t91_dataset_builder.Builder
  SPLITS = {"train": 3}

  def test_registered(self):
    # Project builders stay out of TFDS's global registry (``div2k`` would clash with TFDS's
    # own); ``tfds build tfds_builders/t91`` finds the class by module, as checked here.
    cls = tfds.core.community.builder_cls_from_module(t91_dataset_builder.__name__)
    self.assertIs(cls, self.DATASET_CLASS)


if __name__ == "__main__":
  tfds.testing.test_main()

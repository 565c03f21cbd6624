"""div2k on dummy_data/: extracted-folder layout, 2 train + 1 validation synthetic 48x40 images."""

import tensorflow_datasets as tfds

from . import div2k_dataset_builder


class Div2kTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = div2k_dataset_builder.Builder
  BUILDER_CONFIG_NAMES_TO_TEST = ["hr", "bicubic_x8", "unknown_x3"]
  SPLITS = {"train": 2, "validation": 1}

  def test_registered(self):
    # Not in TFDS's registry: TFDS ships its own `div2k`; `tfds build tfds_builders/div2k` finds this one.
    cls = tfds.core.community.builder_cls_from_module(div2k_dataset_builder.__name__)
    self.assertIs(cls, self.DATASET_CLASS)
    self.assertEqual(len(cls.BUILDER_CONFIGS), 8)

  def test_lr_shapes(self):
    builder = self._make_builder(config="bicubic_x3")
    d = self.dummy_data
    examples = dict(builder._generate_examples(d / "DIV2K_train_HR", d / "DIV2K_train_LR_bicubic" / "X3"))
    self.assertEqual(sorted(examples), ["0001", "0002"])
    self.assertIsInstance(examples["0001"]["lr"], bytes)  # 8-bit RGB PNGs are stored byte for byte


if __name__ == "__main__":
  tfds.testing.test_main()

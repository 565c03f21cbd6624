"""cinic10 on dummy_data/: 3 train, 3 valid, 1 test synthetic 32x32 images per class."""

import tensorflow_datasets as tfds

from . import cinic10_dataset_builder

# The tiny-EDSR config draws 80 + 10 per class; the dummy data has 3 + 3, so test a scaled-down twin.
_TINY = cinic10_dataset_builder.Cinic10Config(name="tiny_edsr_dummy", train_per_class=2, valid_per_class=1, seed=0)


class Cinic10Test(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = cinic10_dataset_builder.Builder
  BUILDER_CONFIG_NAMES_TO_TEST = ["full", _TINY]
  SPLITS = {"train": 30, "validation": 30, "test": 10}

  def _download_and_prepare_as_dataset(self, builder):
    # Split sizes differ per config: check each against its own expectation.
    self.SPLITS = {"train": 20, "validation": 10} if builder.builder_config.train_per_class else {
        "train": 30, "validation": 30, "test": 10}
    super()._download_and_prepare_as_dataset(builder)

  def test_registered(self):
    # Project builders stay out of TFDS's global registry; `tfds build` finds them by module.
    cls = tfds.core.community.builder_cls_from_module(cinic10_dataset_builder.__name__)
    self.assertIs(cls, self.DATASET_CLASS)

  def test_tiny_draw_is_balanced_and_deterministic(self):
    builder = self._make_builder(config=_TINY)
    draw = lambda: [k for k, _ in builder._generate_examples(self.dummy_data / "CINIC-10" / "train", 2, 0)]
    first = draw()
    self.assertEqual(first, draw())
    self.assertEqual(len(first), 20)
    self.assertEqual({k.split("/")[0] for k in first}, set(cinic10_dataset_builder.CLASSES))


if __name__ == "__main__":
  tfds.testing.test_main()

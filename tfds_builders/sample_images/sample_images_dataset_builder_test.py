"""sample_images on dummy_data/ (4 synthetic stand-ins), and on the installed scikit-image."""

import tensorflow_datasets as tfds

from . import sample_images_dataset_builder as sib


class SampleImagesTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = sib.Builder
  SPLITS = {"train": 2, "test": 2}  # dummy: rocket, camera (grayscale) / astronaut, coffee

  def test_registered(self):
    # Project builders stay out of TFDS's global registry; `tfds build` finds them by module.
    cls = tfds.core.community.builder_cls_from_module(sib.__name__)
    self.assertIs(cls, self.DATASET_CLASS)

  def test_installed_skimage_has_the_photos(self):
    builder = self._make_builder()
    test = dict(builder._generate_examples(sib.skimage_data_dir(), sib.TEST))
    self.assertEqual(sorted(test), ["astronaut", "chelsea", "coffee"])
    train = [k for k, _ in builder._generate_examples(sib.skimage_data_dir(), sib.TRAIN)]
    self.assertGreaterEqual(len(train), 8)


if __name__ == "__main__":
  tfds.testing.test_main()

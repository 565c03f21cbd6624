"""The photographs that ship inside scikit-image: train and evaluate offline, nothing to download."""

import os
import pathlib

import tensorflow_datasets as tfds

from sr_zoo.data import io as sr_io

# skimage.data files that are photographs (color, or natural grayscale), by split.
TEST = ("astronaut", "chelsea", "coffee")
TRAIN = ("rocket", "motorcycle_left", "motorcycle_right", "hubble_deep_field", "retina", "camera", "coins",
         "moon", "brick", "grass", "gravel")


def skimage_data_dir():
  import skimage

  return pathlib.Path(os.path.dirname(skimage.__file__)) / "data"


class Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """scikit-image's sample photos: `train` (11) and `test` (astronaut, chelsea, coffee)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Nothing to download: the images are read from the installed scikit-image package.
  --manual_dir may point at another folder with files of the same names (e.g. a copy of skimage/data);
  a manual dir without any of them (e.g. ../shared/data) is ignored.
  """

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "name": tfds.features.Text(),
        }),
        disable_shuffling=True,  # keep the source order
        supervised_keys=None,
        homepage="https://scikit-image.org/docs/stable/api/skimage.data.html",
    )

  def _split_generators(self, dl_manager):
    folder = skimage_data_dir()
    try:
      manual = pathlib.Path(dl_manager.manual_dir)
      if any(p.stem in TRAIN + TEST for p in sr_io.list_images(manual)):
        folder = manual  # a folder with (some of) the photos
    except AssertionError:  # no (or an empty) manual dir: the installed package
      pass
    return {"train": self._generate_examples(folder, TRAIN), "test": self._generate_examples(folder, TEST)}

  def _generate_examples(self, folder, names):
    files = {p.stem: p for p in sr_io.list_images(folder)}
    for name in names:
      if name not in files:
        continue  # a lighter skimage build, or a partial manual folder
      value, _ = sr_io.for_tfds(files[name], what="sample image")
      if value is not None:
        yield name, {"image": value, "name": name}

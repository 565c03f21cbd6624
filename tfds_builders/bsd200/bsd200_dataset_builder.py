"""BSD200: the 200 training images of the Berkeley Segmentation Dataset (with T91, the "291" set)."""

import tensorflow_datasets as tfds

from sr_zoo.data import io as sr_io

_URL = "http://vllab.ucmerced.edu/wlai24/LapSRN/results/SR_training_datasets.zip"
_FOLDERS = ("BSD200", "BSDS200")


class Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """BSDS training images (one `train` split of 200 RGB images, named by BSDS id)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Optional (offline build): point --manual_dir at a folder that holds a `BSD200/` (or `BSDS200/`)
  folder of the 200 images (100075.png ..., any image format), or at that
  folder itself, e.g. `tfds build tfds_builders/bsd200 --manual_dir=../shared/data`.
  Without it the images are downloaded from LapSRN's SR_training_datasets.zip.
  """

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "name": tfds.features.Text(),
        }),
        supervised_keys=None,
        homepage="https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/",
    )

  def _split_generators(self, dl_manager):
    root, _ = sr_io.manual_or_download(dl_manager, _URL)
    folder = sr_io.find_folder(root, _FOLDERS)
    if folder is None:
      folder = root if sr_io.list_images(root) else None
    if folder is None:
      raise FileNotFoundError(f"no BSD200 image folder under {root}")
    return {"train": self._generate_examples(folder)}

  def _generate_examples(self, folder):
    for path in sr_io.list_images(folder):
      value, _ = sr_io.for_tfds(path, what="BSD200 image")
      if value is not None:
        yield path.stem, {"image": value, "name": path.stem}

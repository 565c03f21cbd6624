"""T91: the 91 training images of Yang et al. (TIP 2010), as SRCNN, FSRCNN and ESPCN train on."""

import tensorflow_datasets as tfds

from sr_zoo.data import io as sr_io

_URL = "http://vllab.ucmerced.edu/wlai24/LapSRN/results/SR_training_datasets.zip"
_FOLDERS = ("T91", "91-image", "Train")


class Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """T91 training images (one `train` split of 91 RGB images, names kept)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Optional (offline build): point --manual_dir at a folder that holds a `T91/`
  folder of the 91 images (t1.bmp ... tt27.bmp, any image format), or at that
  folder itself, e.g. `tfds build tfds_builders/t91 --manual_dir=../shared/data`.
  Without it the images are downloaded from LapSRN's SR_training_datasets.zip.
  """

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "name": tfds.features.Text(),
        }),
        supervised_keys=None,
        homepage="http://mmlab.ie.cuhk.edu.hk/projects/SRCNN.html",
    )

  def _split_generators(self, dl_manager):
    root, _ = sr_io.manual_or_download(dl_manager, _URL)
    folder = sr_io.find_folder(root, _FOLDERS)
    if folder is None:
      folder = root if sr_io.list_images(root) else None
    if folder is None:
      raise FileNotFoundError(f"no T91 image folder under {root}")
    return {"train": self._generate_examples(folder)}

  def _generate_examples(self, folder):
    for path in sr_io.list_images(folder):
      value, _ = sr_io.for_tfds(path, what="T91 image")
      if value is not None:
        yield path.stem, {"image": value, "name": path.stem}

"""CINIC-10 (Darlow et al., 2018): 270,000 32x32 images in 10 classes (CIFAR-10 + downsampled ImageNet)."""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from sr_zoo.data import io as sr_io

_URL = "https://datashare.ed.ac.uk/bitstream/handle/10283/3192/CINIC-10.tar.gz"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclasses.dataclass
class Cinic10Config(tfds.core.BuilderConfig):
  train_per_class: int = 0  # 0: all images (the full data set)
  valid_per_class: int = 0
  seed: int = 0


class Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """CINIC-10 with labels; `tiny_edsr`: 800 train / 100 validation images drawn equally per class."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
      Cinic10Config(name="full", description="All of CINIC-10: train, validation (CINIC's `valid`) and test, 90,000 each."),
      Cinic10Config(name="tiny_edsr", train_per_class=80, valid_per_class=10, seed=0,
                    description="800 train (80 per class, from CINIC train) and 100 validation (10 per class, "
                                "from CINIC valid) images, drawn with a fixed seed: the tiny-EDSR study's protocol."),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Optional (offline build): --manual_dir holds CINIC-10.tar.gz or its extracted folder
  (train/, valid/, test/, each with one sub-folder per class), directly or under CINIC-10/.
  """

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(32, 32, 3)),
            "label": tfds.features.ClassLabel(names=CLASSES),
            "name": tfds.features.Text(),
        }),
        supervised_keys=("image", "label"),
        homepage="https://github.com/BayesWatch/cinic-10",
    )

  def _split_generators(self, dl_manager):
    root, _ = sr_io.manual_or_download(dl_manager, _URL)
    import pathlib

    root = pathlib.Path(root)
    if (root / "CINIC-10.tar.gz").is_file() and not self._find(root):
      root = pathlib.Path(dl_manager.extract(root / "CINIC-10.tar.gz"))
    base = self._find(root)
    if base is None:
      raise FileNotFoundError(f"no CINIC-10 train/valid/test folders under {root}")
    cfg = self.builder_config
    if cfg.train_per_class:
      return {
          "train": self._generate_examples(base / "train", cfg.train_per_class, cfg.seed),
          "validation": self._generate_examples(base / "valid", cfg.valid_per_class, cfg.seed + 1),
      }
    return {
        "train": self._generate_examples(base / "train", 0, 0),
        "validation": self._generate_examples(base / "valid", 0, 0),
        "test": self._generate_examples(base / "test", 0, 0),
    }

  @staticmethod
  def _find(root):
    for candidate in (root, root / "CINIC-10", root / "cinic-10", root / "CINIC10"):
      if all((candidate / s).is_dir() for s in ("train", "valid")):
        return candidate
    return None

  def _generate_examples(self, split_dir, per_class, seed):
    for label, cls in enumerate(CLASSES):
      files = sr_io.list_images(split_dir / cls)
      if per_class:
        if len(files) < per_class:
          raise ValueError(f"{split_dir / cls}: {len(files)} images, fewer than the {per_class} to draw")
        rng = np.random.default_rng([seed, label])
        files = [files[i] for i in sorted(rng.choice(len(files), per_class, replace=False))]
      for path in files:
        value, array = sr_io.for_tfds(path, what="CINIC-10 image")
        if value is None:
          continue
        if array.shape != (32, 32, 3):
          sr_io.warn(f"sr_zoo.data: skipping {path}: {array.shape} is not 32x32x3")
          continue
        key = f"{cls}/{path.name}"
        yield key, {"image": value, "label": label, "name": key}

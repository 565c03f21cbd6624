"""DIV2K (NTIRE 2017): 800 train / 100 validation 2K HR images and the official LR tracks."""

import dataclasses
import pathlib

import tensorflow_datasets as tfds

from sr_zoo.data import io as sr_io

_DL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
_SPLITS = {"train": "train", "validation": "valid"}


@dataclasses.dataclass
class Div2kConfig(tfds.core.BuilderConfig):
  track: str = ""  # "bicubic", "unknown" or "" (HR only)
  scale: int = 0


def _configs():
  configs = [Div2kConfig(name="hr", description="HR images only (for on-the-fly degradations).")]
  for track, scales in (("bicubic", (2, 3, 4, 8)), ("unknown", (2, 3, 4))):
    for s in scales:
      configs.append(Div2kConfig(name=f"{track}_x{s}", track=track, scale=s,
                                 description=f"HR and the official {track} x{s} LR."))
  return configs


def _lr_archive(split, track, scale):
  """(archive name, folder inside it) of an official LR track."""
  if scale == 8:
    return f"DIV2K_{split}_LR_x8", pathlib.Path(f"DIV2K_{split}_LR_x8")
  return f"DIV2K_{split}_LR_{track}_X{scale}", pathlib.Path(f"DIV2K_{split}_LR_{track}") / f"X{scale}"


class Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """DIV2K HR images, with the official LR images of one track per config."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = _configs()
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Optional (offline build): --manual_dir is a folder holding the DIV2K archives
  (DIV2K_train_HR.zip, DIV2K_valid_HR.zip, DIV2K_train_LR_bicubic_X4.zip, ...) or their
  extracted folders (DIV2K_train_HR/0001.png, DIV2K_train_LR_bicubic/X4/0001x4.png,
  DIV2K_train_LR_x8/0001x8.png, ...), directly or under a `DIV2K/` folder.
  """

  def _info(self):
    features = {"name": tfds.features.Text(), "hr": tfds.features.Image(shape=(None, None, 3))}
    if self.builder_config.track:
      features["lr"] = tfds.features.Image(shape=(None, None, 3))
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(features),
        disable_shuffling=True,  # keep the source order (0001, 0002, ...); training pipelines shuffle
        supervised_keys=("lr", "hr") if self.builder_config.track else None,
        homepage=_DL,
    )

  def _archives(self):
    cfg = self.builder_config
    names = {}
    for split in _SPLITS.values():
      names[f"{split}_hr"] = (f"DIV2K_{split}_HR", pathlib.Path(f"DIV2K_{split}_HR"))
      if cfg.track:
        names[f"{split}_lr"] = _lr_archive(split, cfg.track, cfg.scale)
    return names

  def _split_generators(self, dl_manager):
    archives = self._archives()
    try:
      manual = dl_manager.manual_dir
      manual = pathlib.Path(manual) if manual and any(pathlib.Path(manual).iterdir()) else None
    except AssertionError:
      manual = None
    folders = {}
    if manual is not None:
      base = sr_io.find_folder(manual, ("DIV2K",), max_depth=1) or manual
      for key, (archive, inner) in archives.items():
        if (base / inner).is_dir():
          folders[key] = base / inner
        elif (base / f"{archive}.zip").is_file():
          folders[key] = pathlib.Path(dl_manager.extract(base / f"{archive}.zip")) / inner
        else:
          raise FileNotFoundError(f"DIV2K: neither {base / inner} nor {base / archive}.zip found")
    else:
      urls = {k: f"{_DL}{a}.zip" for k, (a, _) in archives.items()}
      sr_io.check_reachable(urls, "DIV2K")
      extracted = dl_manager.download_and_extract(urls)
      folders = {k: pathlib.Path(extracted[k]) / inner for k, (_, inner) in archives.items()}
    return {
        tfds_split: self._generate_examples(folders[f"{split}_hr"], folders.get(f"{split}_lr"))
        for tfds_split, split in _SPLITS.items()
    }

  def _generate_examples(self, hr_dir, lr_dir):
    cfg = self.builder_config
    for hr_path in sr_io.list_images(hr_dir):
      name = hr_path.stem
      hr, hr_array = sr_io.for_tfds(hr_path, what="DIV2K HR image")
      if hr is None:
        continue
      example = {"name": name, "hr": hr}
      if lr_dir is not None:
        lr_path = lr_dir / f"{name}x{cfg.scale}.png"
        if not lr_path.is_file():
          sr_io.warn(f"sr_zoo.data: skipping DIV2K {name}: {lr_path} is missing")
          continue
        lr, lr_array = sr_io.for_tfds(lr_path, what="DIV2K LR image")
        if lr is None:
          continue
        h, w, s = hr_array.shape[0], hr_array.shape[1], cfg.scale
        if lr_array.shape[0] not in (h // s, -(-h // s)) or lr_array.shape[1] not in (w // s, -(-w // s)):
          sr_io.warn(f"sr_zoo.data: skipping DIV2K {name}: LR {lr_array.shape[:2]} does not match HR {(h, w)} / {s}")
          continue
        example["lr"] = lr
      yield name, example

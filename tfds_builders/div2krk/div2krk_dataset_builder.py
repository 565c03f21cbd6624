"""DIV2KRK (KernelGAN, NeurIPS 2019): images degraded by random anisotropic Gaussian kernels, with the kernels."""

import dataclasses
import pathlib

import numpy as np
import tensorflow_datasets as tfds

from sr_zoo.data import io as sr_io
from sr_zoo.data import kernels

_OFFICIAL_URL = "http://www.wisdom.weizmann.ac.il/~vision/kernelgan/DIV2KRK_public.zip"
_DIV2K_VALID_URL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip"


@dataclasses.dataclass
class Div2krkConfig(tfds.core.BuilderConfig):
  source: str = "official"  # "official", or the HR set the recipe is re-applied to
  folders: tuple = ()
  seed: int = 0


class Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """DIV2KRK: HR, x2/x4 LR and the ground-truth kernels (official, or the recipe re-applied)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
      Div2krkConfig(name="official", source="official",
                    description="KernelGAN's DIV2KRK archive: 100 DIV2K validation images."),
      Div2krkConfig(name="b100", source="b100", folders=("B100", "BSD100", "BSDS100"),
                    description="The DIV2KRK recipe re-applied (seed 0) to B100's 100 HR images."),
      Div2krkConfig(name="div2k_valid", source="div2k_valid", folders=("DIV2K_valid_HR",),
                    description="The DIV2KRK recipe re-applied (seed 0) to DIV2K's 100 validation HR images."),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Optional (offline build): --manual_dir is a folder holding, per config,
    * official: `DIV2KRK_public.zip` or its extracted `DIV2KRK/` (gt/, lr_x2/, lr_x4/, gt_k_x2/, gt_k_x4/);
    * b100: a `B100/` (or `BSD100/`) folder, `original/` or SelfExSR layout (e.g. ../shared/data);
    * div2k_valid: `DIV2K_valid_HR/` (or DIV2K_valid_HR.zip).
  """

  def _info(self):
    img = tfds.features.Image(shape=(None, None, 3))
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "name": tfds.features.Text(),
            "hr": img,
            "lr_x2": tfds.features.Image(shape=(None, None, 3)),
            "lr_x4": tfds.features.Image(shape=(None, None, 3)),
            "kernel_x2": tfds.features.Tensor(shape=(None, None), dtype=np.float32, encoding="zlib", doc="x2 kernel (11x11)"),
            "kernel_x4": tfds.features.Tensor(shape=(None, None), dtype=np.float32, encoding="zlib",
                                              doc="x4 kernel: the x2 kernel applied twice (31x31)"),
        }),
        disable_shuffling=True,  # keep the source order
        supervised_keys=None,
        homepage="http://www.wisdom.weizmann.ac.il/~vision/kernelgan/",
    )

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    if cfg.source == "official":
      root, _ = sr_io.manual_or_download(dl_manager, _OFFICIAL_URL)
      if (pathlib.Path(root) / "DIV2KRK_public.zip").is_file() and sr_io.find_folder(root, ("DIV2KRK",)) is None:
        root = dl_manager.extract(pathlib.Path(root) / "DIV2KRK_public.zip")
      folder = sr_io.find_folder(root, ("DIV2KRK",))
      if folder is None:
        raise FileNotFoundError(f"no DIV2KRK folder under {root}")
      return {"test": self._generate_examples(folder, official=True)}
    if cfg.source == "div2k_valid":
      root, _ = sr_io.manual_or_download(dl_manager, _DIV2K_VALID_URL)
      if (pathlib.Path(root) / "DIV2K_valid_HR.zip").is_file() and sr_io.find_folder(root, cfg.folders) is None:
        root = dl_manager.extract(pathlib.Path(root) / "DIV2K_valid_HR.zip")
    else:
      root = dl_manager.manual_dir
    folder = sr_io.find_folder(root, cfg.folders)
    if folder is None:
      raise FileNotFoundError(f"no {'/'.join(cfg.folders)} folder under {root}")
    return {"test": self._generate_examples(folder, official=False)}

  def _generate_examples(self, folder, official):
    return self._official(folder) if official else self._regenerated(folder)

  def _official(self, folder):
    from scipy.io import loadmat

    def kernel(path):
      mat = loadmat(path)
      arrays = [v for k, v in mat.items() if not k.startswith("__")]
      return np.asarray(arrays[0], np.float32)

    for gt in sr_io.list_images(folder / "gt"):
      i = gt.stem.split("_")[1]  # img_<i>_gt
      files = {"lr_x2": folder / "lr_x2" / f"im_{i}.png", "lr_x4": folder / "lr_x4" / f"im_{i}.png",
               "kernel_x2": folder / "gt_k_x2" / f"kernel_{i}.mat", "kernel_x4": folder / "gt_k_x4" / f"kernel_{i}.mat"}
      missing = [str(p) for p in files.values() if not p.is_file()]
      if missing:
        sr_io.warn(f"sr_zoo.data: skipping DIV2KRK image {i}: missing {missing}")
        continue
      hr, _ = sr_io.for_tfds(gt, what="DIV2KRK HR image")
      lr2, _ = sr_io.for_tfds(files["lr_x2"], what="DIV2KRK LR image")
      lr4, _ = sr_io.for_tfds(files["lr_x4"], what="DIV2KRK LR image")
      if hr is None or lr2 is None or lr4 is None:
        continue
      name = f"im_{i}"
      yield name, {"name": name, "hr": hr, "lr_x2": lr2, "lr_x4": lr4,
                   "kernel_x2": kernel(files["kernel_x2"]), "kernel_x4": kernel(files["kernel_x4"])}

  def _regenerated(self, folder):
    cfg = self.builder_config
    images = sr_io.set_hr_images(folder)
    for index, (name, _, hr) in enumerate(images):
      hr = sr_io.modcrop(hr, 4)
      out = kernels.degrade_div2krk(hr, np.random.default_rng([cfg.seed, index]))
      yield name, {"name": name, "hr": hr, **out}

"""SR benchmarks Set5, Set14, B100 and Urban100: HR images (names kept) and MATLAB bicubic LR per scale."""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

import sr_zoo
from sr_zoo.data import io as sr_io

_SELFEXSR = "https://filebox.ece.vt.edu/~jbhuang/project/selfexsr/"


@dataclasses.dataclass
class SrBenchmarkConfig(tfds.core.BuilderConfig):
  folders: tuple = ()
  scales: tuple = (2, 3, 4)
  url: str = ""
  urban100_quirk: bool = False


class Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Set5 / Set14 / B100 / Urban100 with the SelfExSR (MATLAB bicubic) LR images."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
      SrBenchmarkConfig(name="set5", description="Set5 (Bevilacqua et al., BMVC 2012): 5 images.",
                        folders=("Set5",), url=_SELFEXSR + "Set5_SR.zip"),
      SrBenchmarkConfig(name="set14", description="Set14 (Zeyde et al., 2010): 14 images (bridge is grayscale).",
                        folders=("Set14",), url=_SELFEXSR + "Set14_SR.zip"),
      SrBenchmarkConfig(name="b100", description="B100 / BSD100 (BSDS300 test split): 100 images.",
                        folders=("B100", "BSD100", "BSDS100"), url=_SELFEXSR + "BSD100_SR.zip"),
      SrBenchmarkConfig(name="urban100", description="Urban100 (Huang et al., CVPR 2015): 100 images, x2 and x4.",
                        folders=("Urban100",), scales=(2, 4), url=_SELFEXSR + "Urban100_SR.zip",
                        urban100_quirk=True),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Optional (offline build): --manual_dir is a folder holding the set's folder
  (`Set5/`, `Set14/`, `B100/` or `BSD100/`, `Urban100/`), e.g. `../shared/data`,
  or that folder itself. Inside it either or both of:
    * `original/` (or `HR/`): the full-size HR images, named;
    * the SelfExSR layout `[SelfExSR/]image_SRF_<s>/img_NNN_SRF_<s>_{HR,LR}.png`.
  Scales whose LR files are absent are made with sr_zoo.imresize(..., boundary='replicate'),
  which reproduces SelfExSR's MATLAB LR files bit for bit.
  """

  def _info(self):
    features = {"name": tfds.features.Text(), "hr": tfds.features.Image(shape=(None, None, 3))}
    for s in self.builder_config.scales:
      features[f"lr_x{s}"] = tfds.features.Image(shape=(None, None, 3), doc=f"MATLAB bicubic x{s} LR of modcrop(hr, {s})")
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(features),
        disable_shuffling=True,  # evaluation sets: keep the source order (Set5: baby, bird, ...)
        supervised_keys=None,
        homepage="https://github.com/jbhuang0604/SelfExSR",
    )

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    root, _ = sr_io.manual_or_download(dl_manager, cfg.url)
    set_dir = sr_io.find_folder(root, cfg.folders)
    if set_dir is None:
      raise FileNotFoundError(f"no {'/'.join(cfg.folders)} folder under {root}")
    return {"test": self._generate_examples(set_dir)}

  def _generate_examples(self, set_dir):
    cfg = self.builder_config
    sx = sr_io.selfexsr_files(set_dir)
    orig_dir = sr_io.original_folder(set_dir)
    originals = sr_io.list_images(orig_dir) if orig_dir is not None else []
    indices = sorted({i for per_scale in sx.values() for i in per_scale})
    if not indices:
      indices = list(range(1, len(originals) + 1))
    if originals and len(originals) != len(indices):
      raise ValueError(f"{set_dir}: {len(originals)} original images but {len(indices)} SelfExSR images")
    table = sr_io.SELFEXSR_NAMES.get(cfg.name)
    for n, idx in enumerate(indices):
      if originals:
        name = originals[n].stem
      elif table is not None and 1 <= idx <= len(table):
        name = table[idx - 1]  # SelfExSR numbering: img_001 = first name of the table
      else:
        name = f"img_{idx:03d}"
      example = self._example(set_dir, sx, idx, originals[n] if originals else None, name)
      if example is not None:
        yield name, example

  def _example(self, set_dir, sx, idx, original, name):
    cfg = self.builder_config

    def read(path, what):
      return None if path is None else sr_io.read_rgb(path, what=what)

    # HR: the full-size original when present, else the SelfExSR HR that the most other scales'
    # HR files are modcrops of (then the largest): for B100 (481x321) that is x3's 480x321.
    hr_scales = [s for s in cfg.scales if not (cfg.urban100_quirk and s == 2)]
    if original is not None:
      hr = read(original, "HR image")
    else:
      stored = {s: read(sx[s][idx]["HR"], "HR image") for s in hr_scales if "HR" in sx.get(s, {}).get(idx, {})}
      hr = sr_io.best_selfexsr_hr({s: im for s, im in stored.items() if im is not None})
    if hr is None:
      sr_io.warn(f"sr_zoo.data: skipping {name} of {set_dir}: no readable HR image")
      return None
    example = {"name": name, "hr": hr}
    for s in cfg.scales:
      files = sx.get(s, {}).get(idx, {})
      target = sr_io.modcrop(hr, s)
      want = (target.shape[0] // s, target.shape[1] // s)
      if cfg.urban100_quirk and s == 2:
        # SelfExSR's Urban100 image_SRF_2/*_HR.png is imresize(original, 1/2): the x2 LR.
        lr = read(files.get("HR"), "x2 LR image")
        if lr is not None:
          lr = lr[: want[0], : want[1]]
      else:
        lr = read(files.get("LR"), f"x{s} LR image")
        stored_hr = files.get("HR")
        if stored_hr is not None and original is not None:
          sh = read(stored_hr, f"x{s} HR image")
          if sh is not None and (sh.shape != target.shape or not np.array_equal(sh, target)):
            sr_io.warn(f"sr_zoo.data: {stored_hr} is not modcrop({original.name}, {s}); using the original")
      if lr is not None and lr.shape[:2] != want:
        sr_io.warn(f"sr_zoo.data: {name} x{s}: stored LR is {lr.shape[:2]}, expected {want}; recomputing it")
        lr = None
      if lr is None:
        lr = sr_zoo.imresize(target, 1 / s, boundary="replicate")
      example[f"lr_x{s}"] = lr
    return example

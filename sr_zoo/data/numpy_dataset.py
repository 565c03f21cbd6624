"""(LR, HR) training batches from image folders without TensorFlow: a ``keras.utils.PyDataset``.

The JAX and PyTorch backends' counterpart of :func:`sr_zoo.data.train_dataset`
for bicubic degradation: the same pairs (for the same crop position and
transform, the same bytes as the tf.data pipeline), made with numpy only.
Each image's LR is computed once (MATLAB ``imresize`` of the image cropped to
a multiple of ``scale``, uint8, kept in memory); a pair is an aligned crop of
the LR and HR images plus one of the 8 dihedral transforms, then float32 in
[0, 1], RGB or Y (MATLAB ``rgb2ycbcr``). Batches are deterministic for a
``seed``: batch ``i`` of epoch ``e`` draws from ``numpy.random.default_rng((seed, e, i))``,
so worker threads/processes (``workers=``) give the same stream.

>>> train = sr_zoo.data.numpy_dataset.FolderPairs("../shared/data/T91", scale=3, lr_patch_size=17,
...                                                  batch_size=16, channels=1, seed=0)
>>> model.fit(train, epochs=10)
"""

import keras
import numpy as np

from sr_zoo.data import io as _io
from sr_zoo.image.color import rgb_to_y
from sr_zoo.image.resize import imresize


def _dihedral(x, t):
    """Transform ``t`` (0..7): rotation by ``t // 2`` x 90 degrees, then a left-right flip if odd (tf.data's order)."""
    x = np.rot90(x, t // 2, axes=(0, 1))
    return x[:, ::-1] if t % 2 else x


class FolderPairs(keras.utils.PyDataset):
    """Random aligned (LR, HR) patch batches from folders of HR images (bicubic degradation).

    Args:
      folders: a folder of images or a list of folders (their images are pooled).
      scale: integer upscaling factor.
      patch_size: HR patch side (a multiple of ``scale``), or give ``lr_patch_size``.
      batch_size: patches per batch.
      channels: 1 (Y of MATLAB YCbCr) or 3 (RGB).
      augment: random 90-degree rotations and flips, the same for LR and HR.
      seed: integer seed of the stream.
      steps_per_epoch: batches per epoch (default: one patch per image).
      boundary: imresize border rule, ``'symmetric'`` (current MATLAB) or ``'replicate'``.
      rescale: rescaling augmentation (FSRCNN's, LapSRN's): factors in (0, 1]; each image also
        joins the pool MATLAB-bicubic shrunk by each factor (versions whose LR is smaller than the
        patch are left out), as the tf.data pipeline's cached path does.
      pyramid_levels: LapSRN's targets: with ``L > 1`` levels the HR of a batch is a tuple of
        ``L`` images, level ``i`` being the HR shrunk by ``2 ** (L - 1 - i)`` (MATLAB bicubic).
      **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` of ``keras.utils.PyDataset``.

    Unreadable files and images smaller than the HR patch are skipped with a
    warning naming the file, as in the tf.data pipeline.
    """

    def __init__(self, folders, *, scale, batch_size, patch_size=None, lr_patch_size=None, channels=1,
                 augment=True, seed=0, steps_per_epoch=None, boundary="symmetric", rescale=None, pyramid_levels=1,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(scale, (int, np.integer)) or isinstance(scale, bool) or scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale!r}")
        if (patch_size is None) == (lr_patch_size is None):
            raise ValueError("give exactly one of patch_size (HR side) or lr_patch_size (LR side)")
        if patch_size is not None and patch_size % scale:
            raise ValueError(f"patch_size={patch_size} is the HR patch side and must be a multiple of scale={scale}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (Y) or 3 (RGB), got {channels!r}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.scale = int(scale)
        self.lr_patch = int(lr_patch_size) if lr_patch_size is not None else int(patch_size) // self.scale
        self.batch_size = int(batch_size)
        self.channels = channels
        self.augment = bool(augment)
        self.seed = int(seed)
        self.boundary = boundary
        self.rescale = tuple(float(r) for r in rescale) if rescale else (1.0,)
        if any(not 0 < r <= 1 for r in self.rescale):
            raise ValueError(f"rescale factors must be in (0, 1], got {rescale}")
        self.epoch = 0
        self.pyramid_levels = int(pyramid_levels)
        self.names, self.hr, self.lr = self._load(folders)
        self.steps = int(steps_per_epoch) if steps_per_epoch else max(1, len(self.hr) // self.batch_size)

    def _load(self, folders):
        folders = [folders] if isinstance(folders, (str, bytes)) or not hasattr(folders, "__iter__") else folders
        names, hrs, lrs = [], [], []
        need = self.lr_patch * self.scale
        for folder in folders:
            files = _io.list_images(folder)
            if not files:
                raise ValueError(f"no image files in {folder}")
            for path in files:
                image = _io.read_rgb(path)
                if image is None:
                    continue  # read_rgb warned
                if image.shape[0] < need or image.shape[1] < need:
                    _io.warn(f"sr_zoo.data: skipping {path}: {image.shape[0]}x{image.shape[1]} is smaller than "
                             f"the {need}x{need} HR patch")
                    continue
                for r in self.rescale:  # one pair per image and factor, each made once
                    hr = _io.modcrop(image if r == 1 else imresize(image, r), self.scale)
                    if min(hr.shape[:2]) < need:
                        continue  # a shrunk version smaller than the patch (the original was not)
                    names.append(str(path) if r == 1 else f"{path} (x{r:g})")
                    hrs.append(hr)
                    lrs.append(imresize(hr, 1.0 / self.scale, boundary=self.boundary))
        if not hrs:
            raise ValueError(f"no usable images (readable and at least {need}x{need}) in {list(map(str, folders))}")
        return names, hrs, lrs

    def __len__(self):
        return self.steps

    def on_epoch_end(self):
        self.epoch += 1

    def pair(self, index, y, x, transform=0):
        """uint8 ``(lr, hr)`` patches of image ``index`` at LR position ``(y, x)``, dihedral ``transform``."""
        p, s = self.lr_patch, self.scale
        lr = self.lr[index][y:y + p, x:x + p]
        hr = self.hr[index][y * s:(y + p) * s, x * s:(x + p) * s]
        return _dihedral(lr, transform), _dihedral(hr, transform)

    def _to_output(self, batch_u8):
        x = np.stack(batch_u8).astype(np.float32) / 255.0
        return rgb_to_y(x) if self.channels == 1 else x

    def __getitem__(self, idx):
        if not 0 <= idx < self.steps:
            raise IndexError(f"batch {idx} out of range (0..{self.steps - 1})")
        rng = np.random.default_rng((self.seed, self.epoch, int(idx)))
        lrs, hrs = [], []
        for index in rng.integers(0, len(self.hr), self.batch_size):
            h, w = self.lr[index].shape[:2]
            y, x = rng.integers(0, h - self.lr_patch + 1), rng.integers(0, w - self.lr_patch + 1)
            t = int(rng.integers(0, 8)) if self.augment else 0
            lr, hr = self.pair(index, y, x, t)
            lrs.append(lr)
            hrs.append(hr)
        hr = self._to_output(hrs)
        if self.pyramid_levels > 1:
            levels = self.pyramid_levels
            shrunk = [np.stack([imresize(h, 1 / 2 ** (levels - 1 - i)) for h in hr]) for i in range(levels - 1)]
            return self._to_output(lrs), tuple(shrunk) + (hr,)
        return self._to_output(lrs), hr

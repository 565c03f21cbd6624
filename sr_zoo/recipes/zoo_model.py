"""A zoo model's record (:class:`ZooModel`) and the data and wording its recipes share."""

import dataclasses
import functools

from sr_zoo import text
from sr_zoo.recipes.papers import get

T91_BSD200 = "../shared/data/T91,../shared/data/BSD200"  # the "291 images" (T91 + BSD200), image folders
T91 = "../shared/data/T91"


@dataclasses.dataclass(frozen=True)
class ZooModel:
    """A model of the pretrained zoo: what it is, the paper's numbers, and how we train it.

    ``flags`` are the ``train.py`` flags that change the paper's recipe (``get(model, scale)``);
    ``changes`` says what differs from the paper and why. ``paper`` holds the paper's Y-PSNR
    (dB, crop = scale) on Set5 / Set14 / B100 (``None`` where the paper gives none).
    """

    name: str
    model: str
    scale: int
    channels: int
    paper: dict
    paper_source: str
    flags: tuple
    changes: str
    preset: str = None
    warm_start: str = None  # a zoo model whose weights start the run (another scale of the same network)

    def command(self, output_dir=None):
        """The ``train.py`` command line that trains this model (from ``warm_start`` where one is set)."""
        parts = ["python train.py", f"--model={self.model}", f"--scale={self.scale}"]
        parts += [f"--preset={self.preset}"] if self.preset else []
        parts += list(self.flags) + [f"--output_dir={output_dir or 'runs/' + self.name}"]
        parts += [f"--warm_start={self.warm_start}"] if self.warm_start else []
        return " ".join(parts)

    def flag(self, name, default=None):
        """The value of ``--name=`` in :attr:`flags` (a string), or ``default``."""
        values = [f.split("=", 1)[1] for f in self.flags if f.startswith(f"--{name}=")]
        return values[-1] if values else default

    def training_compute(self, paper_recipe=False):
        """What our recipe (or the paper's) costs: ``steps``, ``batch_size``, ``flops_per_step``, ``flops``.

        FLOPs are counted as 3x the forward multiply-adds of one batch of training patches, 2 FLOPs
        each (forward, and a backward pass twice the forward), the usual estimate for convolutions.
        """
        recipe = get(self.model, self.scale)
        batch, steps = recipe.batch_size, recipe.epochs * recipe.steps_per_epoch
        if not paper_recipe:
            if self.flag("patch_size") or self.flag("lr_patch_size"):
                recipe = recipe.replace(hr_patch_size=int(self.flag("patch_size", 0)) or None,
                                        lr_patch_size=int(self.flag("lr_patch_size", 0)) or None)
            batch = int(self.flag("batch_size", batch))
            steps = int(self.flag("epochs", recipe.epochs)) * int(self.flag("steps_per_epoch", recipe.steps_per_epoch))
        options = self.flag("model_options")
        options = tuple(sorted(text.parse_options(options.split(","), "--model_options").items())) if options else ()
        macs = _macs_per_lr_pixel(self.model, self.scale, self.channels, self.preset, options)
        per_step = 3 * 2 * macs * recipe.patch_sizes()[0] ** 2 * batch
        return {"steps": steps, "batch_size": batch, "flops_per_step": per_step, "flops": per_step * steps}


@functools.lru_cache(maxsize=None)
def _macs_per_lr_pixel(model, scale, channels, preset, options):
    """Forward multiply-adds per LR pixel of a zoo network (built once per configuration)."""
    from sr_zoo import models

    built = models.get(model, scale=scale, channels=channels, preset=preset, **dict(options))
    return models.describe(built).macs_per_lr_pixel


ADAM_CPU = ("Adam with a cosine decay instead of the paper's SGD "
             "(hours on 2 CPU cores instead of days); {data} with flips and rotations")
DATA = {
    T91_BSD200: "291 images (T91 + BSD200)",
    # BSD200's photos carry their JPEG past (BSDS500 is distributed as JPEG); the SR papers' own small-model
    # data is clean (T91, General-100). From the shipped espcn_x3 file, 5k steps at 2e-4 on T91 alone gave
    # 32.39 / 29.01 dB on Set5 / Set14 where its cycles on the 291 images had settled at 32.34 / 28.99; the same
    # for fsrcnn_x3 (4k steps at 2e-4): 32.51 / 29.10, where 4k steps on the 291 images (32x32 LR patches, batch
    # 8) gave 32.48 / 29.10 and its last 40k-step cycle there ended at 32.47 / 29.09 (B100: 0.01 dB lower on T91).
    T91: "T91 alone (the clean images the paper trains on; earlier cycles used the 291 images, see the lineage)",
}

# Another cosine cycle from the shipped file: the manifest's lineage keeps the earlier cycles.
AGAIN = "; another cycle warm-started from the shipped file (earlier cycles: the manifest's lineage)"

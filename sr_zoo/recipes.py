"""Each paper's training recipe, written down with its source.

``train.py --model=NAME --scale=S`` starts from ``get(NAME, S)``; every field
can be overridden by a flag. Where a paper is silent, the choice is marked
"not in the paper" with the value we use.

>>> recipe = sr_zoo.recipes.get("espcn", scale=3)
>>> recipe.lr_patch_size, recipe.loss, recipe.learning_rate
(17, 'mse', 0.01)
"""

import dataclasses
import functools

from sr_zoo import text


@dataclasses.dataclass
class Recipe:
    """A training recipe. Patch sizes are in pixels; give the HR or the LR side (the other is derived)."""

    model: str
    scale: int
    source: str
    preset: str = None
    channels: int = 1
    datasets: tuple = ("t91",)
    hr_patch_size: int = None
    lr_patch_size: int = None
    batch_size: int = 16
    loss: str = "mse"
    optimizer: str = "adam"  # 'sgd' (with momentum) or 'adam'
    momentum: float = 0.9
    weight_decay: float = 0.0
    learning_rate: float = 1e-3
    # 'constant' | 'step' (multiply by lr_decay_factor every lr_decay_steps) | 'plateau'
    # (multiply by lr_decay_factor when the validation PSNR stops improving, down to min_learning_rate)
    # | 'cosine' (cosine decay from learning_rate to min_learning_rate over the whole run).
    lr_schedule: str = "constant"
    lr_decay_steps: int = None
    lr_decay_factor: float = 0.5
    min_learning_rate: float = 0.0
    # Linear warm-up from 0 to learning_rate over the first warmup_steps (constant and cosine schedules):
    # a warm-started run begins with fresh Adam moments, whose first full-size steps knock a trained model back.
    warmup_steps: int = 0
    reconstruction_lr_multiplier: float = 1.0  # the 10x-slower last layer of SRCNN, ESPCN, FSRCNN
    epochs: int = 100
    steps_per_epoch: int = 1000
    early_stopping_patience: int = None  # epochs without validation improvement
    degradation: str = "bicubic"
    blur_sigma: float = None  # degradation='gaussian': the blur's std in HR pixels (ESPCN's LR synthesis)
    augment: bool = True  # flips and 90-degree rotations
    rescale: tuple = None  # rescaling augmentation factors (FSRCNN, LapSRN): images also shrunk by each
    model_config: dict = dataclasses.field(default_factory=dict)
    # Compute precision (variables stay float32): 'auto' is bfloat16 on GPUs and CPUs with native bfloat16
    # under TensorFlow, float32 elsewhere (sr_zoo.precision) and for FSRCNN on a CPU
    # (sr_zoo.models.precision.training_precision); not in any paper, which all trained in float32.
    precision: str = "auto"
    # Fine-tune a copy with TFLite's int8 arithmetic simulated (sr_zoo.models.quantization): the weights an int8
    # export keeps its quality with. Not in any paper.
    quantization_aware: bool = False

    def patch_sizes(self):
        """``(lr, hr)`` patch sides."""
        if self.lr_patch_size:
            return self.lr_patch_size, self.lr_patch_size * self.scale
        lr = max(1, round(self.hr_patch_size / self.scale))
        return lr, lr * self.scale

    def replace(self, **changes):
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _srcnn(scale):
    return Recipe(
        model="srcnn",
        scale=scale,
        source=(
            "Dong et al., 'Image Super-Resolution Using Deep Convolutional Networks', TPAMI 2016, Sec. 4: "
            "T91, 33x33 HR sub-images, MSE, SGD (momentum 0.9), learning rate 1e-4 with 1e-5 for the last "
            "layer, 9-5-5 network; batch 128 (Caffe solver); about 8e8 back-propagations in the paper"
        ),
        preset="9-5-5",
        datasets=("t91",),
        hr_patch_size=33,
        batch_size=128,
        loss="mse",
        optimizer="sgd",
        learning_rate=1e-4,
        reconstruction_lr_multiplier=0.1,
        augment=False,  # the paper crops sub-images from T91 without flips or rotations
        epochs=1000,
    )


def _espcn(scale):
    return Recipe(
        model="espcn",
        scale=scale,
        source=(
            "Shi et al., 'Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel "
            "CNN', CVPR 2016, Sec. 3.1: T91, 17x17 LR sub-images, tanh, MSE, learning rate 0.01 decayed to "
            "1e-4 when the improvement falls below a threshold, last layer 10x slower, stop after 100 epochs "
            "without improvement. Not in the paper: optimizer (SGD, momentum 0.9), batch 16, decay x0.1."
        ),
        datasets=("t91",),
        lr_patch_size=17,
        batch_size=16,
        loss="mse",
        optimizer="sgd",
        learning_rate=0.01,
        lr_schedule="plateau",
        lr_decay_factor=0.1,
        min_learning_rate=1e-4,
        reconstruction_lr_multiplier=0.1,
        early_stopping_patience=100,
        augment=False,
        epochs=3000,
        steps_per_epoch=200,
        model_config={"activation": "tanh"},
    )


def _fsrcnn(scale):
    lr_patch = {2: 10, 3: 7, 4: 6}.get(scale, 7)
    return Recipe(
        model="fsrcnn",
        scale=scale,
        source=(
            "Dong et al., 'Accelerating the Super-Resolution Convolutional Neural Network', ECCV 2016, "
            "Sec. 4.1-4.2: T91 (+ General-100), rescaling augmentation (0.9, 0.8, 0.7, 0.6) and rotations "
            "(90, 180, 270), LR sub-images 10/7/6 for x2/x3/x4, MSE, SGD, learning rate 1e-3 with 1e-4 for "
            "the deconvolution layer, batch 128, FSRCNN(56, 12, 4) with PReLU."
        ),
        preset="fsrcnn",
        datasets=("t91",),
        lr_patch_size=lr_patch,
        batch_size=128,
        loss="mse",
        optimizer="sgd",
        learning_rate=1e-3,
        reconstruction_lr_multiplier=0.1,
        rescale=(1.0, 0.9, 0.8, 0.7, 0.6),
        epochs=1000,
    )


def _lapsrn(scale):
    return Recipe(
        model="lapsrn",
        scale=scale,
        source=(
            "Lai et al., 'Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution', CVPR "
            "2017, Sec. 3.4: 291 images (T91 + BSD200), 128x128 HR patches, batch 64, Charbonnier loss "
            "(eps 1e-3) on every pyramid level, SGD momentum 0.9, weight decay 1e-4, learning rate 1e-5 "
            "halved every 50 epochs of 1000 iterations, flips and rotations, images randomly downscaled "
            "by 0.5-1.0 (the authors' getBatch_LapSRN.m draws one of 0.5, 0.6, ..., 1.0), depth 10 per level."
        ),
        datasets=("t91", "bsd200"),
        hr_patch_size=128,
        batch_size=64,
        loss="charbonnier",
        optimizer="sgd",
        weight_decay=1e-4,
        learning_rate=1e-5,
        lr_schedule="step",
        lr_decay_steps=50_000,
        lr_decay_factor=0.5,
        rescale=(1.0, 0.9, 0.8, 0.7, 0.6, 0.5),
        epochs=1000,
        steps_per_epoch=1000,
    )


def _edsr(scale):
    return Recipe(
        model="edsr",
        scale=scale,
        source=(
            "Lim et al., 'Enhanced Deep Residual Networks for Single Image Super-Resolution', CVPRW 2017, "
            "Sec. 4.1: DIV2K, 48x48 LR RGB patches, batch 16, flips and rotations, L1 loss, Adam "
            "(beta1 0.9, beta2 0.999, eps 1e-8), learning rate 1e-4 halved every 2e5 updates; baseline model."
        ),
        preset="baseline",
        channels=3,
        datasets=("div2k/hr",),
        lr_patch_size=48,
        batch_size=16,
        loss="l1",
        optimizer="adam",
        learning_rate=1e-4,
        lr_schedule="step",
        lr_decay_steps=200_000,
        lr_decay_factor=0.5,
        epochs=300,
        steps_per_epoch=1000,
    )


_RECIPES = {"srcnn": _srcnn, "espcn": _espcn, "fsrcnn": _fsrcnn, "lapsrn": _lapsrn, "edsr": _edsr}


def names():
    return sorted(_RECIPES)


def get(model, scale):
    """The paper's recipe for ``model`` at ``scale``; a ``ValueError`` lists the known models."""
    if model not in _RECIPES:
        raise ValueError(f"no recipe for model {model!r}; known: {', '.join(names())}")
    return _RECIPES[model](int(scale))


# ----------------------------------------------------------------------------- the pretrained zoo

_T91_BSD200 = "../shared/data/T91,../shared/data/BSD200"  # the "291 images" (T91 + BSD200), image folders


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


_T91 = "../shared/data/T91"
_ADAM_CPU = ("Adam with a cosine decay instead of the paper's SGD "
             "(hours on 2 CPU cores instead of days); {data} with flips and rotations")
_DATA = {
    _T91_BSD200: "291 images (T91 + BSD200)",
    # BSD200's photos carry their JPEG past (BSDS500 is distributed as JPEG); the SR papers' own small-model
    # data is clean (T91, General-100). From the shipped espcn_x3 file, 5k steps at 2e-4 on T91 alone gave
    # 32.39 / 29.01 dB on Set5 / Set14 where its cycles on the 291 images had settled at 32.34 / 28.99; the same
    # for fsrcnn_x3 (4k steps at 2e-4): 32.51 / 29.10, where 4k steps on the 291 images (32x32 LR patches, batch
    # 8) gave 32.48 / 29.10 and its last 40k-step cycle there ended at 32.47 / 29.09 (B100: 0.01 dB lower on T91).
    _T91: "T91 alone (the clean images the paper trains on; earlier cycles used the 291 images, see the lineage)",
}


# ESPCN's feature layers have the same shapes at every scale; only the sub-pixel layer (scale**2 outputs) differs.
_ESPCN_TRANSFER = ("; warm-started from the x3 model of this zoo (its two feature layers; the sub-pixel layer, "
                   "with scale**2 outputs, starts afresh) and fine-tuned")
# Another cosine cycle from the shipped file: the manifest's lineage keeps the earlier cycles.
_AGAIN = "; another cycle warm-started from the shipped file (earlier cycles: the manifest's lineage)"


# ESPCN's paper synthesises its LR by Gaussian blur and sub-sampling (sigma not given) where the zoo uses MATLAB
# bicubic. Checked at x3 with RDN's "BD" blur (sigma 1.6 HR pixels, sr_zoo.data.degradations.gaussian_downsample):
# the shipped espcn_x3, fine-tuned 15k steps from it on that degradation (train.py --degradation=gaussian
# --blur_sigma=1.6, otherwise this recipe), scores 32.22 dB on Set5 made the same way (bicubic upscaling: 28.53)
# and 27.74 on the MATLAB-bicubic Set5, where the shipped model scores 32.41 (and 29.95 on the Gaussian set). The
# Gaussian protocol does not put ESPCN higher, and each model fails on the other's LR: at this sigma (the paper
# gives none) the degradation does not explain the gap to the paper's 32.55, printed beside SRCNN's bicubic numbers.
# ESPCN's receptive field is 9x9 LR pixels: with 'same' zero padding, 72 % of the outputs of the paper's 17x17 LR
# sub-image see the patch border, which test images almost never show. From the shipped espcn_x3 (32.41 dB), 20k
# steps on T91 gave 32.451 dB with 34x34 LR patches in batches of 16 (the pixels of 64 17x17 ones; 5e-4), 32.453
# with 48x48 in batches of 16 (3e-4), and 25k steps of 48x48 in batches of 32 (3e-4) 32.464 (Set14 29.02 -> 29.05,
# B100 28.19 -> 28.21). Not shipped: the int8 fine-tune from that file (INT8's 40k steps of 17x17 in batches of 64)
# reached 32.348 dB in LiteRT, 0.116 below it, over publish_int8's 0.1 (on 48x48 in batches of 32, 8k steps at
# 65 ms simulated 0.165), where the shipped float and int8 pair keeps 0.081.
_ESPCN_PATCHES = ("; 48x48 LR patches in batches of 32 instead of 17x17 in batches of 64: with zero padding, 72 % "
                  "of a 17x17 sub-image's outputs see its border")


def _espcn_zoo(scale, paper, epochs=60, learning_rate="1e-3", warm_start=None, datasets=_T91_BSD200,
               lr_patch_size=None):
    return ZooModel(
        name=f"espcn_x{scale}", model="espcn", scale=scale, channels=1, paper=paper,
        paper_source=("Shi et al. CVPR 2016, Table 1/2 (x3: T91-trained tanh model; x4: ImageNet-trained)" if scale > 2
                      else "the paper reports no x2 model; target: FSRCNN-s x2 (Dong et al. ECCV 2016), as the "
                           "zoo's issue asks"),
        flags=(f"--datasets={datasets}", "--augment",
               *((f"--lr_patch_size={lr_patch_size}", "--batch_size=32") if lr_patch_size else ("--batch_size=64",)),
               "--optimizer=adam",
               f"--learning_rate={learning_rate}", "--lr_schedule=cosine", "--min_learning_rate=1e-5",
               "--reconstruction_lr_multiplier=1", f"--epochs={epochs}", "--steps_per_epoch=1000"),
        changes=_ADAM_CPU.format(data=_DATA[datasets]) + "; batches of 64 instead of 16; no plateau decay or early "
                                                          "stopping (a fixed cosine schedule instead)"
                + (_ESPCN_PATCHES if lr_patch_size else "")
                + (_ESPCN_TRANSFER if warm_start == "espcn_x3" and scale != 3 else "")
                + (_AGAIN if warm_start == f"espcn_x{scale}" else ""),
        warm_start=warm_start,
    )


# Other scales of a network start from its x3 weights, as the FSRCNN paper (Sec. 3.3) transfers its
# shared layers between upscaling factors: SRCNN's and FSRCNN's weights have the same shapes at every
# scale, so the whole network warm-starts and the run fine-tunes it for the new factor.
_TRANSFER = "; warm-started from the x3 model of this zoo and fine-tuned (the FSRCNN paper's transfer between scales)"


# SRCNN with the paper's initial weights (Gaussian, std 0.001) and Adam at 1e-3 lost 47 of its 96 ReLU
# filters (sr_zoo.models.dead_relu_channels on Set5) and stalled at 31.22 dB after 8k steps; at 1e-4 or
# 3e-4 the paper's init starts slowly (26.1 / 28.3 dB after 500 steps). He init with Adam at 3e-4 reached
# 31.28 dB in 1k steps with 1 dead filter of 96; at 1e-3, 31.37 dB but 8 dead.
_SRCNN_INIT = ("; He initialisation instead of the paper's Gaussian (std 0.001) and a peak learning rate of "
               "3e-4: with the paper's init and Adam at 1e-3 half the ReLU filters died")


# SRCNN's 9-5-5 network sees 17x17 HR pixels; with 'same' zero padding (the paper trains without padding,
# on a smaller label) most pixels of a 33x33 sub-image see the patch border. 66x66 patches in batches of 16
# (the pixels of 64 33x33 ones) took the shipped x3 model from 32.21 to 32.26 dB on Set5 in 3k steps at
# 1.5e-4, where its previous cycle (8k steps of 33x33 at 1.5e-4) had gained 0.08 dB.
_SRCNN_PATCHES = ("; {p}x{p} HR patches in batches of 16 (about the pixels of 64 33x33 sub-images): with zero "
                  "padding, the paper's 33x33 sub-image is mostly border for a 17x17 receptive field")


def _srcnn_zoo(scale, paper, epochs=8, learning_rate="3e-4", warm_start=None, patch_size=None):
    patch_flags = (f"--patch_size={patch_size}", "--batch_size=16") if patch_size else ("--batch_size=64",)
    return ZooModel(
        name=f"srcnn-9-5-5_x{scale}", model="srcnn", scale=scale, channels=1, preset="9-5-5", paper=paper,
        paper_source="Dong et al. TPAMI 2016, Table 5 (9-5-5, ImageNet-trained)",
        flags=("--model_options=init=he", f"--datasets={_T91_BSD200}", "--augment", *patch_flags,
               "--optimizer=adam", f"--learning_rate={learning_rate}", "--lr_schedule=cosine",
               "--min_learning_rate=1e-5", "--reconstruction_lr_multiplier=1", f"--epochs={epochs}",
               "--steps_per_epoch=1000"),
        changes=_ADAM_CPU.format(data=_DATA[_T91_BSD200])
                + " instead of ImageNet (the issue's request: the 291 images and a modern optimizer); "
                  "batches of 64 instead of 128" + _SRCNN_INIT
                + (_SRCNN_PATCHES.format(p=patch_size) if patch_size else "")
                + (_AGAIN if warm_start == f"srcnn-9-5-5_x{scale}" else "" if scale == 3 else _TRANSFER),
        warm_start=warm_start or (None if scale == 3 else "srcnn-9-5-5_x3"),
    )


# FSRCNN's LR sub-images (10/7/6 for x2/x3/x4) are smaller than its receptive field (13x13 LR pixels for
# FSRCNN, 7x7 for FSRCNN-s): with 'same' padding nearly every training pixel sees the zero border, which
# test images almost never show. 16x16 LR patches in batches of 32 (about the same pixels per step as 128
# of 7x7) took the shipped x3 model from 32.10 to 32.24 dB on Set5 in 2k steps at 2e-4, where 7x7 patches
# stayed at 32.07 (the same 2k steps). Going on to 32x32 LR patches in batches of 8 (the same pixels), 10k steps at
# 3e-4 from the shipped files on T91 gained less: fsrcnn_x3 32.523 -> 32.548 dB, fsrcnn-s_x3 32.233 -> 32.265.
_FSRCNN_PATCHES = ("; 16x16 LR patches in batches of 32 instead of the paper's 10/7/6 in batches of 128 "
                   "(the paper's sub-images are smaller than the receptive field: with zero padding their "
                   "borders dominate the loss)")


def _fsrcnn_zoo(preset, scale, paper, epochs=15, warm_start=None, learning_rate="5e-4", lr_patch_size=16,
                batch_size=32, datasets=_T91_BSD200):
    suffix = "-s" if preset == "fsrcnn-s" else ""
    source = "Dong et al. ECCV 2016 (T91 + General-100; its third test set is BSD200, not B100)"
    if suffix:
        source += ("; FSRCNN-s values as we recall the paper's table: no copy of the table could be read offline "
                   "to confirm them")
    return ZooModel(
        name=f"fsrcnn{suffix}_x{scale}", model="fsrcnn", scale=scale, channels=1, preset=preset, paper=paper,
        paper_source=source,
        flags=(f"--datasets={datasets}", *([f"--lr_patch_size={lr_patch_size}"] if lr_patch_size else []),
               f"--batch_size={batch_size}", "--optimizer=adam", f"--learning_rate={learning_rate}",
               "--lr_schedule=cosine", "--min_learning_rate=1e-5", "--reconstruction_lr_multiplier=1",
               f"--epochs={epochs}", "--steps_per_epoch=1000"),
        changes=_ADAM_CPU.format(data=_DATA[datasets])
                + ("; BSD200 instead of General-100 (not available offline)" if datasets == _T91_BSD200
                   else "; without General-100 (not available offline)")
                + "; the paper's rescaling kept"
                + (_FSRCNN_PATCHES if lr_patch_size else "")
                + (_TRANSFER if warm_start == f"fsrcnn{suffix}_x3" and scale != 3 else "")
                + (_AGAIN if warm_start == f"fsrcnn{suffix}_x{scale}" else ""),
        warm_start=warm_start,
    )


# LapSRN and EDSR-baseline need ~1e17 FLOPs each (GPU work). Without a GPU, a "CPU stage" trains the x2
# model on smaller batches and patches, 1/16 (LapSRN) and 1/4 (EDSR) of the paper's FLOPs per step,
# for a few thousand steps: the best model 2 CPU cores can make in a session, shipped as such, and the
# warm start of a full-recipe run on a GPU later.
_CPU_STAGE = ("CPU stage: {what} and a short cosine schedule, so that 2 CPU cores can train it in a session "
              "(the paper's recipe is {paper}); a GPU run of the paper's recipe warm-started from it is still to do")


# The larger factors' CPU stages start from the next smaller factor's shipped weights, as the papers
# do (EDSR's x3/x4 from its x2 network; LapSRN's new level from the level below it, see
# sr_zoo.models.transfer_weights), and fine-tune at a lower peak learning rate.
_STAGE_TRANSFER = ("; warm-started from {source} of this zoo ({what}) and fine-tuned at a lower peak learning "
                   "rate")


def _lapsrn_zoo(scale, paper, cpu_stage=False, steps_per_epoch=1000, epochs=None, learning_rate=None,
                warm_start=None, bfloat16_stage=False, batch_size=16):
    flags = (f"--datasets={_T91_BSD200}", "--optimizer=adam", "--learning_rate=1e-4", "--lr_schedule=cosine",
             "--min_learning_rate=1e-6", "--epochs=100", "--steps_per_epoch=1000")
    changes = "Adam 1e-4 with a cosine decay instead of SGD 1e-5 halved every 50 epochs (same data, patches, loss)"
    if bfloat16_stage:
        if not epochs:
            raise ValueError("a LapSRN bfloat16 stage needs its epochs")
        # the paper's 128x128 HR patches in bfloat16 (5x the float32 step on the AMX Xeon); a quarter of its
        # batch of 64, which keeps 10k steps within an hour on 2 cores
        learning_rate = learning_rate or "2e-4"
        flags = (f"--datasets={_T91_BSD200}", "--patch_size=128", f"--batch_size={batch_size}", "--optimizer=adam",
                 f"--learning_rate={learning_rate}", "--lr_schedule=cosine", "--min_learning_rate=1e-6",
                 "--warmup_steps=300", f"--epochs={epochs}", f"--steps_per_epoch={steps_per_epoch}",
                 "--rescale=none", "--precision=auto")
        changes = (f"bfloat16 stage on 2 CPU cores with AMX (precision auto, image path in float32): the paper's "
                   f"128x128 HR patches in batches of {batch_size} (paper: 64), Adam {learning_rate} with a 300-step "
                   f"linear warm-up and a cosine decay over {epochs * steps_per_epoch // 1000}k steps (paper: SGD "
                   f"1e-5 halved every 50 epochs, 100k steps), no scale augmentation; earlier float32 CPU-stage "
                   f"cycles: the lineage")
        if warm_start == f"lapsrn_x{scale}":
            changes += _AGAIN
        return ZooModel(
            name=f"lapsrn_x{scale}", model="lapsrn", scale=scale, channels=1, paper=paper,
            paper_source="Lai et al. CVPR 2017, Table 4 (291 images)", flags=flags, changes=changes,
            warm_start=warm_start,
        )
    if cpu_stage:
        # x2: 64x64 HR patches in batches of 16; x4/x8: 128x128 in batches of 4 (a 64x64 patch is smaller
        # than their receptive field in LR pixels)
        patch, batch = (64, 16) if scale == 2 else (128, 4)
        epochs, learning_rate = epochs or (2 if scale == 2 else 4), learning_rate or ("5e-4" if scale == 2 else "2e-4")
        flags = (f"--datasets={_T91_BSD200}", f"--patch_size={patch}", f"--batch_size={batch}", "--optimizer=adam",
                 f"--learning_rate={learning_rate}", "--lr_schedule=cosine", "--min_learning_rate=1e-5",
                 f"--epochs={epochs}", f"--steps_per_epoch={steps_per_epoch}", "--rescale=none")
        what = (f"64x64 HR patches in batches of 16 (paper: 128x128, 64)" if scale == 2
                else "batches of 4 128x128 HR patches (paper: 64)")
        changes = _CPU_STAGE.format(what=f"{what}, Adam {learning_rate}, no scale augmentation",
                                    paper="100k steps of 64 128x128 patches")
        if warm_start == f"lapsrn_x{scale}":
            changes += _AGAIN
        elif scale > 2:  # a new level on top of the smaller factor's network
            warm_start = f"lapsrn_x{scale // 2}"
            changes += _STAGE_TRANSFER.format(source=warm_start, what="its levels; the new level starts as a copy "
                                                                      "of the level below")
    return ZooModel(
        name=f"lapsrn_x{scale}", model="lapsrn", scale=scale, channels=1, paper=paper,
        paper_source="Lai et al. CVPR 2017, Table 4 (291 images)", flags=flags, changes=changes,
        warm_start=warm_start,
    )


def _edsr_zoo(scale, paper, cpu_stage=False, steps_per_epoch=1000, epochs=None, learning_rate=None, warm_start=None,
              warmup_steps=None, bfloat16_stage=False):
    flags = (f"--datasets={_T91_BSD200}", "--learning_rate=2e-4", "--lr_schedule=cosine",
             "--min_learning_rate=1e-6", "--epochs=300", "--steps_per_epoch=1000")
    changes = ("the 291 images instead of DIV2K (not available offline: fewer, smaller images, so expect lower "
               "numbers than the paper's); cosine decay instead of halving every 2e5 updates")
    if bfloat16_stage:
        # the paper's batch (16) and patch (48x48 LR) in bfloat16, 4x faster than float32 on the AMX Xeon
        learning_rate = learning_rate or "2e-4"
        flags = (f"--datasets={_T91_BSD200}", "--batch_size=16", f"--learning_rate={learning_rate}",
                 "--lr_schedule=cosine", "--min_learning_rate=1e-6", f"--warmup_steps={warmup_steps or 300}",
                 f"--epochs={epochs}", f"--steps_per_epoch={steps_per_epoch}", "--precision=auto")
        changes += (f"; bfloat16 stage on 2 CPU cores with AMX (precision auto, image path in float32): the "
                    f"paper's batch of 16 48x48 LR patches, Adam {learning_rate} with a {warmup_steps or 300}-step "
                    f"linear warm-up and a cosine decay over {epochs * steps_per_epoch // 1000}k steps (paper: "
                    f"300k steps); earlier float32 CPU-stage cycles at batch 4: the lineage")
        if warm_start == f"edsr-baseline_x{scale}":
            changes += _AGAIN
        return ZooModel(
            name=f"edsr-baseline_x{scale}", model="edsr", scale=scale, channels=3, preset="baseline", paper=paper,
            paper_source="Lim et al. CVPRW 2017, Table 3 (EDSR baseline, DIV2K-trained)", flags=flags,
            changes=changes, warm_start=warm_start,
        )
    if cpu_stage:
        learning_rate = learning_rate or ("5e-4" if scale == 2 else "2e-4")
        epochs = epochs or (2 if scale == 2 else 4)
        flags = (f"--datasets={_T91_BSD200}", "--batch_size=4", f"--learning_rate={learning_rate}",
                 "--lr_schedule=cosine", "--min_learning_rate=1e-5", f"--epochs={epochs}",
                 f"--steps_per_epoch={steps_per_epoch}")
        changes += "; " + _CPU_STAGE.format(what=f"batches of 4 (paper: 16), Adam {learning_rate}",
                                            paper="300k steps of 16 48x48 LR patches")
        if warmup_steps:  # eases the warm start's fresh Adam moments in
            flags += (f"--warmup_steps={warmup_steps}",)
            changes += f"; a {warmup_steps}-step linear warm-up"
        if warm_start == f"edsr-baseline_x{scale}":
            changes += _AGAIN
        elif scale > 2:  # the paper's own recipe: x3 and x4 start from the pre-trained x2 network
            warm_start = "edsr-baseline_x2"
            changes += _STAGE_TRANSFER.format(source=warm_start, what="all but the upsampler, as the paper does")
    return ZooModel(
        name=f"edsr-baseline_x{scale}", model="edsr", scale=scale, channels=3, preset="baseline", paper=paper,
        paper_source="Lim et al. CVPRW 2017, Table 3 (EDSR baseline, DIV2K-trained)", flags=flags, changes=changes,
        warm_start=warm_start,
    )


#: Every model of the pretrained zoo, by name (``<model>[-<preset>]_x<scale>``).
ZOO = {z.name: z for z in [
    # Step counts sized to finish within a 2-core CPU session (see each model's manifest entry)
    # x2's target: FSRCNN-s x2's numbers. x2 and x4 first started from the x3 features (x2 after 6k steps:
    # 35.26 dB, against 35.16 after 20k from scratch); their later cycles start from their shipped files, the
    # last ones on T91 alone (see _DATA; x2: 5k steps at 2e-4, then 15k at 3e-4; x4: 5k at 2e-4). x2's next,
    # on 48x48 LR patches (_ESPCN_PATCHES, tried first at x3; x2 ships no int8 weights to keep in step):
    # 25k steps at 3e-4, 13 min alone, Set5 36.32 -> 36.39 dB, best at its last step (36.38-36.39 over the
    # last quarter)
    _espcn_zoo(2, {"set5": 36.58, "set14": 32.28, "b100": None}, epochs=25, learning_rate="3e-4",
               warm_start="espcn_x2", datasets=_T91, lr_patch_size=48),
    # a fifth cycle from the shipped file, on T91 alone (see _DATA; the fourth: 5k steps at 2e-4 on T91; the first
    # three, on the 291 images: the lineage)
    _espcn_zoo(3, {"set5": 32.55, "set14": 29.08, "b100": None}, epochs=15, learning_rate="3e-4",
               warm_start="espcn_x3", datasets=_T91),
    _espcn_zoo(4, {"set5": 30.90, "set14": None, "b100": None}, epochs=5, learning_rate="2e-4",
               warm_start="espcn_x4", datasets=_T91),
    # x2 and x4 were fine-tuned from x3 (5k steps each); their next cycles start from their own files (x2:
    # 8k steps at 2e-4 on 33x33, then 3k on 66x66; x4: 6k at 2e-4 on 32x32, then 3k on 64x64), then one cycle
    # in bfloat16 like x3's fifth (40k steps at 3e-4; x2: 20m 59s, Set5 36.14 -> 36.53 dB, best at step 35k;
    # x4: 20m 33s, 30.08 -> 30.31, best at step 38k)
    _srcnn_zoo(2, {"set5": 36.66, "set14": 32.45, "b100": 31.36}, epochs=40, learning_rate="3e-4",
               warm_start="srcnn-9-5-5_x2", patch_size=66),
    # a fifth cosine cycle from the shipped file, the first in bfloat16 (precision auto: 32 ms a step, 21m 29s):
    # 40k steps at 3e-4 on 66x66 patches took Set5 from 32.26 to 32.60 dB, still rising over its last quarter
    # (32.56 -> 32.60); the four float32 cycles before it had 31k steps in all (12k from He init at 3e-4, 8k at
    # 2e-4 and 8k at 1.5e-4 on 33x33, then 3k at 1.5e-4 on 66x66)
    _srcnn_zoo(3, {"set5": 32.75, "set14": 29.28, "b100": 28.41}, epochs=40, learning_rate="3e-4",
               warm_start="srcnn-9-5-5_x3", patch_size=66),
    _srcnn_zoo(4, {"set5": 30.49, "set14": 27.50, "b100": 26.90}, epochs=40, learning_rate="3e-4",
               warm_start="srcnn-9-5-5_x4", patch_size=64),
    # x3 first, then x2 and x4 fine-tuned from it (15k steps on the 291 images), then each scale's own cycle on
    # T91 alone (see _DATA). x3's third (45k steps, the first on 16x16 LR patches, see _FSRCNN_PATCHES) and
    # fourth (40k) cycles were on the 291 images, its fifth (4k at 2e-4) and sixth (15k at 3e-4) on T91
    # fsrcnn_x2: two cycles on T91 (4k steps at 2e-4, then 15k at 3e-4)
    _fsrcnn_zoo("fsrcnn", 2, {"set5": 37.00, "set14": 32.63, "b100": 31.53}, epochs=15, learning_rate="3e-4",
                warm_start="fsrcnn_x2", datasets=_T91),
    _fsrcnn_zoo("fsrcnn", 3, {"set5": 33.06, "set14": 29.37, "b100": None}, epochs=15, learning_rate="3e-4",
                warm_start="fsrcnn_x3", datasets=_T91),
    _fsrcnn_zoo("fsrcnn", 4, {"set5": 30.72, "set14": 27.61, "b100": 26.98}, epochs=4, learning_rate="2e-4",
                warm_start="fsrcnn_x4", datasets=_T91),
    # fsrcnn-s_x2: two cycles on T91 (4k steps at 2e-4, then 15k at 3e-4)
    _fsrcnn_zoo("fsrcnn-s", 2, {"set5": 36.58, "set14": 32.28, "b100": None}, epochs=15, learning_rate="3e-4",
                warm_start="fsrcnn-s_x2", datasets=_T91),
    # a sixth cycle from the shipped file, on T91 alone (the fifth: 4k steps at 2e-4 on T91; the fourth: 60k at
    # 5e-4 on the 291 images; the third: 45k at 1e-3 on 16x16 patches)
    _fsrcnn_zoo("fsrcnn-s", 3, {"set5": 32.61, "set14": 29.13, "b100": None}, epochs=15, learning_rate="3e-4",
                warm_start="fsrcnn-s_x3", datasets=_T91),
    # Not shipped: 30k more steps at 3e-4 from the shipped fsrcnn-s_x4 (float32, 10 ms a step alone, 5 min) took
    # Set5 only from 29.93 to 29.95 dB; fsrcnn_x4 from 30.23 to 30.24 in 10k of 40k planned (16 ms), stopped there.
    _fsrcnn_zoo("fsrcnn-s", 4, {"set5": 30.11, "set14": 27.19, "b100": None}, epochs=4, learning_rate="2e-4",
                warm_start="fsrcnn-s_x4", datasets=_T91),
    # a second bfloat16 stage from the shipped file at 1e-4 (the first: 10k steps at 2e-4, Set5 37.09 -> 37.26;
    # before it, seven float32 CPU-stage cycles on 64x64 patches in batches of 16: 2k steps at 5e-4 from
    # scratch, then 1.2k, 2.4k, 3.2k, 2.4k, 2.4k and 2.4k at 3e-4)
    _lapsrn_zoo(2, {"set5": 37.52, "set14": 32.99, "b100": 31.80}, bfloat16_stage=True, epochs=10,
                learning_rate="1e-4", warm_start="lapsrn_x2"),
    # the first bfloat16 stage from the shipped file (before it, six float32 CPU-stage cycles on 128x128 patches in
    # batches of 4: 3k steps from lapsrn_x2 at 2e-4, then 1.5k, 2.25k, 2.25k, 2.25k and 2.25k at 2e-4). Restarts
    # from its file (31.228 dB) dipped and ended below or level with it: batch 16, 5k steps at 1e-4 (31.232) and 4k
    # at 3e-5 (31.214); the paper's batch of 64, 2.5k steps at 1e-4 with a 300-step warm-up (1.1 s a step, 47 min;
    # Set5 per 500 steps 31.203 31.143 31.180 31.211 31.224)
    _lapsrn_zoo(4, {"set5": 31.54, "set14": 28.19, "b100": 27.32}, bfloat16_stage=True, epochs=10,
                warm_start="lapsrn_x4"),
    # transferred again from the shipped lapsrn_x4 after its sixth cycle (earlier x8 files grew from x4's first
    # and fifth files); cycles from the x8 file itself (1.5k steps at 2e-4, 2k at 1e-4) dipped and ended below it
    _lapsrn_zoo(8, {"set5": 26.14, "set14": 24.44, "b100": 24.54}, cpu_stage=True, steps_per_epoch=625),
    # the first bfloat16 stage from the shipped file: the paper's batch and patch (before it, seven float32
    # CPU-stage cycles at batch 4: 2k steps at 5e-4, 2.1k at 3e-4, then 1.5k each at 2e-4; see the lineage)
    _edsr_zoo(2, {"set5": 37.99, "set14": 33.57, "b100": 32.16}, bfloat16_stage=True, epochs=12,
              warm_start="edsr-baseline_x2"),
    # the first bfloat16 stage from the shipped file (before it, eight float32 CPU-stage cycles at batch 4: 2.5k
    # steps from edsr-baseline_x2 at 2e-4, then 1.5k each from the shipped file at 2e-4; see the lineage)
    _edsr_zoo(3, {"set5": 34.37, "set14": 30.28, "b100": 29.09}, bfloat16_stage=True, epochs=10,
              warm_start="edsr-baseline_x3"),
    # the first bfloat16 stage from the shipped file (before it, eight float32 CPU-stage cycles at batch 4: 2k
    # steps from edsr-baseline_x2 at 2e-4, then 1.5k each from the shipped file at 2e-4; see the lineage)
    _edsr_zoo(4, {"set5": 32.09, "set14": 28.58, "b100": 27.57}, bfloat16_stage=True, epochs=8,
              warm_start="edsr-baseline_x4"),
    ZooModel(
        name="edsr-tiny_x2", model="edsr", scale=2, channels=3, preset="tiny",
        paper={"set5": 34.26, "set14": None, "b100": None},
        paper_source="the tiny-EDSR phone study (4 filters, 963 parameters, +0.6 dB over bicubic on CINIC-10); "
                     "target: bicubic + 0.6 dB on Set5",
        flags=("--model_options=filters=4", f"--datasets={_T91_BSD200}", "--batch_size=32", "--optimizer=adam",
               "--learning_rate=2e-3", "--lr_schedule=cosine", "--min_learning_rate=1e-5", "--epochs=30",
               "--steps_per_epoch=1000"),
        changes="the 291 images instead of CINIC-10 (32x32 images are smaller than the 96x96 HR patches); "
                "Adam 2e-3 with a cosine decay and batch 32 instead of the baseline's 1e-4 and 16 (963 parameters "
                "train faster with a larger step)",
    ),
]}


def zoo(name):
    """The :class:`ZooModel` called ``name``; a ``ValueError`` lists the zoo."""
    if name not in ZOO:
        raise ValueError(f"no zoo model {name!r}; the zoo: {', '.join(ZOO)}")
    return ZOO[name]


#: The light models that get quantization-aware int8 weights (``<name>.int8.keras``), with the fine-tune's epochs
#: of 1,000 steps and Adam learning rate (cosine decay to 1e-6). ESPCN x3 (its int8 file, Set5 drop against the
#: float model): 3k steps at 1e-4 with learnt ranges everywhere 1.07 dB; 6k at 3e-4 0.78; tanh inputs fixed to
#: +-1 0.31 (and 0.12 more lost to the converter's calibration of the colour steps, now left in float); 15k
#: 0.14 (+-0.75: 0.19, +-1.5: 0.24); 40k 0.081, the first to ship (publish_int8 takes 0.1 dB at most).
#: Where the rest fall short (simulated on Set5, runs/*.int8 of 40k steps): the 8-bit activations, not the
#: weights. fsrcnn-s_x3's quantization-aware copy scores 31.87 dB (float model 32.23); with its activations
#: left in float, the same int8 weights score 32.20, and each of its 8 activation quantizers alone costs
#: 0.02-0.10 dB (the widest range, the first convolution's [-4.3, 2.1], the most): no single layer to keep
#: in float. espcn_x2 likewise: 36.11 quantized, 36.27 with float activations (float model 36.32).
#: TFLite's 16x8 mode (int8 weights, int16 activations; PTQ, Y in and out) is no way out: its drops are
#: 0.17 / 0.09 / 0.15 dB (espcn_x2, fsrcnn-s_x3, fsrcnn_x2) but it runs 5-50x slower than int8 (no XNNPACK
#: kernels; 2108 against 40 ms for espcn_x2 at 640x360 on one thread), and PRELU has no 16x8 kernel.
INT8 = {
    **{f"espcn_x{s}": (40, "3e-4") for s in (2, 3, 4)},
    **{f"{p}_x{s}": (8, "3e-4") for p in ("fsrcnn", "fsrcnn-s") for s in (2, 3, 4)},
    "edsr-tiny_x2": (3, "2e-4"),
}

# What the quantization-aware fine-tune sets itself; the zoo recipe's other flags (data, patches, batch) stay.
_INT8_OWN_FLAGS = ("learning_rate", "min_learning_rate", "lr_schedule", "epochs", "steps_per_epoch", "warmup_steps",
                   "precision")


def int8_command(name, output_dir=None):
    """The ``train.py`` command of ``name``'s int8 weights: the zoo recipe's data, patches and batch,
    fine-tuned from the shipped float file with TFLite's int8 arithmetic simulated (``--quantization_aware``,
    float32: the fake quantization is float32 arithmetic)."""
    if name not in INT8:
        raise ValueError(f"no int8 recipe for {name!r}; int8 weights are trained for: {', '.join(INT8)}")
    zoo_model, (epochs, learning_rate) = zoo(name), INT8[name]
    flags = [f for f in zoo_model.flags if f.split("=", 1)[0].lstrip("-") not in _INT8_OWN_FLAGS]
    flags += ["--quantization_aware", "--precision=float32", f"--learning_rate={learning_rate}",
              "--lr_schedule=cosine", "--min_learning_rate=1e-6", f"--epochs={epochs}", "--steps_per_epoch=1000"]
    parts = ["python train.py", f"--model={zoo_model.model}", f"--scale={zoo_model.scale}"]
    parts += [f"--preset={zoo_model.preset}"] if zoo_model.preset else []
    parts += flags + [f"--output_dir={output_dir or 'runs/' + name + '.int8'}", f"--warm_start={name}"]
    return " ".join(parts)

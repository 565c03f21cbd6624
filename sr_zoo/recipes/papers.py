"""Each paper's training recipe, written down with its source.

``train.py --model=NAME --scale=S`` starts from ``get(NAME, S)``; every field
can be overridden by a flag. Where a paper is silent, the choice is marked
"not in the paper" with the value we use.

>>> recipe = sr_zoo.recipes.get("espcn", scale=3)
>>> recipe.lr_patch_size, recipe.loss, recipe.learning_rate
(17, 'mse', 0.01)
"""

import dataclasses


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
    # Before a quantization-aware fine-tune from a warm start: scale each channel between two convolutions joined
    # by PReLU/ReLU so that all reach the same range on the first training batches (sr_zoo.models.equalization):
    # the same float model, and every channel keeps all 256 levels of its per-tensor int8 scale. Not in any paper.
    equalize_channels: bool = False
    # In a quantization-aware fine-tune, after this fraction of its steps: shrink each learnt int8 range to what
    # gives the lowest output error on training batches, then freeze the ranges, so that the remaining steps teach
    # the weights those grids (sr_zoo.models.range_tuning). Not in any paper.
    freeze_ranges: float = None
    # In a quantization-aware fine-tune: write each PReLU between two convolutions as two ReLU halves
    # (sr_zoo.models.activation_split), the same float function with one int8 rounding per layer instead of two, at
    # twice the work in the convolutions around it. A warm start from the PReLU model is split the same way.
    # Not in any paper.
    split_prelu: bool = False
    # Likewise for tanh between two convolutions: two clipped linear pieces fused into the convolution
    # (hard_tanh), read by the next one with folded weights. Close to tanh, not tanh: the split network trains in
    # float first (allowed without quantization_aware), then quantization-aware. Not in any paper.
    split_tanh: bool = False

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

"""Optimizers of the paper recipes: :class:`LayerwiseSGD` (Caffe's ``lr_mult``) and Adam, with their learning-rate schedules."""

import keras

from sr_zoo import models


def _layer_of(variable):
    """Layer name of a variable: the path component before the variable's own name."""
    parts = variable.path.split("/")
    return parts[-2] if len(parts) >= 2 else ""

@keras.saving.register_keras_serializable(package="sr_zoo")
class LayerwiseSGD(keras.optimizers.SGD):
    """SGD whose learning rate is multiplied per layer (e.g. 0.1 for SRCNN's last layer).

    For SGD, with or without momentum, scaling a layer's gradients is exactly
    scaling its learning rate, which is what the papers' Caffe solvers did
    with ``lr_mult``.

    >>> opt = LayerwiseSGD(learning_rate=1e-3, momentum=0.9, lr_multipliers={"reconstruction": 0.1})
    """

    def __init__(self, lr_multipliers=None, **kwargs):
        super().__init__(**kwargs)
        self.lr_multipliers = {str(k): float(v) for k, v in (lr_multipliers or {}).items()}

    def apply(self, grads, trainable_variables=None):
        variables = trainable_variables if trainable_variables is not None else self._trainable_variables
        if self.lr_multipliers:
            grads = [
                g if g is None else g * self.lr_multipliers.get(_layer_of(v), 1.0)
                for g, v in zip(grads, variables)
            ]
        return super().apply(grads, trainable_variables)

    def get_config(self):
        config = super().get_config()
        config["lr_multipliers"] = dict(self.lr_multipliers)
        return config

def make_optimizer(recipe, model):
    """The recipe's optimizer with its learning-rate schedule."""
    lr = recipe.learning_rate
    warmup = recipe.warmup_steps or 0
    if warmup and recipe.lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"warmup_steps needs lr_schedule 'constant' or 'cosine', got {recipe.lr_schedule!r}")
    if recipe.lr_schedule == "step":
        if not recipe.lr_decay_steps:
            raise ValueError("lr_schedule='step' needs lr_decay_steps")
        lr = keras.optimizers.schedules.ExponentialDecay(
            recipe.learning_rate, recipe.lr_decay_steps, recipe.lr_decay_factor, staircase=True
        )
    elif recipe.lr_schedule == "cosine":  # to min_learning_rate over the whole run
        total = recipe.epochs * recipe.steps_per_epoch
        alpha = recipe.min_learning_rate / recipe.learning_rate
        if warmup:  # CosineDecay's decay_steps count from the end of the warm-up
            lr = keras.optimizers.schedules.CosineDecay(
                0.0, total - warmup, alpha=alpha, warmup_target=recipe.learning_rate, warmup_steps=warmup
            )
        else:
            lr = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, total, alpha=alpha)
    elif recipe.lr_schedule == "constant" and warmup:  # a cosine "decay" with alpha=1 is constant
        lr = keras.optimizers.schedules.CosineDecay(
            0.0, 1, alpha=1.0, warmup_target=recipe.learning_rate, warmup_steps=warmup
        )
    elif recipe.lr_schedule not in ("constant", "plateau"):
        raise ValueError(f"unknown lr_schedule {recipe.lr_schedule!r}; expected constant, step, cosine or plateau")
    weight_decay = recipe.weight_decay or None
    multipliers = {}
    if recipe.reconstruction_lr_multiplier != 1.0:
        layers = models.reconstruction_layers(model)
        if not layers:
            raise ValueError(f"{recipe.model} has no reconstruction layer for reconstruction_lr_multiplier")
        multipliers = {layer.name: recipe.reconstruction_lr_multiplier for layer in layers}
    if recipe.optimizer == "sgd":
        return LayerwiseSGD(
            learning_rate=lr, momentum=recipe.momentum, weight_decay=weight_decay, lr_multipliers=multipliers
        )
    if recipe.optimizer == "adam":
        if multipliers:
            raise ValueError(
                "a reconstruction learning-rate multiplier needs optimizer='sgd' "
                "(Adam normalises gradient scale, so the papers' lr_mult has no Adam equivalent here)"
            )
        return keras.optimizers.Adam(learning_rate=lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; expected sgd or adam")

def current_learning_rate(optimizer):
    lr = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(lr))

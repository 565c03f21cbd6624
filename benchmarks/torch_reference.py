"""PyTorch reference: the training step of ESPCN, FSRCNN, LapSRN and EDSR, for speed comparisons.

The same layer shapes as ``sr_zoo.models`` (idiomatic PyTorch: NCHW, ``nn.ConvTranspose2d``
for FSRCNN's and LapSRN's deconvolutions where sr_zoo computes the same transposed convolution
as a sub-pixel convolution, ``nn.PixelShuffle``), the recipe's loss and optimizer (SGD with
momentum and the reconstruction layer's learning-rate multiplier as a parameter group, or
Adam) and batch, timed on a fixed random batch: the step alone, with no data pipeline, in
float32 and under ``torch.autocast("cpu", dtype=torch.bfloat16)`` (the loss in float32, as
Keras' mixed policy computes it). Threads are pinned: one intra-op thread per usable core
(``os.sched_getaffinity``), one inter-op thread. ``benchmarks/bench_training.py`` runs it in a
subprocess (``--torch_python``: any interpreter with torch and numpy; this file imports
nothing else) and prints its rates beside the Keras numbers.

    python benchmarks/torch_reference.py --model=espcn --scale=3 --batch_size=64 --lr_patch=17 --optimizer=adam
    python benchmarks/torch_reference.py --model=edsr --scale=2 --batch_size=16 --lr_patch=48 --channels=3 --optimizer=adam --loss=l1
    python benchmarks/torch_reference.py --model=espcn ... --precisions=float32 --channels_last   # NHWC, as TF
    python benchmarks/torch_reference.py --model=espcn ... --activation=relu                       # ESPCN without tanh

Prints the torch build on one line, then one JSON line: ``{"model": ..., "build": {...},
"threads": ..., "results": {"float32": {"patches_per_s": ..., "steps": ...}, "bfloat16": {...}}}``
(a precision that fails has ``{"error": ...}`` instead).
"""

import argparse
import json
import math
import os
import sys
import time

try:
    import torch
    from torch import nn
except ImportError:
    sys.exit(f"torch_reference.py: PyTorch is not installed in {sys.executable}; run it with a Python that has "
             f"torch and numpy (bench_training.py --torch_python=...), or pip install -e '.[bench]'")


class ESPCN(nn.Module):
    def __init__(self, scale, channels, activation="tanh"):
        super().__init__()
        act = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}[activation]
        self.body = nn.Sequential(nn.Conv2d(channels, 64, 5, padding=2), act(), nn.Conv2d(64, 32, 3, padding=1), act())
        self.reconstruction = nn.Conv2d(32, scale * scale * channels, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x):
        return self.shuffle(self.reconstruction(self.body(x)))


def _transposed(cin, cout, k, s, bias=True):
    """Stride-``s`` transposed convolution whose output is exactly ``s`` times its input (TF 'same')."""
    pad = (k - s) // 2
    return nn.ConvTranspose2d(cin, cout, k, stride=s, padding=pad, output_padding=k - s - 2 * pad, bias=bias)


class FSRCNN(nn.Module):
    def __init__(self, scale, channels, d=56, s=12, m=4):
        super().__init__()
        layers = [nn.Conv2d(channels, d, 5, padding=2), nn.PReLU(d), nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        self.reconstruction = _transposed(d, channels, 9, scale)

    def forward(self, x):
        return self.reconstruction(self.body(x))


class LapSRN(nn.Module):
    def __init__(self, scale, channels, depth=10, filters=64, slope=0.2):
        super().__init__()
        self.levels = int(round(math.log2(scale)))
        self.input_conv = nn.Sequential(nn.Conv2d(channels, filters, 3, padding=1), nn.LeakyReLU(slope))
        self.features, self.feature_up, self.residual, self.image_up = (nn.ModuleList() for _ in range(4))
        for _ in range(self.levels):
            convs = []
            for _ in range(depth):
                convs += [nn.Conv2d(filters, filters, 3, padding=1), nn.LeakyReLU(slope)]
            self.features.append(nn.Sequential(*convs))
            self.feature_up.append(nn.Sequential(_transposed(filters, filters, 4, 2), nn.LeakyReLU(slope)))
            self.residual.append(nn.Conv2d(filters, channels, 3, padding=1))
            self.image_up.append(_transposed(channels, channels, 4, 2, bias=False))

    def forward(self, x):
        f, image, outs = self.input_conv(x), x, []
        for i in range(self.levels):
            f = self.feature_up[i](self.features[i](f))
            image = self.image_up[i](image) + self.residual[i](f)
            outs.append(image)
        return outs


DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)  # sr_zoo.models.edsr
DIV2K_Y_MEAN = (16.0 + 65.481 * 0.4488 + 128.553 * 0.4371 + 24.966 * 0.4040) / 255.0


class EDSR(nn.Module):
    def __init__(self, scale, channels, num_blocks=16, filters=64):
        super().__init__()
        mean = DIV2K_RGB_MEAN if channels == 3 else (DIV2K_Y_MEAN,) * channels  # sr_zoo's MeanShift values
        self.register_buffer("mean", torch.tensor(mean).reshape(1, channels, 1, 1))
        self.head = nn.Conv2d(channels, filters, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(filters, filters, 3, padding=1), nn.ReLU(), nn.Conv2d(filters, filters, 3, padding=1))
            for _ in range(num_blocks))
        self.body_conv = nn.Conv2d(filters, filters, 3, padding=1)
        stages = [3] if scale == 3 else [2] * (scale.bit_length() - 1)
        up = []
        for r in stages:
            up += [nn.Conv2d(filters, r * r * filters, 3, padding=1), nn.PixelShuffle(r)]
        self.upsample = nn.Sequential(*up)
        self.reconstruction = nn.Conv2d(filters, channels, 3, padding=1)

    def forward(self, x):
        head = self.head(x - self.mean)
        f = head
        for block in self.blocks:
            f = f + block(f)
        f = head + self.body_conv(f)
        return self.reconstruction(self.upsample(f)) + self.mean


MODELS = {"espcn": ESPCN, "fsrcnn": FSRCNN, "lapsrn": LapSRN, "edsr": EDSR}


def charbonnier(pred, target, eps=1e-3):
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


LOSSES = {"mse": nn.functional.mse_loss, "l1": nn.functional.l1_loss, "charbonnier": charbonnier}


def make_optimizer(model, name, lr, momentum, weight_decay, reconstruction_lr_multiplier):
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    recon = getattr(model, "reconstruction", None)
    recon_ids = {id(p) for p in recon.parameters()} if recon is not None and reconstruction_lr_multiplier != 1 else set()
    groups = [{"params": [p for p in model.parameters() if id(p) not in recon_ids]}]
    if recon_ids:
        groups.append({"params": list(recon.parameters()), "lr": lr * reconstruction_lr_multiplier})
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)


def build_info(threads):
    """What this torch is and how it runs here: version, CPU or CUDA build, oneDNN, SIMD level, threads."""
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "?")()
    return {"torch": torch.__version__, "cuda": torch.version.cuda, "cpu_build": torch.version.cuda is None,
            "mkldnn": torch.backends.mkldnn.is_available(), "cpu_capability": capability,
            "threads": threads, "interop_threads": torch.get_num_interop_threads(),
            "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}


def pin_threads(threads):
    """One intra-op thread per usable core (or ``threads``), one inter-op thread where torch still allows it."""
    n = threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only before any inter-op work has started
        pass
    return n


def measure(args, precision):
    torch.manual_seed(0)
    options = {"activation": args.activation} if args.model == "espcn" else {}
    model = MODELS[args.model](args.scale, args.channels, **options)
    b, c, p, s = args.batch_size, args.channels, args.lr_patch, args.scale
    x = torch.rand(b, c, p, p)
    if args.model == "lapsrn":
        levels = int(round(math.log2(s)))
        targets = [torch.rand(b, c, p * 2 ** (i + 1), p * 2 ** (i + 1)) for i in range(levels)]
    else:
        targets = [torch.rand(b, c, p * s, p * s)]
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        targets = [t.contiguous(memory_format=torch.channels_last) for t in targets]
    opt = make_optimizer(model, args.optimizer, args.learning_rate, 0.9, args.weight_decay,
                         args.reconstruction_lr_multiplier)
    loss_fn = LOSSES[args.loss]
    autocast = precision == "bfloat16"

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = model(x)
        outs = out if isinstance(out, list) else [out]
        loss = sum(loss_fn(o.float(), t) for o, t in zip(outs, targets))  # the loss in float32, as Keras'
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    steps, start = 0, time.perf_counter()
    while steps < args.min_steps or time.perf_counter() - start < args.seconds:
        step()
        steps += 1
    return {"patches_per_s": steps * b / (time.perf_counter() - start), "steps": steps}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=sorted(MODELS))
    p.add_argument("--scale", type=int, required=True)
    p.add_argument("--batch_size", type=int, required=True)
    p.add_argument("--lr_patch", type=int, required=True, help="LR patch side")
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--loss", default="mse", choices=sorted(LOSSES))
    p.add_argument("--optimizer", default="sgd", choices=("sgd", "adam"))
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument("--weight_decay", type=float, default=0.0)
    p.add_argument("--reconstruction_lr_multiplier", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=4.0, help="timed seconds (after warm-up)")
    p.add_argument("--min_steps", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (default: one per usable core)")
    p.add_argument("--precisions", default="float32,bfloat16", help="float32 and/or bfloat16 (autocast)")
    p.add_argument("--channels_last", action="store_true", help="NHWC memory format (TensorFlow's layout)")
    p.add_argument("--activation", default="tanh", choices=("tanh", "relu", "gelu"), help="ESPCN's activation")
    args = p.parse_args()
    if args.model == "lapsrn" and args.scale not in (2, 4, 8):
        p.error("--scale: LapSRN takes 2, 4 or 8")
    precisions = [q for q in args.precisions.split(",") if q]
    if not precisions or set(precisions) - {"float32", "bfloat16"}:
        p.error("--precisions: float32 and/or bfloat16")
    threads = pin_threads(args.threads)
    info = build_info(threads)
    print(f"torch {info['torch']} ({'CPU build' if info['cpu_build'] else 'CUDA ' + str(info['cuda'])}, "
          f"oneDNN {'yes' if info['mkldnn'] else 'no'}, {info['cpu_capability']}), {threads} threads, "
          f"{info['interop_threads']} inter-op, {info['usable_cores']} usable cores", flush=True)
    results = {}
    for precision in precisions:
        try:
            results[precision] = measure(args, precision)
        except Exception as e:  # noqa: BLE001 - e.g. no bfloat16 kernel for an op on this CPU: reported, not fatal
            results[precision] = {"error": f"{type(e).__name__}: {e}".splitlines()[0]}
    print(json.dumps({"model": args.model, "scale": args.scale, "batch_size": args.batch_size, "build": info,
                      "threads": threads, "channels_last": args.channels_last, "activation": args.activation,
                      "results": results}))


if __name__ == "__main__":
    main()

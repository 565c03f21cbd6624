"""Regenerates every builder's ``dummy_data/``: tiny synthetic images in each source's real layout.

Nothing here comes from a real data set. Run from the project root:

    python tfds_builders/make_dummy_data.py

The LR images are made with ``sr_zoo.imresize`` (SelfExSR layouts with the
``'replicate'`` border, as the real SelfExSR files were), so the builders'
consistency checks see exactly what they would see on real data.
"""

import pathlib
import shutil

import numpy as np
from PIL import Image

import sr_zoo
from sr_zoo.data import io as sr_io
from sr_zoo.data import kernels

HERE = pathlib.Path(__file__).resolve().parent
CINIC_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _rng(tag):
    return np.random.default_rng([ord(ch) for ch in tag])  # deterministic across runs


def smooth_image(tag, h, w, channels=3):
    """A smooth random colour image (so JPEG/PNG are small and resizing is meaningful)."""
    rng = _rng(tag)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for _ in range(channels):
        a, b, c, d = rng.uniform(0.05, 0.4, 4)
        planes.append(127.5 + 60 * np.sin(a * yy + b * xx) + 60 * np.cos(c * xx - d * yy))
    img = np.clip(np.stack(planes, -1) + rng.normal(0, 4, (h, w, channels)), 0, 255)
    img = np.floor(img + 0.5).astype(np.uint8)
    return img[:, :, 0] if channels == 1 else img


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def save_truncated_png(path, array):
    save(path, array)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def fresh(name):
    d = HERE / name / "dummy_data"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def t91():
    d = fresh("t91") / "T91"
    save(d / "t1.bmp", smooth_image("t1", 40, 36))
    save(d / "t2.png", smooth_image("t2", 33, 30, channels=1))  # grayscale -> RGB
    rgba = np.concatenate([smooth_image("t3", 30, 40), np.full((30, 40, 1), 200, np.uint8)], -1)
    save(d / "t3.png", rgba)  # RGBA -> RGB
    save_truncated_png(d / "t4.png", smooth_image("t4", 64, 64))  # corrupt: skipped with a warning


def bsd200():
    d = fresh("bsd200") / "BSD200"
    save(d / "100075.png", smooth_image("100075", 32, 48))
    save(d / "100080.png", smooth_image("100080", 48, 32))


def _selfexsr(set_dir, names_and_images, scales, urban=False):
    for i, (_, hr) in enumerate(names_and_images, start=1):
        for s in scales:
            folder = set_dir / f"image_SRF_{s}"
            if urban and s == 2:
                # SelfExSR's Urban100 quirk: image_SRF_2 "HR" is the x2 LR, and its "LR" the x4 LR.
                x4 = sr_zoo.imresize(sr_io.modcrop(hr, 4), 1 / 4, boundary="replicate")
                x2 = sr_zoo.imresize(hr, 1 / 2, boundary="replicate")
                save(folder / f"img_{i:03d}_SRF_2_HR.png", x2)
                save(folder / f"img_{i:03d}_SRF_2_LR.png", x4)
                continue
            mod = sr_io.modcrop(hr, s)
            save(folder / f"img_{i:03d}_SRF_{s}_HR.png", mod)
            save(folder / f"img_{i:03d}_SRF_{s}_LR.png", sr_zoo.imresize(mod, 1 / s, boundary="replicate"))


def sr_benchmarks():
    d = fresh("sr_benchmarks")
    set5 = [("baby", smooth_image("baby", 26, 25)), ("bird", smooth_image("bird", 24, 24))]
    for name, img in set5:
        save(d / "Set5" / "original" / f"{name}.png", img)
    _selfexsr(d / "Set5" / "SelfExSR", set5, (2, 3, 4))
    # Set14: SelfExSR only, one grayscale image (like Set14's bridge).
    set14 = [("baboon", smooth_image("baboon", 25, 27)), ("barbara", smooth_image("barbara", 24, 26, channels=1))]
    _selfexsr(d / "Set14" / "SelfExSR", set14, (2, 3, 4))
    # B100 under its other common name, image_SRF_* directly in the set folder.
    # Odd sizes like BSDS's 481x321: x3's HR (21x30) is the one the other scales' HR are modcrops of.
    b100 = [("a", smooth_image("b100a", 21, 31)), ("b", smooth_image("b100b", 31, 21))]
    _selfexsr(d / "BSD100", b100, (2, 3, 4))
    urban = [("u1", smooth_image("u1", 34, 40)), ("u2", smooth_image("u2", 40, 36))]
    _selfexsr(d / "Urban100" / "SelfExSR", urban, (2, 4), urban=True)


def div2k():
    d = fresh("div2k")
    splits = {"train": ["0001", "0002"], "valid": ["0801"]}
    for split, ids in splits.items():
        for i in ids:
            hr = smooth_image(f"div2k{i}", 48, 40)
            save(d / f"DIV2K_{split}_HR" / f"{i}.png", hr)
            for s in (2, 3, 4):
                save(d / f"DIV2K_{split}_LR_bicubic" / f"X{s}" / f"{i}x{s}.png", sr_zoo.imresize(hr, 1 / s))
                save(d / f"DIV2K_{split}_LR_unknown" / f"X{s}" / f"{i}x{s}.png",
                     sr_zoo.imresize(sr_zoo.imresize(hr, 1 / s), output_shape=(48 // s, 40 // s), method="box"))
            save(d / f"DIV2K_{split}_LR_x8" / f"{i}x8.png", sr_zoo.imresize(hr, 1 / 8))


def div2krk():
    from scipy.io import savemat

    d = fresh("div2krk")
    rk = d / "DIV2KRK"
    for i in (1, 2):
        hr = smooth_image(f"rk{i}", 44, 48)
        save(rk / "gt" / f"img_{i}_gt.png", hr)
        out = kernels.degrade_div2krk(hr, np.random.default_rng(i))
        save(rk / "lr_x2" / f"im_{i}.png", out["lr_x2"])
        save(rk / "lr_x4" / f"im_{i}.png", out["lr_x4"])
        (rk / "gt_k_x2").mkdir(exist_ok=True)
        (rk / "gt_k_x4").mkdir(exist_ok=True)
        savemat(rk / "gt_k_x2" / f"kernel_{i}.mat", {"Kernel": out["kernel_x2"]})
        savemat(rk / "gt_k_x4" / f"kernel_{i}.mat", {"Kernel": out["kernel_x4"]})
    for name in ("101085", "101087"):
        save(d / "B100" / "original" / f"{name}.png", smooth_image(name, 36, 44))


def cinic10():
    d = fresh("cinic10") / "CINIC-10"
    counts = {"train": 3, "valid": 3, "test": 1}
    for split, n in counts.items():
        for c, cls in enumerate(CINIC_CLASSES):
            for k in range(n):
                name = f"cifar10-{split}-{c * 10 + k}.png" if k % 2 == 0 else f"n0{c}00{k}_{split}.png"
                save(d / split / cls / name, smooth_image(f"{split}{cls}{k}", 32, 32))


def sample_images():
    d = fresh("sample_images")
    save(d / "astronaut.png", smooth_image("astronaut", 40, 40))
    save(d / "coffee.png", smooth_image("coffee", 30, 40))
    Image.fromarray(smooth_image("rocket", 42, 28)).save(d / "rocket.jpg", quality=95)
    save(d / "camera.png", smooth_image("camera", 32, 32, channels=1))


if __name__ == "__main__":
    for fn in (t91, bsd200, sr_benchmarks, div2k, div2krk, cinic10, sample_images):
        fn()
        print("made", fn.__name__)

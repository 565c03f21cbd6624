"""Reading SR image folders robustly (used by the TFDS builders and by ``sr_zoo.data``).

Everything here is plain Python/numpy/PIL, so the TFDS builders under
``tfds_builders/`` can share it. Images always come back as ``uint8`` RGB
``HxWx3`` arrays: grayscale is replicated to three channels, alpha is dropped,
16-bit images are reduced to 8 bits. A file that cannot be decoded (corrupt,
truncated, not an image) is reported with a warning naming it and skipped,
never raised mid-build.
"""

import logging
import pathlib
import re

import numpy as np

logger = logging.getLogger("sr_zoo.data")

IMAGE_EXTENSIONS = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".ppm", ".pgm", ".webp")

#: SelfExSR numbers images ``img_001 ...``; Set5 and Set14 have well-known names.
SELFEXSR_NAMES = {
    "set5": ("baby", "bird", "butterfly", "head", "woman"),
    "set14": (
        "baboon", "barbara", "bridge", "coastguard", "comic", "face", "flowers",
        "foreman", "lenna", "man", "monarch", "pepper", "ppt3", "zebra",
    ),
}

_SELFEXSR_FILE = re.compile(r"^img_(\d+)_SRF_(\d+)_(HR|LR)\.(png|bmp)$", re.IGNORECASE)
_SELFEXSR_DIR = re.compile(r"^image_SRF_(\d+)$", re.IGNORECASE)


def warn(message):
    """Logs ``message`` on the ``sr_zoo.data`` logger, once (not also as a Python warning: users saw it twice)."""
    logger.warning(message)


def is_image_file(path):
    path = pathlib.Path(path)
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def list_images(folder, recursive=False):
    """Image files in ``folder`` (sorted by name), optionally recursing."""
    folder = pathlib.Path(folder)
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted((p for p in found if is_image_file(p)), key=lambda p: str(p.relative_to(folder)))


def to_rgb_uint8(array):
    """Any decoded image array (HxW, HxWx1/2/3/4, uint8/uint16/bool/float) to uint8 HxWx3."""
    a = np.asarray(array)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16 or (a.dtype == np.int32 and a.max(initial=0) > 255):
        a = (a.astype(np.uint32) >> 8).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        a = np.clip(np.floor(a * 255.0 + 0.5), 0, 255).astype(np.uint8)
    else:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"not an image array: shape {a.shape}")
    c = a.shape[2]
    if c == 1 or c == 2:  # gray, gray + alpha
        a = np.repeat(a[:, :, :1], 3, axis=2)
    elif c >= 4:  # RGBA (alpha dropped), or extra planes
        a = a[:, :, :3]
    return np.ascontiguousarray(a)


def read_rgb(path, *, what="image"):
    """Reads ``path`` fully into uint8 RGB ``HxWx3``; returns ``None`` with a warning on failure."""
    from PIL import Image, ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    path = pathlib.Path(path)
    try:
        with Image.open(path) as im:
            im.load()  # forces a full decode: truncated or corrupt data raise here
            if im.mode in ("RGB", "L", "RGBA", "LA", "I;16", "I;16B", "I;16L", "I", "1"):
                array = np.array(im)  # 16-bit modes are reduced by to_rgb_uint8
            else:  # palette, CMYK, YCbCr, ...
                array = np.array(im.convert("RGBA" if "transparency" in im.info else "RGB"))
        rgb = to_rgb_uint8(array)
        if rgb.shape[0] == 0 or rgb.shape[1] == 0:
            raise ValueError("empty image")
        return rgb
    except Exception as e:  # noqa: BLE001 -- any decoder failure means "skip this file"
        warn(f"sr_zoo.data: skipping unreadable {what} {path}: {type(e).__name__}: {e}")
        return None


def find_folder(root, names, max_depth=3):
    """The first folder under ``root`` (itself included) whose name is in ``names`` (case-insensitive).

    Breadth-first, so ``root/T91`` wins over ``root/x/y/T91``; ``None`` if absent.
    """
    root = pathlib.Path(root)
    wanted = {n.lower() for n in names}
    level = [root]
    for _ in range(max_depth + 1):
        nxt = []
        for folder in level:
            if not folder.is_dir():
                continue
            if folder.name.lower() in wanted:
                return folder
            try:
                nxt.extend(sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")))
            except OSError:
                continue
        level = nxt
    return None


def modcrop(image, scale):
    """MATLAB ``modcrop``: crops bottom/right so height and width are multiples of ``scale``."""
    h, w = image.shape[0] - image.shape[0] % scale, image.shape[1] - image.shape[1] % scale
    return image[:h, :w]


def selfexsr_files(set_dir):
    """Parses a SelfExSR folder ``<Set>/[SelfExSR/]image_SRF_<s>/img_NNN_SRF_<s>_{HR,LR}.png``.

    Returns ``{scale: {index: {'HR': path, 'LR': path}}}`` (``{}`` if none).
    """
    set_dir = pathlib.Path(set_dir)
    out = {}
    candidates = [set_dir, set_dir / "SelfExSR"]
    for base in candidates:
        if not base.is_dir():
            continue
        for sub in sorted(base.iterdir()):
            m = _SELFEXSR_DIR.match(sub.name)
            if not (m and sub.is_dir()):
                continue
            scale = int(m.group(1))
            for f in sorted(sub.iterdir()):
                fm = _SELFEXSR_FILE.match(f.name)
                if fm and int(fm.group(2)) == scale:
                    out.setdefault(scale, {}).setdefault(int(fm.group(1)), {})[fm.group(3).upper()] = f
        if out:
            return out
    return out


def original_folder(set_dir):
    """``<Set>/original`` (or ``<Set>/HR``, or ``<Set>`` itself if it holds plain images), else ``None``."""
    set_dir = pathlib.Path(set_dir)
    for name in ("original", "HR", "hr"):
        if (set_dir / name).is_dir() and list_images(set_dir / name):
            return set_dir / name
    if list_images(set_dir):
        return set_dir
    return None


def for_tfds(path, *, what="image"):
    """``(value, array)`` for a ``tfds.features.Image`` from ``path``, or ``(None, None)`` if unreadable.

    The file is decoded fully first (so corrupt files are skipped with a
    warning naming them). 8-bit RGB PNGs are stored byte for byte; anything
    else (BMP, grayscale, RGBA, 16-bit, JPEG, ...) is stored as the uint8 RGB
    array, which TFDS encodes losslessly as PNG.
    """
    from PIL import Image

    array = read_rgb(path, what=what)
    if array is None:
        return None, None
    path = pathlib.Path(path)
    with Image.open(path) as im:
        raw_ok = im.format == "PNG" and im.mode == "RGB"
    return (path.read_bytes() if raw_ok else array), array


#: Seconds to wait for a download host before saying it cannot be reached.
PROBE_TIMEOUT = 5.0


class DownloadUnavailableError(ConnectionError):
    """A builder needs a download whose host cannot be reached; the message names ``--manual_dir``."""


def check_reachable(urls, what="the data", timeout=PROBE_TIMEOUT):
    """Fails within ``timeout`` seconds if a host of ``urls`` cannot be reached (instead of TFDS's minutes of retries)."""
    import socket
    import urllib.parse

    flat = list(urls.values()) if isinstance(urls, dict) else [urls] if isinstance(urls, str) else list(urls)
    for url in flat:
        parsed = urllib.parse.urlsplit(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
        except OSError as e:
            raise DownloadUnavailableError(
                f"cannot download {what}: {parsed.hostname}:{port} is unreachable ({e.__class__.__name__}: {e}). "
                f"Offline, pass a local copy with --manual_dir=<folder> (see the builder's README)"
            ) from None


def manual_or_download(dl_manager, urls):
    """The manual dir when the user gave a non-empty one, else ``dl_manager.download_and_extract(urls)``.

    A download host that cannot be reached fails within seconds, naming ``--manual_dir``.
    """
    try:
        manual = dl_manager.manual_dir
        if manual is not None and pathlib.Path(manual).is_dir() and any(pathlib.Path(manual).iterdir()):
            return pathlib.Path(manual), True
    except AssertionError:  # TFDS: manual dir missing or empty
        pass
    check_reachable(urls)
    return dl_manager.download_and_extract(urls), False


def best_selfexsr_hr(stored):
    """The full-size HR to keep from SelfExSR's per-scale ``{scale: HR array}`` (modcrops of one original).

    Picks the array that most other scales' HR are modcrops of, then the largest: for
    B100's 481x321 originals that is x3's 480x321 (x2's and x4's 480x320 are its modcrops).
    """
    import numpy as np

    def score(im):
        fits = sum(o.shape == modcrop(im, s).shape and np.array_equal(o, modcrop(im, s)) for s, o in stored.items())
        return fits, im.shape[0] * im.shape[1]

    return max(stored.values(), key=score) if stored else None


def set_hr_images(set_dir, scales=(2, 3, 4)):
    """``[(name, path_or_None, uint8 RGB HR)]`` of a benchmark folder (``original/`` or SelfExSR layout)."""
    orig = original_folder(set_dir)
    sx = selfexsr_files(set_dir)
    if orig is not None and (orig != pathlib.Path(set_dir) or not sx):  # original/ wins over SelfExSR
        out = []
        for p in list_images(orig):
            im = read_rgb(p, what="HR image")
            if im is not None:
                out.append((p.stem, p, im))
        return out
    out = []
    for idx in sorted({i for per in sx.values() for i in per}):
        stored = {s: read_rgb(sx[s][idx]["HR"], what="HR image") for s in scales if "HR" in sx.get(s, {}).get(idx, {})}
        stored = {s: im for s, im in stored.items() if im is not None}
        if stored:
            out.append((f"img_{idx:03d}", None, best_selfexsr_hr(stored)))
    return out

"""Image sources of the tf.data pipelines: TFDS datasets built from ``tfds_builders/`` (and the ``tfds build``
command when one is not), folders of image files and ``tf.data.Dataset``\ s of images, read as uint8 RGB."""

import logging
import os
import pathlib
import re

import numpy as np
import tensorflow as tf

from sr_zoo.data import io as _io

logger = logging.getLogger("sr_zoo.data")

AUTOTUNE = tf.data.AUTOTUNE

_IMAGE_KEYS = ("hr", "image")
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")


class DatasetNotBuiltError(FileNotFoundError):
    """A TFDS dataset of ``tfds_builders/`` was asked for but is not built in ``data_dir``."""


def default_data_dir():
    """``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets`` (where ``tfds build`` writes by default)."""
    return pathlib.Path(os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets"))

def _parse_name(name):
    version = None
    if ":" in name:
        name, version = name.split(":", 1)
    parts = name.strip("/").split("/")
    if len(parts) > 2:
        raise ValueError(f"dataset name must be 'name' or 'name/config', got {name!r}")
    return parts[0], (parts[1] if len(parts) == 2 else None), version

def build_command(name, config=None, data_dir=None):
    """The ``tfds build`` command that builds ``name[/config]`` from ``tfds_builders/``."""
    from sr_zoo import paths

    manual = paths.shared_data_dir() or "<folder holding the data>"
    cmd = f"tfds build tfds_builders/{name}"
    if config:
        cmd += f" --config={config}"
    cmd += f" --manual_dir={manual}"
    if data_dir is not None:
        cmd += f" --data_dir={data_dir}"
    return cmd

def _builder_dir(name, data_dir):
    base, config, version = _parse_name(name)
    data_dir = pathlib.Path(data_dir) if data_dir is not None else default_data_dir()
    root = data_dir / base / config if config else data_dir / base

    def versions(folder):
        if not folder.is_dir():
            return []
        found = [p for p in folder.iterdir() if _VERSION_RE.match(p.name) and (p / "dataset_info.json").is_file()]
        return sorted(found, key=lambda p: tuple(int(v) for v in p.name.split(".")))

    found = versions(root)
    if version is not None:
        found = [p for p in found if p.name == version]
    if not found:
        hint = ""
        if config is None and (data_dir / base).is_dir():
            configs = sorted(p.name for p in (data_dir / base).iterdir() if p.is_dir() and versions(p))
            if configs:
                hint = f" It has configs {configs}: ask for '{base}/<config>'."
        from sr_zoo import paths

        raise DatasetNotBuiltError(
            f"TFDS dataset '{name}' is not built in {data_dir}.{hint} Build it (from {paths.PROJECT_ROOT}) with:\n"
            f"  {build_command(base, config, data_dir)}"
        )
    return found[-1]

def tfds_builder(name, data_dir=None):
    """The read-only TFDS builder of a built ``name[/config][:version]`` (no builder code needed)."""
    import tensorflow_datasets as tfds

    return tfds.builder_from_directory(str(_builder_dir(name, data_dir)))

def _image_key(features):
    for k in _IMAGE_KEYS:
        if k in features:
            return k
    raise ValueError(f"dataset has no 'hr' or 'image' feature (features: {sorted(features)})")

def _decode_rgb(encoded):
    img = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    img.set_shape([None, None, 3])
    return img

def _from_tfds(name, split, data_dir, keep=()):
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir)
    features = builder.info.features
    key = _image_key(features)
    split = split or default_split(builder, train=True)
    image_keys = [k for k in features.keys() if isinstance(features[k], tfds.features.Image)]
    ds = builder.as_dataset(split=split, decoders={k: tfds.decode.SkipDecoding() for k in image_keys},
                            shuffle_files=False)

    def convert(ex):
        out = {"hr": ex[key], "name": ex["name"] if "name" in ex else tf.constant(name)}
        for k in keep:
            if k in ex:
                out[k] = ex[k]
        return out

    return ds.map(convert), builder, split

def default_split(builder, train):
    splits = list(builder.info.splits.keys())
    order = ("train",) if train else ("test", "validation", "valid", "train")
    for s in order:
        if s in splits:
            return s
    return splits[0]

def _pil_decode(path):
    path = path.numpy().decode("utf-8")
    img = _io.read_rgb(path)
    if img is None:
        return np.zeros((0, 0, 3), np.uint8)
    return img

def _from_folder(folder):
    files = [str(p) for p in _io.list_images(folder)]
    if not files:
        raise ValueError(f"no image files in {folder}")
    ds = tf.data.Dataset.from_tensor_slices(files)

    def load(path):
        img = tf.py_function(_pil_decode, [path], tf.uint8)
        img.set_shape([None, None, 3])
        return {"hr": img, "name": path}

    ds = ds.map(load, num_parallel_calls=AUTOTUNE)
    return ds.filter(lambda ex: tf.size(ex["hr"]) > 0)  # unreadable files were reported by read_rgb

def to_rgb_uint8(image):
    """A TF image of any channel count (1, 2, 3, 4) and dtype (uint8, uint16, float in [0, 1]) to uint8 RGB."""
    image = tf.convert_to_tensor(image)
    if image.dtype == tf.uint16:
        image = tf.cast(image // 256, tf.uint8)
    elif image.dtype != tf.uint8:
        image = tf.image.convert_image_dtype(tf.cast(image, tf.float32), tf.uint8, saturate=True)
    if image.shape.rank == 2:
        image = image[:, :, None]
    c = image.shape[-1]
    if c is None:
        c_t = tf.shape(image)[-1]
        image = tf.cond(c_t >= 3, lambda: image[:, :, :3], lambda: tf.tile(image[:, :, :1], [1, 1, 3]))
    elif c >= 3:
        image = image[:, :, :3]
    else:
        image = tf.tile(image[:, :, :1], [1, 1, 3])
    image.set_shape([None, None, 3])
    return image

def _from_tf_dataset(ds):
    spec = ds.element_spec

    def convert(*args):
        el = args[0] if len(args) == 1 else args
        name = tf.constant("")
        if isinstance(el, dict):
            key = _image_key(el)
            name = el.get("name", name)
            img = el[key]
        elif isinstance(el, (tuple, list)):
            img = el[0]
        else:
            img = el
        return {"hr": to_rgb_uint8(img), "name": tf.strings.as_string(name) if name.dtype != tf.string else name}

    del spec
    return ds.map(convert, num_parallel_calls=AUTOTUNE)

def load_images(dataset, split=None, *, data_dir=None):
    """HR images of ``dataset`` as a ``tf.data.Dataset`` of ``{'hr': uint8 HxWx3, 'name': string}``.

    ``dataset``: TFDS name, folder, ``tf.data.Dataset`` or a list of them (see module doc).
    Raises :class:`DatasetNotBuiltError` (with the ``tfds build`` command) if a TFDS dataset is missing.
    """
    if isinstance(dataset, (list, tuple)):
        if not dataset:
            raise ValueError("empty list of datasets")
        parts = [load_images(d, split, data_dir=data_dir) for d in dataset]
        out = parts[0]
        for p in parts[1:]:
            out = out.concatenate(p)
        return out
    if isinstance(dataset, tf.data.Dataset):
        return _from_tf_dataset(dataset)
    if isinstance(dataset, pathlib.Path) or (isinstance(dataset, str) and os.path.isdir(dataset)):
        return _from_folder(dataset)
    if isinstance(dataset, str):
        ds, _, _ = _from_tfds(dataset, split, data_dir)
        return ds.map(lambda ex: {"hr": _decode_rgb(ex["hr"]), "name": ex["name"]}, num_parallel_calls=AUTOTUNE)
    raise TypeError(f"dataset must be a TFDS name, a folder, a tf.data.Dataset or a list; got {type(dataset).__name__}")

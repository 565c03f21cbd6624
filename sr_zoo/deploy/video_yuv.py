"""The YUV path of :func:`sr_zoo.deploy.video.upscale_video`: Y-channel models on planar 4:2:0 frames.

The RGB path decodes each frame to RGB, converts it to MATLAB YCbCr (BT.601,
Y in [16, 235]), runs the model on Y, upscales Cb and Cr bicubically to the
full output size, converts back to RGB, and the encoder converts that RGB to
yuv420p again, halving the chroma it has just upscaled. For a Y model whose
output is encoded as yuv420p, this path drops the round trips:

* decode: the frame's Y, U and V planes as they are when it is 8-bit 4:2:0
  BT.601 limited range (matrix BT.470BG or SMPTE 170M, or untagged, which
  FFmpeg's swscale and so the RGB path read as BT.601; range limited or
  untagged). Such a Y plane *is* the MATLAB ``rgb2ycbcr`` Y of the RGB frame
  the RGB path gets, except for that path's 8-bit rounding in YUV -> RGB.
  Any other frame (BT.709, BT.2020, full range, 10-bit, NV12, 4:2:2, RGB) is
  converted by swscale, at the input size, to 8-bit 4:2:0 BT.601 limited: the
  conversion the RGB path makes through RGB, made directly;
* model: Y through the network, with the float32 input in [0, 1] that
  :func:`sr_zoo.upscale` gives it;
* chroma: the U and V planes upscaled by the model's scale with MATLAB bicubic
  (in float32), straight to the output's chroma size: a quarter of the
  pixels the RGB path upscales, and no conversion back;
* encode: Y, U and V go to the encoder as yuv420p frames (no swscale), the
  output stream tagged BT.601 limited range, with the source's primaries and
  transfer function (:func:`output_tags`).
"""

import numpy as np

#: Where :func:`choose` sends a Y model when ``video_color="auto"``; ``"yuv"`` and ``"rgb"`` force a path.
COLOR_CHOICES = ("auto", "yuv", "rgb")
# FFmpeg's AVColorSpace values read as BT.601: unspecified (swscale's default), BT.470BG, SMPTE 170M.
_BT601 = (2, 5, 6)
_SMPTE170M = 6
# AVColorRange values read as limited range: unspecified (swscale's default) and MPEG.
_LIMITED = (0, 1)
_MPEG = 1


def is_420(pix_fmt):
    """Whether FFmpeg's pixel format ``pix_fmt`` (a name) is YUV with chroma at half width and height."""
    import av

    try:
        fmt = av.VideoFormat(pix_fmt, 64, 64)
    except (ValueError, TypeError):
        return False
    parts = fmt.components
    return not fmt.is_rgb and len(parts) >= 3 and (parts[1].width, parts[1].height) == (32, 32)


def choose(color, *, model_channels, output_format, source_format, width, height):
    """``("yuv" | "rgb", why)``: the colour path :func:`~sr_zoo.deploy.video.upscale_video` takes.

    ``"auto"``: the YUV path where it is faithful to the RGB path: a Y model (1 channel) on the TensorFlow
    backend, output encoded as yuv420p, an even frame size, and a 4:2:0 source (converted to BT.601 limited
    range if tagged otherwise). A source with full-resolution chroma (4:4:4, 4:2:2, RGB) keeps the RGB path,
    which upscales that chroma before the output's 4:2:0 halves it. ``"yuv"``: the YUV path for any source
    (one without 4:2:0 chroma is subsampled first); ValueError where it cannot run. ``"rgb"``: the RGB path.
    """
    if color not in COLOR_CHOICES:
        raise ValueError(f"video_color must be one of {', '.join(COLOR_CHOICES)}, got {color!r}")
    if color == "rgb":
        return "rgb", "asked for"
    from sr_zoo.inference.compiled import _tf_backend

    blocker = None
    if model_channels != 1:
        blocker = "the model is an RGB model (the YUV path runs Y-channel models)"
    elif output_format != "yuv420p":
        blocker = f"the encoder takes {output_format}, not yuv420p"
    elif width % 2 or height % 2:
        blocker = f"the frame size {width}x{height} is odd (yuv420p needs even sizes)"
    elif not _tf_backend():
        blocker = "the Keras backend is not TensorFlow"
    if blocker is not None:
        if color == "yuv":
            raise ValueError(f"video_color='yuv' cannot run: {blocker}")
        return "rgb", blocker
    if color == "auto" and not is_420(source_format):
        return "rgb", f"the source ({source_format}) has full-resolution chroma"
    return "yuv", "asked for" if color == "yuv" else "Y model, 4:2:0 in and out"


def output_tags(source_context):
    """(colorspace, color_range, color_primaries, color_trc) for a yuv420p output stream.

    Both paths hand the encoder BT.601 limited-range YUV (the YUV path its planes, the RGB path swscale's
    conversion of its RGB frames), so the matrix is tagged as such (the source's own BT.601 tag if it has one,
    SMPTE 170M otherwise: an untagged 1080p stream would be shown as BT.709 by most players), the range as
    limited; primaries and transfer function, which neither path changes, are the source's.
    """
    cc = source_context
    colorspace = cc.colorspace if cc.colorspace in (5, 6) else _SMPTE170M
    return colorspace, _MPEG, cc.color_primaries, cc.color_trc


class Yuv420Frames:
    """A batch of 8-bit 4:2:0 BT.601 limited-range frames: ``y`` (N, H, W) and ``uv`` (N, 2, H/2, W/2) uint8.

    What :class:`~sr_zoo.deploy.video.FrameUpscaler` takes on the YUV path (it returns the upscaled frames
    as (N, 3sH/2, sW) uint8 arrays in FFmpeg's yuv420p layout: Y rows, then U, then V).
    """

    __slots__ = ("y", "uv")

    def __init__(self, y, uv):
        self.y, self.uv = y, uv

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return Yuv420Frames(self.y[index], self.uv[index])

    @classmethod
    def stack(cls, frames, width, height):
        """The planes of PyAV ``frames`` (converted where needed, see :func:`planes`), as one batch."""
        batch = cls(np.empty((len(frames), height, width), np.uint8),
                    np.empty((len(frames), 2, height // 2, width // 2), np.uint8))
        for k, frame in enumerate(frames):
            planes(frame, width, height, batch.y[k], batch.uv[k])
        return batch


def planes(frame, width, height, y, uv):
    """Copies a PyAV frame's Y, U and V planes into ``y`` (H, W) and ``uv`` (2, H/2, W/2).

    A frame that is not 8-bit 4:2:0 BT.601 limited range at ``width`` x ``height`` is converted to it first.
    """
    from av.video.reformatter import ColorRange, Colorspace

    if not (frame.format.name == "yuv420p" and (frame.width, frame.height) == (width, height)
            and frame.colorspace in _BT601 and frame.color_range in _LIMITED):
        frame = frame.reformat(width=width, height=height, format="yuv420p", dst_colorspace=Colorspace.ITU601,
                               dst_color_range=ColorRange.MPEG)
    for plane, out in zip(frame.planes, (y, uv[0], uv[1])):
        out[...] = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]


def to_frame(flat):
    """A PyAV yuv420p frame from one (3H/2, W) array that :func:`upscale` returned."""
    import av

    return av.VideoFrame.from_ndarray(flat, format="yuv420p")


def upscale(upscaler, frames):
    """:class:`Yuv420Frames` -> (N, 3sH/2, sW) uint8 yuv420p arrays, with ``upscaler``'s model, batch size and
    tiling (a :class:`~sr_zoo.deploy.video.FrameUpscaler`): one trace per batch shape (a short last batch is
    padded), none per call."""
    from sr_zoo import inference

    n, height, width = frames.y.shape
    batch = upscaler.batch_for(height, width)
    if batch is None:  # tiled, frame by frame
        sr = np.stack([inference.predict(upscaler.model, frames.y[k, :, :, None].astype(np.float32) / np.float32(255),
                                         tile=upscaler.tile, jit_compile=upscaler.jit_compile,
                                         precision=upscaler.precision) for k in range(n)])
        return np.concatenate([_run(upscaler, frames[k : k + 1], sr[k : k + 1]) for k in range(n)])
    return np.concatenate([_run(upscaler, Yuv420Frames(padded(frames.y[i : i + batch], batch),
                                                       padded(frames.uv[i : i + batch], batch)))[: n - i]
                           for i in range(0, n, batch)])


def padded(frames, batch):
    """``frames`` with its last one repeated up to ``batch``: a short last batch has a full batch's shape, so the
    compiled functions are not traced again for it."""
    if len(frames) == batch:
        return frames
    return np.concatenate([frames, np.repeat(frames[-1:], batch - len(frames), axis=0)])


def _run(upscaler, frames, sr=None):
    """One batch through the model (unless its output ``sr`` is given) and the chroma, as compiled functions."""
    import tensorflow as tf

    from sr_zoo.inference.color_pipeline import _bicubic_up, _to_uint8
    from sr_zoo.inference.compiled import _entry, _forward, _jit_plan

    entry = _entry(upscaler.model)
    s = entry.info.scale
    jit_color, jit_model, fuse = _jit_plan(upscaler.jit_compile)

    def forward(y):  # the input sr_zoo.upscale gives a Y model: uint8 Y / 255 in float32
        return _forward(entry.model_ref(), tf.cast(y[..., None], tf.float32) / 255.0)

    def post(sr, uv):
        n, height, width = sr.shape[0], sr.shape[1], sr.shape[2]
        c = _bicubic_up(tf.reshape(uv, (2 * n, uv.shape[2], uv.shape[3], 1)), s, dtype="float32")
        flat = tf.concat([tf.reshape(_to_uint8(sr), (n, -1)), tf.reshape(c, (n, -1))], axis=1)
        return tf.reshape(flat, (n, height * 3 // 2, width))

    if sr is None and fuse:
        fn = entry.function(("video_yuv_fused",), lambda y, uv: post(forward(y), uv), True, frames.y, frames.uv)
        return fn(frames.y, frames.uv).numpy()
    if sr is None:
        sr = entry.function(("video_yuv_forward",), forward, jit_model, frames.y)(frames.y)
    return entry.function(("video_yuv_post", s), post, jit_color, sr, frames.uv)(sr, frames.uv).numpy()

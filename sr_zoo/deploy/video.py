"""Super-resolving a video file: decode, upscale in batches, encode, keep the audio.

Decoding and encoding use PyAV (``av``), the maintained Python binding of
FFmpeg's libraries whose wheels bundle FFmpeg with libx264: no ``ffmpeg``
binary or pipes, frames arrive as numpy arrays, and audio packets can be
copied into the new file without re-encoding.

Frames stream through: a batch of ``batch_size`` decoded frames goes through
the same colour pipeline as :func:`sr_zoo.upscale` (Y models on MATLAB Y with
bicubic chroma, RGB models on RGB), compiled once per frame shape, and is
encoded at once, so memory does not grow with the video's length. The output
is written under a temporary name beside the target and renamed at the end: an
error or Ctrl-C removes it and leaves nothing under the final name.

>>> stats = sr_zoo.upscale_video(sr_zoo.pretrained.load("espcn_x3"), "clip.mp4", "clip_x3.mp4", crf=18)
>>> stats["frames"], stats["frames_per_second"]
"""

import os
import pathlib
import time

import numpy as np

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")
# Encoders whose quality is set with CRF (0 = lossless for x264/x265).
_CRF_CODECS = ("libx264", "libx264rgb", "libx265", "libvpx", "libvpx-vp9", "libaom-av1", "libsvtav1")
# Player-compatible 4:2:0 for the usual delivery codecs; RGB for the rest (ffv1, png, libx264rgb).
_YUV420_CODECS = ("libx264", "h264", "libx265", "hevc", "mpeg4", "libvpx", "libvpx-vp9", "libaom-av1", "libsvtav1")
_RGB_FORMATS = ("rgb24", "bgr24", "gbrp", "bgr0", "rgb0")


def upscale_video(model, source, target, *, codec="libx264", crf=18, batch_size=4, overwrite=False, tile=None, progress=True,
                  precision="auto"):
    """Super-resolves the video ``source`` into ``target`` with a zoo model.

    Args:
      model: a zoo model (Y or RGB), e.g. ``sr_zoo.pretrained.load("espcn_x3")``.
      source, target: video paths; the container follows ``target``'s extension.
      codec: FFmpeg encoder name; ``libx264`` (H.264, yuv420p) by default,
        ``libx264rgb`` with ``crf=0`` or ``ffv1`` for lossless RGB.
      crf: quality of x264/x265/VPx/AV1 encoders (lower is better, 0 lossless); ignored by others.
      batch_size: frames per model call (the last batch is padded: one compiled shape).
      overwrite: replace an existing ``target``.
      tile: as for :func:`sr_zoo.upscale` (forces tiling, one frame per call).
      progress: show a progress bar with frames/s and ETA on stderr.
      precision: as for :func:`sr_zoo.upscale` (``'auto'``: bfloat16 where it is faster and as good).

    Returns:
      dict with ``frames``, ``seconds``, ``frames_per_second``, ``size`` (output width, height) and ``audio`` (copied or not).

    Raises:
      ValueError (one line, naming the file): not a video, no video stream, a
      frame that cannot be decoded, an existing ``target`` without
      ``overwrite``, an unknown codec or extension.
    """
    import av

    source, target = pathlib.Path(source), pathlib.Path(target)
    if target.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{target}: output must end in a video extension ({', '.join(VIDEO_SUFFIXES)})")
    if target.exists() and not overwrite:
        raise ValueError(f"output exists: {target} (use --overwrite / overwrite=True)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    try:
        av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError) as e:
        raise ValueError(f"unknown video encoder {codec!r} in this FFmpeg build ({e})") from None
    try:
        inp = av.open(str(source))
    except (av.error.FFmpegError, OSError) as e:
        raise ValueError(f"{source}: not a video FFmpeg can read ({_why(e)})") from None
    tmp = target.with_name(f".{target.stem}.partial{target.suffix}")
    try:
        with inp:
            if not inp.streams.video:
                raise ValueError(f"{source}: has no video stream")
            stats = _transcode(model, inp, source, tmp, codec, crf, batch_size, tile, progress)
        os.replace(tmp, target)
        return stats
    except BaseException:  # errors and Ctrl-C: no half-written file anywhere
        tmp.unlink(missing_ok=True)
        raise


def _why(error):
    text = getattr(error, "strerror", None) or str(error)  # FFmpeg's words, without errno and function name
    return text.splitlines()[0] if text else type(error).__name__


def _transcode(model, inp, source, tmp, codec, crf, batch_size, tile, progress):
    import av
    from tqdm import tqdm

    vin = inp.streams.video[0]
    vin.thread_type = "AUTO"  # frame/slice-threaded decoding
    ain = inp.streams.audio[0] if inp.streams.audio else None
    upscaler = FrameUpscaler(model, batch_size=batch_size, tile=tile, precision=precision)
    s = upscaler.scale
    rate = vin.average_rate or vin.guessed_rate or 25
    total = vin.frames or (int(round(float(inp.duration / av.time_base * rate))) if inp.duration else None)
    start = time.perf_counter()
    frames_done = 0
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(tmp), "w", format=_container_format(tmp)) as out:
        vout = out.add_stream(codec, rate=rate)
        vout.width, vout.height = vin.codec_context.width * s, vin.codec_context.height * s
        vout.pix_fmt = _pixel_format(codec)
        vout.time_base = vin.time_base
        if codec in _CRF_CODECS:
            vout.options = {"crf": str(crf)} if not codec.startswith("libvpx") else {"crf": str(crf), "b": "0"}
        aout = out.add_stream_from_template(ain) if ain is not None else None
        bar = None  # drawn after the first batch (compiled by then): its frames/s and ETA mean something
        pending = []  # decoded frames waiting for a full batch

        def flush():
            nonlocal frames_done, bar
            if not pending:
                return
            hr = upscaler(np.stack([f.to_ndarray(format="rgb24") for f in pending]))
            for frame, image in zip(pending, hr):
                new = av.VideoFrame.from_ndarray(image, format="rgb24")
                new.pts, new.time_base = frame.pts, frame.time_base
                out.mux(vout.encode(new))
            frames_done += len(pending)
            if bar is None:
                bar = tqdm(total=total, initial=frames_done, unit="frame", disable=not progress, dynamic_ncols=True)
            else:
                bar.update(len(pending))
            pending.clear()

        streams = [vin] + ([ain] if ain is not None else [])
        try:
            for packet in inp.demux(*streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None:  # the demuxer's empty flush packet has none
                        packet.stream = aout
                        out.mux(packet)
                    continue
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError as e:
                    _erase(bar)
                    raise ValueError(f"{source}: cannot decode video frame {frames_done + len(pending) + 1} ({_why(e)})") from None
                for frame in decoded:
                    pending.append(frame)
                    if len(pending) == batch_size:
                        flush()
        except av.error.FFmpegError as e:  # a damaged container
            _erase(bar)
            raise ValueError(f"{source}: cannot read past frame {frames_done + len(pending)} ({_why(e)})") from None
        except BaseException:
            _erase(bar)
            raise
        flush()
        out.mux(vout.encode(None))
        if bar is not None:
            bar.close()
    if frames_done == 0:
        raise ValueError(f"{source}: no video frame could be decoded")
    seconds = time.perf_counter() - start
    return {
        "frames": frames_done,
        "seconds": seconds,
        "frames_per_second": frames_done / seconds,
        "size": (vout.width, vout.height),
        "audio": aout is not None,
    }


def _erase(bar):
    if bar is not None:  # the error line that follows stands alone
        bar.leave = False
        bar.close()


def _container_format(path):
    return {".mkv": "matroska", ".m4v": "mp4", ".mov": "mov", ".webm": "webm", ".avi": "avi"}.get(path.suffix.lower(), "mp4")


def _pixel_format(codec):
    import av

    formats = [f.name for f in (av.codec.Codec(codec, "w").video_formats or ())]
    if codec in _YUV420_CODECS and "yuv420p" in formats:
        return "yuv420p"
    return next((f for f in _RGB_FORMATS if f in formats), formats[0] if formats else "yuv420p")


class FrameUpscaler:
    """Batches of uint8 RGB frames ``(N, H, W, 3)`` -> ``(N, sH, sW, 3)``, equal to :func:`sr_zoo.upscale` per frame.

    Uses :mod:`sr_zoo.inference`'s colour pipeline and per-model cache of
    compiled functions: one trace per frame shape and batch size (a short last
    batch is padded), none per frame. Frames whose activations exceed
    :data:`sr_zoo.inference.MEMORY_BUDGET`, or any frame when ``tile`` is
    given, go one by one through :func:`sr_zoo.upscale`'s tiling.

    >>> up = FrameUpscaler(model, batch_size=4)
    >>> hr = up(frames_uint8)     # (4, 360, 640, 3) -> (4, 1080, 1920, 3) for x3
    """

    def __init__(self, model, *, batch_size=4, tile=None, jit_compile="auto", precision="auto"):
        from sr_zoo import inference

        model = inference.in_precision(model, precision)  # the copy sr_zoo.upscale would run
        self.model, self.tile, self.jit_compile, self.precision = model, tile, jit_compile, precision
        self.entry = inference._entry(model)  # the per-model cache sr_zoo.upscale uses
        self.scale = self.entry.info.scale
        self.batch_size = int(batch_size)

    def __call__(self, frames):
        from sr_zoo import inference

        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 (N, H, W, 3), got {frames.dtype} {frames.shape}")
        info = self.entry.info
        per_frame = frames.shape[1] * frames.shape[2] * info.peak_per_lr_pixel * 4 * inference._LIVE_FACTOR
        if self.tile is not None or per_frame > inference.MEMORY_BUDGET:
            return np.stack([inference.upscale(self.model, f, tile=self.tile, jit_compile=self.jit_compile,
                                               precision=self.precision) for f in frames])
        batch = max(1, min(self.batch_size, int(inference.MEMORY_BUDGET // per_frame)))
        return np.concatenate([self._batch(frames[i : i + batch], batch) for i in range(0, len(frames), batch)])

    def _batch(self, frames, batch):
        from sr_zoo import inference

        n = len(frames)
        if n < batch:  # same shape as a full batch: no retracing for the last one
            frames = np.concatenate([frames, np.repeat(frames[-1:], batch - n, axis=0)])
        mode = "y" if self.entry.info.channels == 1 else "direct"
        jit_color, jit_model, fuse = inference._jit_plan(self.jit_compile)
        entry, s = self.entry, self.scale

        def pre(img):
            return inference._pre(img, mode, 3)

        def post(y, img):
            return inference._post(y, img, mode, 3, s)

        if fuse:
            fused = entry.function(("video_fused", mode), lambda img: post(inference._forward(entry.model_ref(), pre(img)), img), True, frames)
            return fused(frames).numpy()[:n]
        x = entry.function(("video_pre", mode), pre, jit_color, frames)(frames)
        y = inference._forward_fn(entry, jit_model, x)(x)
        return entry.function(("video_post", mode), post, jit_color, y, frames)(y, frames).numpy()[:n]

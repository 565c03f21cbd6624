"""Super-resolving a video file: decode, upscale in batches, encode, keep the audio.

Decoding and encoding use PyAV (``av``), the maintained Python binding of
FFmpeg's libraries whose wheels bundle FFmpeg with libx264: no ``ffmpeg``
binary or pipes, frames arrive as numpy arrays, and audio packets can be
copied into the new file without re-encoding.

Three stages overlap, joined by bounded queues (:data:`QUEUE_BATCHES` batches
each), so decoding, the model and encoding share the machine's cores instead
of taking turns (PyAV releases the GIL while FFmpeg decodes, converts and
encodes; TensorFlow while its kernels run):

* a decoder thread demuxes and decodes, and groups frames into batches of
  ``batch_size``, with the audio packets met on the way kept in their places;
* the calling thread runs the model on each batch, compiled once per frame shape;
* an encoder thread encodes the upscaled frames and muxes them, and the audio
  packets, in the source's order (x264 itself frame-threaded over the cores).

Two colour paths (``video_color``): the RGB path converts frames to RGB and
runs :func:`sr_zoo.upscale`'s colour pipeline (Y models on MATLAB Y with
bicubic chroma, RGB models on RGB), the encoder converting back to YUV; the
YUV path (:mod:`sr_zoo.deploy.video_yuv`, Y models with a yuv420p output)
keeps frames as Y, U and V planes: Y through the model, U and V bicubic to the
output's chroma size, no RGB anywhere and no colour work at the output's full
size. Its Y equals the RGB path's up to that path's 8-bit rounding in YUV ->
RGB (46 dB apart on Set5 x3; the YUV path is the closer to the originals).

Memory does not grow with the video's length. The first error in any stage
(or Ctrl-C) stops all three; the output is written under a temporary name
beside the target and renamed at the end, so an error or Ctrl-C removes it
and leaves nothing under the final name.

>>> stats = sr_zoo.upscale_video(sr_zoo.pretrained.load("espcn_x3"), "clip.mp4", "clip_x3.mp4", crf=18)
>>> stats["frames"], stats["frames_per_second"]
"""

import os
import pathlib
import time

import numpy as np

from sr_zoo.deploy import video_yuv
from sr_zoo.deploy.video_stages import _END, _Pipeline, _Stopped

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")
# Encoders whose quality is set with CRF (0 = lossless for x264/x265).
_CRF_CODECS = ("libx264", "libx264rgb", "libx265", "libvpx", "libvpx-vp9", "libaom-av1", "libsvtav1")
# Player-compatible 4:2:0 for the usual delivery codecs; RGB for the rest (ffv1, png, libx264rgb).
_YUV420_CODECS = ("libx264", "h264", "libx265", "hevc", "mpeg4", "libvpx", "libvpx-vp9", "libaom-av1", "libsvtav1")
_RGB_FORMATS = ("rgb24", "bgr24", "gbrp", "bgr0", "rgb0")

#: Encoders that take x264-style speed presets (``preset=``); other encoders refuse an explicit preset.
PRESET_CODECS = ("libx264", "libx264rgb", "libx265")
#: x264's and x265's presets, fastest (largest file at a given CRF) first.
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")
#: The preset used when none is given (for :data:`PRESET_CODECS`), chosen by measurement with
#: ``python benchmarks/bench_video.py --presets --precisions=bfloat16`` (whole-path frames/s of espcn_x3
#: 640x360 -> 1920x1080, bfloat16, YUV path, 2-core AMX CPU, alone): the slowest preset that keeps it at or
#: above 24 frames/s (veryfast 25.6, faster 19.8). In float32 (ESPCN's ``auto``) no preset reaches 24.
DEFAULT_PRESET = "veryfast"
#: Batches each queue between two stages holds: the decoder may run this many batches ahead of the model,
#: the model this many ahead of the encoder (x3 1080p, batch 4: about 50 MB of upscaled frames waiting).
QUEUE_BATCHES = 2


def upscale_video(model, source, target, *, codec="libx264", crf=18, preset=None, batch_size=4, overwrite=False,
                  tile=None, progress=True, precision="auto", video_color="auto"):
    """Super-resolves the video ``source`` into ``target`` with a zoo model.

    Args:
      model: a zoo model (Y or RGB), e.g. ``sr_zoo.pretrained.load("espcn_x3")``.
      source, target: video paths; the container follows ``target``'s extension.
      codec: FFmpeg encoder name; ``libx264`` (H.264, yuv420p) by default,
        ``libx264rgb`` with ``crf=0`` or ``ffv1`` for lossless RGB.
      crf: quality of x264/x265/VPx/AV1 encoders (lower is better, 0 lossless); ignored by others.
      preset: encoder speed preset of libx264/libx264rgb/libx265, one of :data:`PRESETS` (faster presets
        make larger files at the same CRF); ``None``: :data:`DEFAULT_PRESET` for those encoders and
        nothing for the others. An explicit preset with another encoder is refused (ValueError), not ignored.
      batch_size: frames per model call (the last batch is padded: one compiled shape).
      overwrite: replace an existing ``target``.
      tile: as for :func:`sr_zoo.upscale` (forces tiling, one frame per call).
      progress: show a progress bar with frames/s and ETA on stderr.
      precision: as for :func:`sr_zoo.upscale` (``'auto'``: bfloat16 where it is faster and as good).
      video_color: ``'auto'`` (default): the YUV path (see the module's text) for a Y model (ESPCN, FSRCNN,
        SRCNN, LapSRN) whose output is yuv420p (libx264, libx265, VPx, AV1) from a 4:2:0 source, the RGB path
        otherwise (RGB models such as EDSR, RGB or lossless encoders, 4:4:4 sources); ``'yuv'`` forces the YUV
        path (ValueError where it cannot run); ``'rgb'`` the RGB path. Either way a yuv420p output is tagged
        BT.601 limited range (what both paths encode) with the source's primaries and transfer function (the
        YUV path converts a BT.709, BT.2020 or full-range source to BT.601 limited with swscale at the input size).

    Returns:
      dict with ``frames``, ``seconds``, ``frames_per_second`` (whole path, first compilation included),
      ``size`` (output width, height), ``audio`` (copied or not) and ``color`` (the path: ``'yuv'`` or ``'rgb'``).

    Raises:
      ValueError (one line, naming the file): not a video, no video stream, a
      frame that cannot be decoded or encoded, an existing ``target`` without
      ``overwrite``, an unknown codec, preset, extension or ``video_color``.
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
    if preset is not None:
        if codec not in PRESET_CODECS:
            raise ValueError(f"preset {preset!r}: encoder {codec} has no presets (they apply to {', '.join(PRESET_CODECS)})")
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r} for {codec}; choose one of {', '.join(PRESETS)}")
    elif codec in PRESET_CODECS:
        preset = DEFAULT_PRESET
    if video_color not in video_yuv.COLOR_CHOICES:
        raise ValueError(f"video_color must be one of {', '.join(video_yuv.COLOR_CHOICES)}, got {video_color!r}")
    try:
        inp = av.open(str(source))
    except (av.error.FFmpegError, OSError) as e:
        raise ValueError(f"{source}: not a video FFmpeg can read ({_why(e)})") from None
    tmp = target.with_name(f".{target.stem}.partial{target.suffix}")
    try:
        with inp:
            if not inp.streams.video:
                raise ValueError(f"{source}: has no video stream")
            stats = _transcode(model, inp, source, target, tmp, codec, crf, preset, batch_size, tile, progress, precision,
                               video_color)
        os.replace(tmp, target)
        return stats
    except BaseException:  # errors and Ctrl-C: no half-written file anywhere
        tmp.unlink(missing_ok=True)
        raise


def _why(error):
    text = getattr(error, "strerror", None) or str(error)  # FFmpeg's words, without errno and function name
    return text.splitlines()[0] if text else type(error).__name__


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Batch:
    """Decoded frames in model order, with the audio packets met among them (``order``: ``None`` marks a frame)."""

    __slots__ = ("frames", "times", "order")

    def __init__(self, frames, times, order):
        self.frames, self.times, self.order = frames, times, order


def _transcode(model, inp, source, target, tmp, codec, crf, preset, batch_size, tile, progress, precision, color):
    import av
    from tqdm import tqdm

    vin = inp.streams.video[0]
    vin.thread_type = "AUTO"  # frame/slice-threaded decoding
    ain = inp.streams.audio[0] if inp.streams.audio else None
    upscaler = FrameUpscaler(model, batch_size=batch_size, tile=tile, precision=precision)
    s = upscaler.scale
    width, height = vin.codec_context.width, vin.codec_context.height
    rate = vin.average_rate or vin.guessed_rate or 25
    total = vin.frames or (int(round(float(inp.duration / av.time_base * rate))) if inp.duration else None)
    pix_fmt = _pixel_format(codec)
    color, _ = video_yuv.choose(color, model_channels=upscaler.info.channels, output_format=pix_fmt,
                                source_format=vin.codec_context.pix_fmt, width=width, height=height)
    start = time.perf_counter()
    tmp.parent.mkdir(parents=True, exist_ok=True)
    out = av.open(str(tmp), "w", format=_container_format(tmp))
    failed = True
    try:
        vout = out.add_stream(codec, rate=rate)
        vout.width, vout.height = width * s, height * s
        vout.pix_fmt = pix_fmt
        vout.time_base = vin.time_base
        if pix_fmt == "yuv420p":  # what the encoder gets on either path: BT.601, limited range
            cc = vout.codec_context
            cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = video_yuv.output_tags(vin.codec_context)
        options = {}
        if codec in _CRF_CODECS:
            options = {"crf": str(crf)} if not codec.startswith("libvpx") else {"crf": str(crf), "b": "0"}
        if preset is not None:
            options["preset"] = preset
        vout.options = options
        # PyAV's default (slice threads) makes x264 cut each frame into slices; frame threads (what AUTO
        # gives x264) are faster and compress better. One encoder thread per core the process may use:
        # x264's own default, 1.5 per core, would only crowd the model further.
        vout.codec_context.thread_type = "AUTO"
        vout.codec_context.thread_count = _cores()
        aout = out.add_stream_from_template(ain) if ain is not None else None
        pipe = _Pipeline(QUEUE_BATCHES)
        written = [0]  # frames the encoder has taken
        threads = []
        bar = None  # drawn after the first batch (compiled by then): its frames/s and ETA mean something
        error = None
        try:
            threads.append(pipe.start("decode", _decode, inp, vin, ain, source, batch_size, width, height, color))
            threads.append(pipe.start("encode", _encode, out, vout, aout, target, written))
            while (batch := pipe.get(pipe.decoded)) is not _END:
                hr = upscaler(batch.frames) if len(batch.frames) else batch.frames
                pipe.put(pipe.upscaled, (batch, hr))
                if bar is None:
                    bar = tqdm(total=total, initial=len(hr), unit="frame", disable=not progress, dynamic_ncols=True)
                else:
                    bar.update(len(hr))
            pipe.put(pipe.upscaled, _END)
        except _Stopped:
            pass  # a stage failed: its error is raised below
        except BaseException as e:  # the model's errors, Ctrl-C
            error = e
            pipe.fail(e)
        interrupted = pipe.join(threads)
        error = error or pipe.error or interrupted
        if error is not None:
            _erase(bar)
            raise error
        if bar is not None:
            bar.close()
        failed = False
    finally:
        try:
            out.close()  # after the stages have ended: none of them uses it any more
        except Exception as e:  # noqa: BLE001
            if failed:  # the error that stopped the stages is the one to report
                pass
            elif isinstance(e, av.error.FFmpegError):
                raise ValueError(f"{target}: cannot finish writing ({_why(e)})") from None
            else:
                raise
    frames_done = written[0]
    if frames_done == 0:
        raise ValueError(f"{source}: no video frame could be decoded")
    seconds = time.perf_counter() - start
    return {
        "frames": frames_done,
        "seconds": seconds,
        "frames_per_second": frames_done / seconds,
        "size": (vout.width, vout.height),
        "audio": aout is not None,
        "color": color,
    }


def _decode(pipe, inp, vin, ain, source, batch_size, width, height, color):
    """Decoder stage: batches of ``batch_size`` frames (the last one shorter) into ``pipe.decoded``: RGB
    (N, H, W, 3) arrays, or :class:`~sr_zoo.deploy.video_yuv.Yuv420Frames` for ``color="yuv"``."""
    import av

    frames, times, order = [], [], []
    count = 0

    def ship():
        nonlocal frames, times, order
        if order:
            if color == "yuv":
                batch = video_yuv.Yuv420Frames.stack(frames, width, height)
            else:
                batch = np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8)
            pipe.put(pipe.decoded, _Batch(batch, times, order))
        frames, times, order = [], [], []

    streams = [vin] + ([ain] if ain is not None else [])
    try:
        for packet in inp.demux(*streams):
            if pipe.stop.is_set():
                raise _Stopped
            if packet.stream.type == "audio":
                if packet.dts is not None:  # the demuxer's empty flush packet has none
                    order.append(packet)
                continue
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as e:
                raise ValueError(f"{source}: cannot decode video frame {count + 1} ({_why(e)})") from None
            for frame in decoded:
                # At the stream's size: one compiled shape even if a frame comes in another size.
                frames.append(frame if color == "yuv" else frame.to_ndarray(format="rgb24", width=width, height=height))
                times.append((frame.pts, frame.time_base))
                order.append(None)
                count += 1
                if len(frames) == batch_size:
                    ship()
    except av.error.FFmpegError as e:  # a damaged container
        raise ValueError(f"{source}: cannot read past frame {count} ({_why(e)})") from None
    ship()
    pipe.put(pipe.decoded, _END)


def _encode(pipe, out, vout, aout, target, written):
    """Encoder stage: upscaled frames and audio packets from ``pipe.upscaled`` into ``out``, in order."""
    import av

    try:
        while (item := pipe.get(pipe.upscaled)) is not _END:
            batch, hr = item
            k = 0
            for entry in batch.order:
                if entry is None:  # (3H/2, W) yuv420p planes or (H, W, 3) RGB
                    new = video_yuv.to_frame(hr[k]) if hr.ndim == 3 else av.VideoFrame.from_ndarray(hr[k], format="rgb24")
                    new.pts, new.time_base = batch.times[k]
                    k += 1
                    out.mux(vout.encode(new))
                    written[0] += 1
                else:
                    entry.stream = aout
                    out.mux(entry)
            if pipe.stop.is_set():
                raise _Stopped
        out.mux(vout.encode(None))
    except av.error.FFmpegError as e:
        raise ValueError(f"{target}: cannot encode or write frame {written[0] + 1} ({_why(e)})") from None


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
    """Batches of uint8 RGB frames ``(N, H, W, 3)`` -> ``(N, sH, sW, 3)``, equal to :func:`sr_zoo.upscale` per frame;
    for a Y model also :class:`~sr_zoo.deploy.video_yuv.Yuv420Frames` -> ``(N, 3sH/2, sW)`` yuv420p arrays.

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
        self.info = inference.model_info(model)  # checked and cached with the model's compiled functions
        self.scale = self.info.scale
        self.batch_size = int(batch_size)

    def __call__(self, frames):
        from sr_zoo import inference

        if isinstance(frames, video_yuv.Yuv420Frames):
            if self.info.channels != 1:
                raise ValueError("Yuv420Frames need a Y-channel model; this one takes RGB")
            return video_yuv.upscale(self, frames)
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 (N, H, W, 3), got {frames.dtype} {frames.shape}")
        batch = self.batch_for(frames.shape[1], frames.shape[2])
        if batch is None:
            return np.stack([inference.upscale(self.model, f, tile=self.tile, jit_compile=self.jit_compile,
                                               precision=self.precision) for f in frames])
        return np.concatenate([
            inference.upscale_batch(self.model, video_yuv.padded(frames[i : i + batch], batch),
                                    jit_compile=self.jit_compile, name="video")[: len(frames) - i]
            for i in range(0, len(frames), batch)])

    def batch_for(self, height, width):
        """Frames per model call at ``height`` x ``width``, or ``None`` when frames go one by one through the
        tiling (``tile`` given, or one frame's activations over the memory budget)."""
        from sr_zoo import inference

        per_frame = inference.activation_bytes(self.info, height, width)
        if self.tile is not None or per_frame > inference.MEMORY_BUDGET:
            return None
        return max(1, min(self.batch_size, int(inference.MEMORY_BUDGET // per_frame)))

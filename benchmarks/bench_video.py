"""Video upscaling speed on this CPU: frames/s of python -m sr_zoo.upscale's whole path and of the model alone.

    python benchmarks/bench_video.py                      # espcn x2/x3/x4, fsrcnn-s x3; float32, bfloat16; yuv, rgb path
    python benchmarks/bench_video.py --frames=192 --batch_size=8
    python benchmarks/bench_video.py --models=espcn_x3 --precisions=bfloat16 --colors=yuv
    python benchmarks/bench_video.py --presets            # espcn_x3, whole path per x264 preset: picks DEFAULT_PRESET
    python benchmarks/bench_video.py --presets=veryfast,faster --precisions=bfloat16

A 640x360 H.264 clip (moving textures, 24 fps, AAC tone) is made first; every
model gets it, so the output is 640s x 360s (1920x1080 for x3). "whole path" is
sr_zoo.upscale_video on it: threaded decode, batched model + colour pipeline,
libx264 CRF 18 encode at the preset given (default: video.DEFAULT_PRESET) and
audio copy, timed from the call to the renamed file. "model only" is
FrameUpscaler on the decoded frames, without decoding and encoding. The first
batch (compilation) is excluded from both: the model-only pass compiles the
functions the whole path then reuses. "cores" is the CPU time the whole path
used per second of wall time (2.0: both cores of a 2-core machine busy), "CPU
ms/frame" that CPU time per frame: on a CPU-bound path, real time (24 frames/s)
on 2 cores needs it below 2000 / 24 = 83 ms.

Each model runs on each colour path that applies (--colors; "path"): yuv (Y
models: Y, U and V planes, no RGB round trip) and rgb (sr_zoo.upscale's colour
pipeline per frame, the encoder converting RGB back to yuv420p); "(auto)" marks
the one upscale_video's video_color="auto" takes.

Each precision runs where it applies: float32 always; bfloat16 where the CPU
has native bfloat16 (AMX or AVX512-BF16), for every model, whether or not
precision="auto" picks it for that architecture (the "auto" column says which
one it picks).

--presets times the whole path of espcn_x3 (precision auto unless --precisions
names one, colour path auto unless --colors names one) for each x264 preset,
with the output's size: the slowest preset that keeps the whole path at
or above 24 frames/s (real time for most films) is the one to make
sr_zoo.deploy.video.DEFAULT_PRESET.

The machine must be otherwise idle: the load average is printed before and
after, and every figure of a run that started with a 1-minute load above 0.5 is
marked "unreliable" (the other processes took cores from it).
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

import av
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import sr_zoo  # noqa: E402
import sr_zoo.pretrained  # noqa: E402
from sr_zoo import precision as precision_lib  # noqa: E402
from sr_zoo.deploy import video, video_yuv  # noqa: E402
from sr_zoo.models import precision as model_precision  # noqa: E402

MODELS = ("espcn_x2", "espcn_x3", "espcn_x4", "fsrcnn-s_x3")  # pretrained names
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
PRESET_MODEL = "espcn_x3"
REAL_TIME = 24.0  # frames/s
MAX_LOAD = 0.5  # 1-minute load average above which a run's figures are unreliable
WIDTH, HEIGHT = 640, 360


def make_clip(path, frames):
    rng = np.random.default_rng(0)
    span = WIDTH + 4 * frames
    texture = rng.integers(0, 256, (HEIGHT // 8, -(-span // 8), 3), dtype=np.uint8)
    texture = np.kron(texture, np.ones((8, 8, 1), np.uint8))
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=24)
        v.width, v.height, v.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        a = c.add_stream("aac", rate=48000)
        for k in range(frames):
            image = np.ascontiguousarray(texture[:, 4 * k : 4 * k + WIDTH])
            c.mux(v.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        c.mux(v.encode(None))
        t = np.arange(48000 * frames // 24) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for i in range(0, tone.shape[1], 1024):
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, i : i + 1024]), format="fltp", layout="mono")
            f.sample_rate, f.pts = 48000, i
            c.mux(a.encode(f))
        c.mux(a.encode(None))


def precisions_here(requested):
    """The requested precisions that apply on this machine (bfloat16: CPU with native bfloat16 only)."""
    native_bf16 = bool(precision_lib.cpu_flags() & set(precision_lib.BFLOAT16_CPU_FLAGS))
    kept = [p for p in requested if p == "float32" or (p == "bfloat16" and native_bf16)]
    for p in requested:
        if p not in kept:
            print(f"skipping {p}: no native support on this machine (flags {', '.join(precision_lib.BFLOAT16_CPU_FLAGS)})")
    return kept


def decode_clip(path):
    """The clip's frames as the two paths' upscalers take them: RGB (N, H, W, 3) and Yuv420Frames."""
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        return (np.stack([f.to_ndarray(format="rgb24") for f in frames]),
                video_yuv.Yuv420Frames.stack(frames, frames[0].width, frames[0].height))


def auto_color(model, clip):
    """The colour path upscale_video(video_color="auto") takes for ``model`` on ``clip`` into libx264."""
    with av.open(str(clip)) as c:
        cc = c.streams.video[0].codec_context
        return video_yuv.choose("auto", model_channels=video.FrameUpscaler(model).info.channels, output_format="yuv420p",
                                source_format=cc.pix_fmt, width=cc.width, height=cc.height)[0]


def model_only(model, frames, batch_size, precision):
    """frames/s of FrameUpscaler alone, first batch (compilation) excluded."""
    up = video.FrameUpscaler(model, batch_size=batch_size, precision=precision)
    b = batch_size
    up(frames[:b])  # compile (the whole path reuses these functions)
    timed = (len(frames) - b) // b * b
    t = time.perf_counter()
    for i in range(b, b + timed, b):
        up(frames[i : i + b])
    return timed / (time.perf_counter() - t)


def whole_path(model, clip, out, batch_size, precision, preset=None, color="auto"):
    """(frames/s, cores used, CPU ms per frame, output bytes, colour path) of upscale_video, compiled functions
    already cached."""
    cpu = os.times()
    stats = video.upscale_video(model, clip, out, batch_size=batch_size, precision=precision, preset=preset,
                                progress=False, overwrite=True, video_color=color)
    used = os.times()
    cpu_s = used.user - cpu.user + used.system - cpu.system
    size = out.stat().st_size
    out.unlink()
    return stats["frames_per_second"], cpu_s / stats["seconds"], 1000 * cpu_s / stats["frames"], size, stats["color"]


def load():
    return os.getloadavg()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="pretrained names (default: %(default)s)")
    parser.add_argument("--precisions", default=None,
                        help="default: float32,bfloat16 (where they apply); --presets: one precision, default auto")
    parser.add_argument("--frames", type=int, default=96, help="clip length (default: %(default)s, 4 s at 24 fps)")
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--colors", default=None,
                        help="colour paths, from yuv,rgb (default: both where they apply; --presets: auto's choice)")
    parser.add_argument("--presets", nargs="?", const=",".join(PRESETS), default=None,
                        help=f"instead of the model table: {PRESET_MODEL}'s whole path per x264 preset "
                             f"(default list: {','.join(PRESETS)})")
    args = parser.parse_args()
    if args.frames < 2 * args.batch_size:
        parser.error("--frames must be at least 2 batches (one is compilation)")
    colors = args.colors.split(",") if args.colors else None
    if colors and not set(colors) <= {"yuv", "rgb"}:
        parser.error(f"--colors: yuv and/or rgb, got {args.colors}")

    start_load = os.getloadavg()
    unreliable = start_load[0] > MAX_LOAD
    print(f"load average before: {start_load[0]:.2f} {start_load[1]:.2f} {start_load[2]:.2f} (1, 5, 15 min)"
          + (f"  -> above {MAX_LOAD}: every figure below is UNRELIABLE (other processes hold cores)" if unreliable else ""))
    print(f"{os.cpu_count()} CPUs, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'} usable;"
          f" {args.frames} frames {WIDTH}x{HEIGHT}, batch {args.batch_size}, libx264 CRF 18\n")
    mark = " (unreliable)" if unreliable else ""

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        clip = tmp / "clip_640x360.mp4"
        make_clip(clip, args.frames)
        frames = dict(zip(("rgb", "yuv"), decode_clip(clip)))

        if args.presets is not None:
            model = sr_zoo.pretrained.load(PRESET_MODEL)
            precision = args.precisions or "auto"
            chosen = model_precision.inference_precision(model, precision)
            color = colors[0] if colors else auto_color(model, clip)
            model_only(model, frames[color][: 2 * args.batch_size], args.batch_size, precision)  # compile
            print(f"{PRESET_MODEL} ({chosen}, asked: {precision}), {color} path, whole path per preset; "
                  f"default now: {video.DEFAULT_PRESET}\n")
            print("| preset | path | whole path (frames/s) | cores | CPU ms/frame | output (MB) |")
            print("|---|---|---|---|---|---|")
            best = None
            for preset in args.presets.split(","):
                fps, cores, ms, size, ran = whole_path(model, clip, tmp / f"{preset}.mp4", args.batch_size, precision,
                                                       preset, color)
                print(f"| {preset} | {ran} | {fps:.2f}{mark} | {cores:.2f} | {ms:.1f} | {size / 1e6:.2f} |")
                if fps >= REAL_TIME:
                    best = preset  # the list runs fastest first: the last one at real time compresses best
            print(f"\nslowest preset at >= {REAL_TIME:g} frames/s ({color} path): {best or 'none'}"
                  + (" (unreliable: do not change DEFAULT_PRESET on it)" if unreliable else ""))
        else:
            precisions = precisions_here((args.precisions or "float32,bfloat16").split(","))
            print(f"preset {video.DEFAULT_PRESET} (video.DEFAULT_PRESET)\n")
            print("| model | output | precision | auto picks it | path | whole path (frames/s) | model only (frames/s) "
                  "| cores | CPU ms/frame |")
            print("|---|---|---|---|---|---|---|---|---|")
            for name in args.models.split(","):
                model = sr_zoo.pretrained.load(name)
                s = video.FrameUpscaler(model).scale
                auto = model_precision.inference_precision(model, "auto")
                auto_path = auto_color(model, clip)
                paths = [c for c in colors or ("yuv", "rgb") if c == "rgb" or video.FrameUpscaler(model).info.channels == 1]
                for precision in precisions:
                    for color in paths:
                        only = model_only(model, frames[color], args.batch_size, precision)
                        fps, cores, ms, _, ran = whole_path(model, clip, tmp / f"{name}.mp4", args.batch_size, precision,
                                                            color=color)
                        print(f"| {name} | {WIDTH * s}x{HEIGHT * s} | {precision} | {'yes' if precision == auto else 'no'} "
                              f"| {ran}{' (auto)' if ran == auto_path else ''} | {fps:.2f}{mark} | {only:.2f}{mark} "
                              f"| {cores:.2f} | {ms:.1f} |")

    end_load = os.getloadavg()
    print(f"\nload average after: {end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f} (this run's own work included)")


if __name__ == "__main__":
    main()

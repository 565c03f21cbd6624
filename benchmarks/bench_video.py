"""Video upscaling speed: frames/s of python -m sr_zoo.upscale's path, 640x360 -> 1920x1080 (x3), on this CPU.

    python benchmarks/bench_video.py                   # espcn_x3 (pretrained) and fsrcnn x3, 48 frames
    python benchmarks/bench_video.py --frames=96 --batch_size=8

A 640x360 H.264 clip (moving textures, 24 fps, AAC tone) is made first; each
model then runs sr_zoo.upscale_video on it (decode, batched model + colour
pipeline, libx264 CRF 18 encode, audio copy). "model only" is
FrameUpscaler on the decoded frames, without decoding and encoding; the first
batch (compilation) is excluded from both.
"""

import argparse
import pathlib
import sys
import tempfile
import time

import av
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import sr_zoo  # noqa: E402
import sr_zoo.pretrained  # noqa: E402
from sr_zoo.deploy import video  # noqa: E402

MODELS = {
    "espcn_x3": lambda: sr_zoo.pretrained.load("espcn_x3"),
    "fsrcnn_x3": lambda: sr_zoo.models.get("fsrcnn", scale=3, preset="fsrcnn"),
}


def make_clip(path, frames):
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (360 // 8, 1280 // 8, 3), dtype=np.uint8)
    texture = np.kron(texture, np.ones((8, 8, 1), np.uint8))
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=24)
        v.width, v.height, v.pix_fmt = 640, 360, "yuv420p"
        a = c.add_stream("aac", rate=48000)
        for k in range(frames):
            c.mux(v.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(texture[:, 4 * k : 4 * k + 640]), format="rgb24")))
        c.mux(v.encode(None))
        t = np.arange(48000 * frames // 24) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for i in range(0, tone.shape[1], 1024):
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, i : i + 1024]), format="fltp", layout="mono")
            f.sample_rate, f.pts = 48000, i
            c.mux(a.encode(f))
        c.mux(a.encode(None))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--batch_size", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = pathlib.Path(tmp) / "clip_640x360.mp4"
        make_clip(clip, args.frames)
        with av.open(str(clip)) as c:
            frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        print(f"{args.frames} frames 640x360 -> 1920x1080, batch {args.batch_size}, libx264 CRF 18\n")
        print("| model | upscale_video (frames/s) | model only (frames/s) |")
        print("|---|---|---|")
        for name in args.models.split(","):
            model = MODELS[name]()
            up = video.FrameUpscaler(model, batch_size=args.batch_size)
            b = args.batch_size
            up(frames[:b])  # compile
            t = time.perf_counter()
            for i in range(b, len(frames) - b + 1, b):
                up(frames[i : i + b])
            model_fps = (len(frames) - b) // b * b / (time.perf_counter() - t)
            # Whole path, compiled already (same cached functions): decode + model + encode + audio copy.
            stats = video.upscale_video(model, clip, pathlib.Path(tmp) / f"{name}.mp4", batch_size=b, progress=False)
            print(f"| {name} | {stats['frames_per_second']:.2f} | {model_fps:.2f} |")


if __name__ == "__main__":
    main()

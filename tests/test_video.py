"""sr_zoo.upscale_video / python -m sr_zoo.upscale on videos made here (PyAV): frames, rate, audio, errors, Ctrl-C."""

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import av
import numpy as np
import pytest
from cli_batch import run_batch

import sr_zoo
import sr_zoo.pretrained
from sr_zoo.deploy import video, video_yuv

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
FPS = 12


def make_video(path, frames=7, size=(48, 64), codec="libx264", audio=True, seed=0):
    """A small video of moving blocks with a 440 Hz tone; returns the frames as encoded (RGB)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size[0] // 4, size[1] // 4, 3), dtype=np.uint8)
    images = [np.kron(np.roll(base, k, axis=1), np.ones((4, 4, 1), np.uint8)) for k in range(frames)]
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=FPS)
        video.width, video.height = size[1], size[0]
        video.pix_fmt = "yuv420p" if codec == "libx264" else "rgb24"
        if audio:
            sound = container.add_stream("aac", rate=16000)
            sound.layout = "mono"
        for image in images:
            container.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(video.encode(None))
        if audio:
            t = np.arange(16000 * frames // FPS) / 16000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for i in range(0, tone.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, i : i + 1024]), format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 16000, i
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return images


def decoded(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def audio_packets(path):
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


def _bad_videos(folder):
    """A text file, an audio-only file and a PNG video with a damaged frame in the middle."""
    text = folder / "notes.mp4"
    text.write_text("not a video\n")
    sound = folder / "sound.mp4"
    with av.open(str(sound), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    broken = folder / "broken.mov"  # PNG frames: one damaged in the middle
    make_video(broken, frames=6, codec="png", audio=False)
    damage_frame(broken, 3)
    return text, sound, broken


def damage_frame(path, index):
    """Zeroes the middle of video packet ``index`` in place, so that frame cannot be decoded."""
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    data = bytearray(path.read_bytes())
    pos, size = packets[index]
    data[pos + 50 : pos + size - 20] = bytes(size - 70)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """The tool's video commands of the tests below in one process (tests/cli_batch.py: each as
    `python -m sr_zoo.upscale ...` would, its output and exit code captured); Ctrl-C in a real one."""
    root = tmp_path_factory.mktemp("video_cli")
    make_video(root / "in.mp4")
    text, sound, broken = _bad_videos(root)
    commands = {  # 7 frames in batches of 3: a padded last batch
        "lossless": ["--model=espcn_x3", "--codec=ffv1", "--batch_size=3", root / "in.mp4", root / "out.mkv"],
        "broken.mov": ["--model=espcn_x3", broken, root / "d.mp4"],
        "sound.mp4": ["--model=espcn_x3", text, sound],
    }
    results = run_batch([["-m", "sr_zoo.upscale", *args] for args in commands.values()], cwd=ROOT, env=ENV)
    return root, dict(zip(commands, results))


def test_cli_lossless_output_equals_upscale_per_frame(cli):
    root, runs = cli
    source, target, run = root / "in.mp4", root / "out.mkv", runs["lossless"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert "7 frames" in run.stdout and "frame/s" in run.stderr  # tqdm's bar: frames/s and ETA
    with av.open(str(target)) as out:
        stream = out.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (192, 144)
        assert stream.average_rate == FPS
        assert len(out.streams.audio) == 1
    assert audio_packets(target) == audio_packets(source)  # copied, not re-encoded
    model = sr_zoo.pretrained.load("espcn_x3")
    frames_in, frames_out = decoded(source), decoded(target)
    assert len(frames_out) == len(frames_in) == 7
    for k, (lr, hr) in enumerate(zip(frames_in, frames_out)):
        diff = np.abs(hr.astype(int) - sr_zoo.upscale(model, lr))
        # ffv1 is lossless; batched oneDNN convolutions may round a rare Y value the other way (<= 2 levels in RGB).
        assert diff.max() <= 2 and (diff > 0).mean() < 1e-3, (k, diff.max(), (diff > 0).mean())
    assert not list(root.glob(".*partial*"))


def test_h264_default_keeps_rate_and_audio(tmp_path):
    source, target = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_video(source, frames=5)
    model = sr_zoo.models.get("fsrcnn", scale=2, preset="fsrcnn-s", channels=3)
    stats = sr_zoo.upscale_video(model, source, target, crf=12, batch_size=2, progress=False)
    assert stats["frames"] == 5 and stats["size"] == (128, 96) and stats["audio"]
    with av.open(str(target)) as out:
        assert out.streams.video[0].codec_context.name == "h264" and out.streams.video[0].average_rate == FPS
        assert out.streams.audio[0].codec_context.name == "aac"
    for lr, hr in zip(decoded(source), decoded(target)):  # within H.264 4:2:0's loss
        assert sr_zoo.metrics.psnr(sr_zoo.upscale(model, lr), hr, y_channel=False) > 30


def test_bad_inputs_are_one_line_errors(tmp_path, cli):
    model = sr_zoo.models.get("espcn", scale=2)
    text, sound, broken = _bad_videos(tmp_path)
    with pytest.raises(ValueError, match="notes.mp4: not a video"):
        sr_zoo.upscale_video(model, text, tmp_path / "a.mp4", progress=False)
    with pytest.raises(ValueError, match="sound.mp4: has no video stream"):
        sr_zoo.upscale_video(model, sound, tmp_path / "b.mp4", progress=False)
    with pytest.raises(ValueError, match=r"broken.mov: cannot decode video frame \d"):
        sr_zoo.upscale_video(model, broken, tmp_path / "c.mp4", progress=False)
    assert not (tmp_path / "c.mp4").exists() and not list(tmp_path.glob(".*partial*"))
    with pytest.raises(ValueError, match="output exists"):
        sr_zoo.upscale_video(model, sound, sound, progress=False)
    # The same errors through the command line: one line, exit code 2 (the input or output named is unusable).
    root, runs = cli
    for named in ("broken.mov", "sound.mp4"):
        run = runs[named]
        # What a terminal shows: tqdm erases its bar with "\r" before the error line.
        lines = [v for v in (line.rsplit("\r", 1)[-1].strip() for line in run.stderr.split("\n")) if v]
        assert run.returncode == 2 and len(lines) == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
        assert named in lines[0]


# x264's subpel refinement per preset, as it writes it into the stream's "options:" SEI.
SUBME = {"ultrafast": 0, "superfast": 1, "veryfast": 2, "faster": 4, "fast": 6, "medium": 7}


def x264_options(path):
    """The settings x264 wrote into its SEI message (in the first frame), as a dict."""
    data = path.read_bytes()
    start = data.index(b"options: ") + len(b"options: ")
    end = next(i for i in range(start, len(data)) if data[i] < 0x20 or data[i] > 0x7E)
    return dict(item.split("=", 1) for item in data[start:end].decode().split() if "=" in item)


def pipeline_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("sr_zoo-video") and t.is_alive()]


def test_preset_reaches_the_encoder(tmp_path):
    source = tmp_path / "in.mp4"
    make_video(source, frames=3, audio=False)
    model = sr_zoo.models.get("fsrcnn", scale=2, preset="fsrcnn-s", channels=3)
    sr_zoo.upscale_video(model, source, tmp_path / "fast.mp4", preset="ultrafast", batch_size=2, progress=False)
    sr_zoo.upscale_video(model, source, tmp_path / "default.mp4", batch_size=2, progress=False)
    fast, default = x264_options(tmp_path / "fast.mp4"), x264_options(tmp_path / "default.mp4")
    assert fast["subme"] == "0" and fast["cabac"] == "0", fast  # ultrafast: no subpel refinement, CAVLC
    assert default["subme"] == str(SUBME[video.DEFAULT_PRESET]), default
    assert fast["sliced_threads"] == default["sliced_threads"] == "0"  # frame threads, not PyAV's default slices
    # A preset x264 does not have, or one for an encoder without presets: one line, before anything is written.
    for kwargs, message in [({"preset": "warp"}, "unknown preset 'warp' for libx264"),
                            ({"preset": "fast", "codec": "ffv1"}, "encoder ffv1 has no presets")]:
        with pytest.raises(ValueError, match=message) as error:
            sr_zoo.upscale_video(model, source, tmp_path / "bad.mkv", progress=False, **kwargs)
        assert "\n" not in str(error.value)
    assert not (tmp_path / "bad.mkv").exists() and not list(tmp_path.glob(".*partial*"))


def test_corrupt_packet_late_in_the_clip_leaves_no_output(tmp_path):
    # 40 PNG frames, the 30th damaged: by then the threaded pipeline has decoded, upscaled and encoded
    # (into the .partial file) many batches, and every stage is busy when the decoder fails.
    broken, target = tmp_path / "late.mov", tmp_path / "late_x2.mp4"
    make_video(broken, frames=40, codec="png", audio=False)
    damage_frame(broken, 29)
    model = sr_zoo.models.get("espcn", scale=2)
    with pytest.raises(ValueError, match=r"late.mov: cannot decode video frame \d+") as error:
        sr_zoo.upscale_video(model, broken, target, batch_size=2, progress=False)
    assert "\n" not in str(error.value)
    assert not target.exists() and not list(tmp_path.glob(".*partial*"))
    assert not pipeline_threads()  # decoder and encoder threads stopped, not left running


def test_failure_in_any_stage_stops_the_others(tmp_path, monkeypatch):
    source = tmp_path / "in.mp4"
    make_video(source, frames=40)
    model = sr_zoo.models.get("espcn", scale=2)
    # The encoder fails after one batch: the decoder, blocked on its full queue, and the model stop too.
    real_encode = video._encode

    def encode_then_fail(pipe, *args):
        pipe.get(pipe.upscaled)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(video, "_encode", encode_then_fail)
    with pytest.raises(OSError, match="disk full"):
        sr_zoo.upscale_video(model, source, tmp_path / "a.mp4", batch_size=2, progress=False)
    monkeypatch.setattr(video, "_encode", real_encode)
    assert not pipeline_threads() and not list(tmp_path.glob("*a.*"))
    # Ctrl-C in the calling thread (the model's) on the third batch: the decoder and encoder stop too.
    real_call, calls = video.FrameUpscaler.__call__, []

    def interrupted(self, frames):
        calls.append(len(frames))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_call(self, frames)

    monkeypatch.setattr(video.FrameUpscaler, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sr_zoo.upscale_video(model, source, tmp_path / "b.mp4", batch_size=2, progress=False)
    assert not pipeline_threads() and not list(tmp_path.glob("*b.*"))


def test_ctrl_c_leaves_no_output(tmp_path):
    # Ctrl-C once the progress bar shows the frame loop running, with 2400 frames (~15 s) still to go.
    source, target = tmp_path / "long.mp4", tmp_path / "out.mp4"
    make_video(source, frames=2400, size=(48, 64), audio=False)
    # SIGINT restored to its default in the child, as in a terminal: a suite started in the background
    # (`cmd &`, nohup) ignores SIGINT, the child would inherit that, and Python would never raise
    # KeyboardInterrupt.
    run = subprocess.Popen([sys.executable, "-m", "sr_zoo.upscale", "--model=espcn_x3", "--batch_size=1", source, target],
                           cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: run.stderr.read(64), "")), daemon=True)
    reader.start()
    deadline = time.time() + 240
    while "frame" not in "".join(seen) and run.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "upscale ended before it could be interrupted: " + "".join(seen)[-2000:]
    run.send_signal(signal.SIGINT)
    run.wait(timeout=120)
    reader.join(timeout=30)
    stderr = "".join(seen)
    assert run.returncode == 130, stderr[-2000:]
    assert "python -m sr_zoo.upscale: error: interrupted" in stderr and "Traceback" not in stderr
    assert not target.exists() and not list(tmp_path.glob(".*partial*"))


# ----------------------------------------------------------------------------- the YUV path (video_color)


def yuv_planes(path):
    """The decoded frames' (Y, U, V) planes as they are in the file, and the stream's colour tags."""
    with av.open(str(path)) as container:
        cc = container.streams.video[0].codec_context
        tags = (cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc)
        frames = []
        for f in container.decode(video=0):
            assert f.format.name == "yuv420p", f.format.name
            flat, n = f.to_ndarray().reshape(-1), f.width * f.height
            frames.append((flat[:n].reshape(f.height, f.width), flat[n : n * 5 // 4].reshape(f.height // 2, -1),
                           flat[n * 5 // 4 :].reshape(f.height // 2, -1)))
    return frames, tags


# (colorspace, color_range, primaries, transfer) as FFmpeg numbers them: 1 BT.709, 6 SMPTE 170M (BT.601);
# range 1 limited, 2 full; (2, 0, 2, 2): untagged.
SOURCE_TAGS = {"untagged": (2, 0, 2, 2), "bt709": (1, 1, 1, 1), "bt601_full_range": (6, 2, 6, 6)}


def smooth_video(path, tags, frames=4, size=(48, 64)):
    """A moving smooth colour texture (bicubic-upscaled noise, like a photo's colours), x264 CRF 8, tagged ``tags``
    and converted from RGB by swscale with that matrix and range."""
    from av.video.reformatter import ColorRange, Colorspace

    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (size[0] // 8, size[1] // 8 + frames, 3), dtype=np.uint8)
    texture = np.stack([sr_zoo.imresize(noise[..., c], 8) for c in range(3)], axis=-1)
    colorspace, color_range, primaries, trc = tags
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = size[1], size[0], "yuv420p"
        stream.options = {"crf": "8"}
        cc = stream.codec_context
        cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = tags
        for k in range(frames):
            rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(texture[:, 8 * k : 8 * k + size[1]]), format="rgb24")
            container.mux(stream.encode(rgb.reformat(
                format="yuv420p", dst_colorspace=Colorspace.ITU709 if colorspace == 1 else Colorspace.ITU601,
                dst_color_range=ColorRange.JPEG if color_range == 2 else ColorRange.MPEG)))
        container.mux(stream.encode(None))


def psnr(a, b):
    return sr_zoo.metrics.psnr(a, b, y_channel=False)


@pytest.mark.parametrize("source_tags", list(SOURCE_TAGS))
def test_yuv_path_is_faithful_to_the_rgb_path(tmp_path, source_tags):
    # Both paths losslessly encoded (x264 CRF 0), compared plane by plane. The RGB path's Y is the YUV path's
    # up to its 8-bit YUV -> RGB -> Y rounding (swscale's YUV -> RGB is off by up to ~2 levels); measured here:
    # Y 46.2-49 dB between the paths, U and V ~39 dB (the RGB path's chroma goes through two more resamplings:
    # swscale's to RGB and back). On Set5 (x3, 4:2:0, lossless): Y 46.1 dB between the paths, and against the
    # HR originals the YUV path is 0.2 dB (Y) and 0.5 dB (RGB) closer than the RGB path.
    source = tmp_path / "in.mp4"
    smooth_video(source, SOURCE_TAGS[source_tags])
    model = sr_zoo.pretrained.load("espcn_x3")
    outputs = {}
    for color in ("yuv", "rgb"):
        stats = sr_zoo.upscale_video(model, source, tmp_path / f"{color}.mp4", crf=0, batch_size=3, progress=False,
                                     video_color=color)
        assert stats["color"] == color and stats["frames"] == 4 and stats["size"] == (192, 144)
        outputs[color], tags = yuv_planes(tmp_path / f"{color}.mp4")
        # Tagged as what both paths encode, BT.601 limited range; primaries and transfer are the source's.
        colorspace, _, primaries, trc = SOURCE_TAGS[source_tags]
        assert tags == (colorspace if colorspace == 6 else 6, 1, primaries, trc), tags
    for (y, u, v), (y_rgb, u_rgb, v_rgb) in zip(outputs["yuv"], outputs["rgb"]):
        assert psnr(y, y_rgb) > 45 and psnr(u, u_rgb) > 35 and psnr(v, v_rgb) > 35, (psnr(y, y_rgb), psnr(u, u_rgb))
    # And by default (auto) a Y model on a 4:2:0 source into H.264 takes the YUV path.
    assert sr_zoo.upscale_video(model, source, tmp_path / "auto.mp4", crf=0, progress=False)["color"] == "yuv"


def test_yuv_path_is_the_model_on_the_y_plane_and_bicubic_chroma(tmp_path):
    # An untagged BT.601 source: its planes go through untouched; Y through the model as sr_zoo.upscale feeds it
    # (Y / 255 in float32), U and V through MATLAB bicubic (in float32 here: a rare value rounds the other way).
    source = tmp_path / "in.mp4"
    smooth_video(source, SOURCE_TAGS["untagged"], frames=3)
    model = sr_zoo.pretrained.load("espcn_x3")
    sr_zoo.upscale_video(model, source, tmp_path / "out.mp4", crf=0, batch_size=2, progress=False, video_color="yuv")
    inputs, _ = yuv_planes(source)
    outputs, _ = yuv_planes(tmp_path / "out.mp4")
    for (y, u, v), (y_hr, u_hr, v_hr) in zip(inputs, outputs):
        sr = sr_zoo.inference.predict(model, y[..., None].astype(np.float32) / 255)[..., 0]
        expected = np.clip(np.floor(sr * 255 + 0.5), 0, 255)
        for got, want in [(y_hr, expected), (u_hr, sr_zoo.imresize(u, 3)), (v_hr, sr_zoo.imresize(v, 3))]:
            diff = np.abs(got.astype(int) - want)
            assert diff.max() <= 1 and (diff > 0).mean() < 2e-3, (diff.max(), (diff > 0).mean())
    # Tiles (forced) and one XLA program (a GPU's default) give the same frames.
    frames = video_yuv.Yuv420Frames(np.stack([p[0] for p in inputs]), np.stack([np.stack(p[1:]) for p in inputs]))
    whole = video.FrameUpscaler(model)(frames)
    assert whole.shape == (3, 144 * 3 // 2, 192)
    for other in (video.FrameUpscaler(model, tile=16), video.FrameUpscaler(model, jit_compile=True)):
        assert np.abs(whole.astype(int) - other(frames)).max() <= 1


def test_video_color_choice(tmp_path):
    def choose(color, channels=1, out="yuv420p", src="yuv420p", size=(64, 48)):
        return video_yuv.choose(color, model_channels=channels, output_format=out, source_format=src,
                                width=size[0], height=size[1])[0]

    assert choose("auto") == choose("yuv") == "yuv" and choose("rgb") == "rgb"
    assert choose("auto", src="yuv420p10le") == choose("auto", src="yuvj420p") == choose("auto", src="nv12") == "yuv"
    # RGB models (EDSR), RGB or lossless encoders, odd sizes: the RGB path; a full-chroma source too unless forced.
    assert choose("auto", channels=3) == choose("auto", out="bgr0") == choose("auto", size=(63, 48)) == "rgb"
    assert choose("auto", src="yuv444p") == choose("auto", src="rgb24") == "rgb" and choose("yuv", src="rgb24") == "yuv"
    for kwargs, message in [({"channels": 3}, "RGB model"), ({"out": "gbrp"}, "takes gbrp"), ({"size": (63, 48)}, "odd")]:
        with pytest.raises(ValueError, match=message):
            choose("yuv", **kwargs)
    source = tmp_path / "in.mp4"
    make_video(source, frames=2, audio=False)
    rgb_model = sr_zoo.models.get("fsrcnn", scale=2, preset="fsrcnn-s", channels=3)
    for kwargs, message in [({"video_color": "yuv"}, "video_color='yuv' cannot run: the model is an RGB model"),
                            ({"video_color": "ycbcr"}, "video_color must be one of auto, yuv, rgb")]:
        with pytest.raises(ValueError, match=message) as error:
            sr_zoo.upscale_video(rgb_model, source, tmp_path / "out.mp4", progress=False, **kwargs)
        assert "\n" not in str(error.value)
    assert not (tmp_path / "out.mp4").exists() and not list(tmp_path.glob(".*partial*"))

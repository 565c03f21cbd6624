"""Deployment: export zoo models (SavedModel, TFLite, ONNX) and upscale videos.

Everything TensorFlow-, TFLite-, ONNX- or FFmpeg-specific lives in this
package's modules and is imported on first use, so ``import sr_zoo`` stays cheap.

>>> sr_zoo.deploy.export(model, "espcn_x3.tflite", format="tflite", input_size=(360, 640))   # uint8 RGB in/out
>>> sr_zoo.upscale_video(model, "in.mp4", "out.mp4", crf=18)
"""


def export(model, output, *, format, quantize="none", input_size=None, io="rgb", calibration_images=None, **kwargs):
    """Exports a zoo model (uint8 RGB in and out by default); see :func:`sr_zoo.deploy.exporters.export`."""
    from sr_zoo.deploy import exporters

    return exporters.export(model, output, format=format, quantize=quantize, input_size=input_size, io=io,
                            calibration_images=calibration_images, **kwargs)


def upscale_video(model, source, target, **kwargs):
    """Super-resolves a video file; see :func:`sr_zoo.deploy.video.upscale_video`."""
    from sr_zoo.deploy import video

    return video.upscale_video(model, source, target, **kwargs)


__all__ = ["export", "upscale_video"]

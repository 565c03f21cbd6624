"""ONNX export: ``model.export(format="onnx")`` (Keras 3 drives tf2onnx), then checks on the written file.

``io="rgb"`` (the default of :func:`sr_zoo.deploy.export`): the graph of
:func:`sr_zoo.deploy.rgb_io.rgb_model`, input ``image`` uint8 ``(H, W, 3)``,
output ``upscaled`` uint8 ``(sH, sW, 3)``. ``io="model"``: the network alone,
input ``lr`` float32 ``(N, H, W, C)`` in [0, 1], output ``upscaled`` (N, sH, sW, C).
Both have dynamic sizes.
"""

import warnings

import numpy as np

from sr_zoo.deploy.errors import ExportError, explain

OUTPUT_NAME = "upscaled"


def export_onnx(model, info, output, io):
    """Writes ``model`` (already wrapped by ``rgb_model`` when ``io == "rgb"``) to ``output``."""
    import tensorflow as tf

    if io == "rgb":
        signature = [tf.TensorSpec([None, None, 3], tf.uint8, name="image")]
    else:
        signature = [tf.TensorSpec([None, None, None, info.channels], tf.float32, name="lr")]
    try:
        with warnings.catch_warnings():  # Keras' tf2onnx patch probes np.object (a numpy 2 FutureWarning)
            warnings.simplefilter("ignore", FutureWarning)
            model.export(str(output), format="onnx", input_signature=signature, verbose=False)
    except Exception as e:  # tf2onnx raises plain Exceptions with multi-line text
        raise ExportError(f"cannot convert model {model.name!r} to ONNX: {explain(model, e)}") from None
    if io == "model":
        _restore_dropped_squeeze(output, info.channels)
    _name_output(output)
    _check_onnx(model, output, expected=(3, 3) if io == "rgb" else (4, info.channels))


def _name_output(output):
    """Renames tf2onnx's ``Identity:0`` output to :data:`OUTPUT_NAME`."""
    import onnx

    proto = onnx.load(str(output))
    (declared,) = proto.graph.output
    old = declared.name
    if old == OUTPUT_NAME:
        return
    for node in proto.graph.node:
        node.output[:] = [OUTPUT_NAME if o == old else o for o in node.output]
        node.input[:] = [OUTPUT_NAME if i == old else i for i in node.input]
    declared.name = OUTPUT_NAME
    onnx.save(proto, str(output))


def _restore_dropped_squeeze(output, channels):
    """Puts back the output Squeeze that tf2onnx's optimizer sometimes drops.

    tf2onnx (1.17) writes a one-channel model's final NCHW->NHWC transpose as Reshape to (1, N, H, W, 1)
    followed by Squeeze(axis 0). Depending on Python's string-hash order (``PYTHONHASHSEED``: 3 drops it for
    ``espcn_x3``, 0-2 and 4-5 do not) the optimizer removes the Squeeze and declares the output (1, N, H, W, 1).
    """
    import onnx

    proto = onnx.load(str(output))
    if len(proto.graph.output) != 1:
        return
    (declared,) = proto.graph.output
    dims = declared.type.tensor_type.shape.dim
    producers = [n for n in proto.graph.node if declared.name in n.output]
    if (len(dims) != 5 or dims[0].dim_value != 1 or dims[4].dim_value != channels or len(producers) != 1
            or producers[0].op_type != "Reshape"):
        return
    (reshape,) = producers
    rank5 = f"{declared.name}__rank5"
    reshape.output[list(reshape.output).index(declared.name)] = rank5
    axes = onnx.numpy_helper.from_array(np.array([0], np.int64), f"{rank5}__axes")
    proto.graph.initializer.append(axes)
    proto.graph.node.append(onnx.helper.make_node("Squeeze", [rank5, axes.name], [declared.name]))
    dims.remove(dims[0])
    onnx.save(proto, str(output))


def _check_onnx(model, output, expected):
    """ONNX's checker and strict shape inference on the written file: one output of rank and channels
    ``expected``, or an error.

    tf2onnx rewrites the NHWC<->NCHW transposes of one-channel models into Unsqueeze/Reshape/Squeeze chains;
    a chain that lost a node would still load and run, with a wrong output rank.
    """
    import onnx

    try:
        proto = onnx.shape_inference.infer_shapes(onnx.load(str(output)), check_type=True, strict_mode=True)
        onnx.checker.check_model(proto)
    except Exception as e:  # onnx's checker and inference errors have no common base class
        raise ExportError(f"the ONNX file {output} of model {model.name!r} is malformed: {e}") from None
    shapes = [[d.dim_value or None for d in o.type.tensor_type.shape.dim] for o in proto.graph.output]
    rank, channels = expected
    if len(shapes) != 1 or len(shapes[0]) != rank or shapes[0][-1] != channels:
        layout = "(H, W, 3)" if rank == 3 else f"(N, H, W, {channels})"
        raise ExportError(f"the ONNX file {output} of model {model.name!r} has outputs of shapes {shapes}, "
                          f"expected one {layout}")

"""The exporters' error: one line that names the option, the layer or the op."""

import re


class ExportError(ValueError):
    """A model or option that cannot be exported; the message is one line."""


def explain(model, error):
    """One line from a converter error: the layer and op it names, else the error's first line."""
    text = str(error)
    op = None
    for pattern in (r"'([\w.]+)' op is neither a custom op nor a flex op",
                    r"failed to legalize operation '([\w.]+)'",
                    r"op '([\w.]+)' is not supported", r"[Uu]nsupported ops?:?\s*([\w.]+)"):
        match = re.search(pattern, text)
        if match:
            op = match[1]
            break
    layer = None
    for suffix in ("", r"(?:_\d+)?"):  # graph names may carry Keras' "_1" suffixes: exact names first
        layer = layer or next((l.name for l in sorted(model.layers, key=lambda l: -len(l.name))
                               if re.search(rf"[\"/]{re.escape(l.name)}{suffix}[/\"@:]", text)), None)
    if layer and op:
        return f"layer {layer!r} uses {op}, which has no builtin kernel in the target runtime"
    if op:
        return f"op {op} has no builtin kernel in the target runtime"
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return f"layer {layer!r}: {first}" if layer else first

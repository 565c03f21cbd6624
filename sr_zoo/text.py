"""Text to and from people: ``key=value`` options and durations (used by recipes, training and the tools)."""

from sr_zoo.errors import FlagError


def parse_options(items, flag):
    """``['filters=4', 'res_scale=0.1']`` -> ``{'filters': 4, 'res_scale': 0.1}`` (ints, floats, bools, None, text)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FlagError(f"{flag}: expected key=value, got {item!r}")
        out[key.strip()] = _literal(value.strip())
    return out


def _literal(text):
    lowered = text.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def duration(seconds):
    """``"45s"``, ``"12m 05s"``, ``"3h 20m"``: a time for people to read, never ``"0.0 h"`` for a short one."""
    if seconds < 0.5:
        return "under 1s"
    seconds = int(seconds + 0.5)  # half up: round() would make 0.5 s "0s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h {m:02d}m"
    return f"{m}m {s:02d}s" if m else f"{s}s"

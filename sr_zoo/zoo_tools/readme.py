"""Writes the zoo table, the compute table and the int8 table between the README's markers."""

import pathlib

from sr_zoo.zoo_tools.tables import compute_table, int8_table, table

README_START = "<!-- zoo-table:start"
README_END = "<!-- zoo-table:end -->"
README_COMPUTE_START = "<!-- zoo-compute:start"
README_COMPUTE_END = "<!-- zoo-compute:end -->"
README_INT8_START = "<!-- zoo-int8:start"
README_INT8_END = "<!-- zoo-int8:end -->"


def _replace_block(text, start_marker, end_marker, body, readme):
    if start_marker not in text or end_marker not in text:
        raise ValueError(f"{readme}: no markers {start_marker} ... {end_marker}")
    start = text.index("\n", text.index(start_marker)) + 1
    return text[:start] + body + "\n" + text[text.index(end_marker):]


def update_readme(readme):
    """Writes :func:`table`, :func:`compute_table` and :func:`int8_table` between the README's zoo-table,
    zoo-compute and zoo-int8 markers."""
    readme = pathlib.Path(readme)
    text = _replace_block(readme.read_text(), README_START, README_END, table(markdown=True), readme)
    text = _replace_block(text, README_COMPUTE_START, README_COMPUTE_END, f"```text\n{compute_table()}\n```", readme)
    text = _replace_block(text, README_INT8_START, README_INT8_END, int8_table(), readme)
    readme.write_text(text)
    return readme

"""A griffe extension for the API site: doctest blocks outside a section become an Examples section.

The docstrings are Google style and put their doctests last, after ``Args``/``Returns``, without an
``Examples:`` heading (pytest runs them as they are). Without this, Markdown would render ``>>>``
as nested block quotes, and the output after a ``Returns:`` section as part of the return value.
Only the site's copy changes; the sources stay as they are.
"""

import re

from griffe import Extension

SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")


def with_examples_section(text: str) -> str:
    """Indent everything from the first top-level ``>>>`` line under an ``Examples:`` heading,
    unless the docstring has an Examples section or a section follows the doctests."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith(">>>")), None)
    if start is None or any(line.strip() in ("Examples:", "Example:") for line in lines):
        return text
    if any(SECTION.match(line) for line in lines[start:]):
        return text
    tail = ["    " + line if line.strip() else line for line in lines[start:]]
    return "\n".join([*lines[:start], "Examples:", *tail])


class DoctestsAsExamples(Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = with_examples_section(obj.docstring.value)

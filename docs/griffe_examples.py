"""Griffe extension for the API pages: the code writes doctest sections as ``Example:``.

Griffe's Google-style parser knows ``Examples:`` only and would render an ``Example:`` section as
Markdown text (``>>>`` lines as prose). This renames the section title in each docstring as griffe
loads it, so the examples render as code; the source is not changed. Configured in ``mkdocs.yml``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

EXAMPLE_TITLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
"""An ``Example:`` section title on a line of its own."""


class DoctestExamples(griffe.Extension):
    """Rename ``Example:`` to ``Examples:`` in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = EXAMPLE_TITLE.sub(r"\1Examples:", obj.docstring.value)

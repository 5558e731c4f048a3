"""MkDocs hook: fills the generated parts of the documentation at build time, so they cannot go stale.

A page asks for generated text with a marker line of its own, ``<!-- generated: NAME -->``, where NAME
is one of :data:`GENERATORS`:

- ``cli-physdis``: the ``--help`` of ``physdis`` and of every subcommand, walked from
  :func:`physdis_hub.cli.build_parser` (the probe commands included);
- ``cli-training``: the ``--help`` of every module under ``training/`` that runs as a script
  (``python -m training.X``), found by walking the package, so moved or new tools appear by themselves;
- ``presets``: one row per preset of :data:`training.presets.PRESETS`, read from the configuration the
  preset builds (its LOOCC-LV variant);
- ``results``, ``results-archive``: the experiment reports under ``results/`` and ``results/archive/``
  (date, file, title, question, verdict).

Configured in ``mkdocs.yml`` (``hooks:``). An unknown marker name stops the build.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import pkgutil
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (this file is ``docs/hooks.py``)."""
MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)
"""A line that asks for generated text."""
HELP_WIDTH = "100"
"""Columns that argparse wraps ``--help`` to, fixed so that the pages do not depend on the terminal."""


def _help_block(title: str, text: str, level: int) -> str:
    """A heading and a fenced ``text`` block."""
    return f"{'#' * level} `{title}`\n\n```text\n{text.rstrip()}\n```\n"


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The (name, parser) of each subcommand of ``parser``, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _walk(parser: argparse.ArgumentParser, level: int) -> list[str]:
    """``parser``'s help and, below it, that of each subcommand, recursively."""
    blocks = [_help_block(parser.prog, parser.format_help(), level)]
    for _, sub in _subparsers(parser):
        blocks += _walk(sub, min(level + 1, 4))
    return blocks


@contextlib.contextmanager
def _fixed_width() -> Iterator[None]:
    """Set ``COLUMNS`` (argparse's wrap width) to :data:`HELP_WIDTH` for the duration."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def cli_physdis() -> str:
    """Markdown: the ``--help`` of ``physdis`` and every subcommand, from the parser itself."""
    from physdis_hub.cli import build_parser

    with _fixed_width():
        return "\n".join(_walk(build_parser(), 3))


def script_modules(package: str = "training") -> list[str]:
    """Modules of ``package`` (recursively) that run as scripts: a ``main`` and a ``__main__`` guard."""
    found = []
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        if info.ispkg:
            continue
        source = Path(importlib.util.find_spec(info.name).origin).read_text(encoding="utf-8")
        if "def main(" in source and 'if __name__ == "__main__"' in source:
            found.append(info.name)
    return sorted(found)


def script_help(module: str) -> str:
    """What ``python -m MODULE --help`` prints, obtained by calling its ``main(["--help"])``."""
    out = io.StringIO()
    with _fixed_width(), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        importlib.import_module(module).main(["--help"])
    text = out.getvalue()
    if "usage:" not in text:
        raise RuntimeError(f"docs: `python -m {module} --help` printed no usage; got {text[:200]!r}")
    return text


def cli_training() -> str:
    """Markdown: the ``--help`` of every training script."""
    return "\n".join(_help_block(f"python -m {m}", script_help(m), 3) for m in script_modules())


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "-"


def presets_table() -> str:
    """Markdown table: one row per preset, read from the configuration it builds (variant LV)."""
    from training.presets import PRESETS, build_preset

    head = (
        "| preset | what it is for | data | widths (depth nf, feature dim) | batch | lr | epochs "
        "| patience | perceptual | normal prior | augment | convex start (steps) | cycle term (LV) "
        "| precision, Adam |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [head]
    for name, preset in PRESETS.items():
        cfg = build_preset(name, "LV", data_dir="DATA" if preset.needs_data_dir else None)
        loss, nets = cfg.model.loss, cfg.model.nets
        data = "real (`--data-dir`)" if preset.needs_data_dir else "synthetic (offline)"
        rows.append(
            f"| `{name}` | {preset.description} | {data} | {nets.depth_nf}, {nets.zdim} | {cfg.batch_size} "
            f"| {cfg.optim.lr:g} | {cfg.max_epochs} | {cfg.patience} | {loss.lam_perc:g} | {loss.lam_normal_smooth:g} "
            f"| {_yes_no(cfg.augment.enabled)} | {cfg.shape_init.steps} | {cfg.loocc.cycle_weight:g} "
            f"| {cfg.precision}, {cfg.optim.adam_impl} |"
        )
    return "\n".join(rows) + "\n"


REPORT_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)\.md$")
"""A report's file name: ``YYYY-MM-DD-<slug>.md``."""


def _field(text: str, name: str) -> str:
    """The text after ``**name**:`` on its line in a report ('' when absent)."""
    match = re.search(rf"^(?:- )?\*\*{name}\*\*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def results_index(folder: Path = ROOT / "results") -> str:
    """Markdown table of the reports in ``folder`` (newest first): date, file, title, question, verdict."""
    rows = ["| date | report | question | verdict |", "|---|---|---|---|"]
    for path in sorted(folder.glob("*.md"), reverse=True):
        match = REPORT_DATE.match(path.name)
        if match is None:
            continue
        text = path.read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").strip()
        rel = path.relative_to(ROOT)
        rows.append(f"| {match.group(1)} | `{rel}`: {title} | {_field(text, 'Question')} | {_field(text, 'Verdict')} |")
    return "\n".join(rows) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "cli-physdis": cli_physdis,
    "cli-training": cli_training,
    "presets": presets_table,
    "results": results_index,
    "results-archive": lambda: results_index(ROOT / "results" / "archive"),
}
"""Marker name -> the function that writes its Markdown."""


def render(markdown: str) -> str:
    """``markdown`` with every generated marker replaced by its text; unknown names are an error."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"docs: unknown generated block {name!r}; expected one of {sorted(GENERATORS)}")
        return GENERATORS[name]()

    return MARKER.sub(fill, markdown)


def on_config(config: object, **_: object) -> object:
    """MkDocs event: put the clone first on ``sys.path``, as pytest does (``training`` is not installed).

    Done here rather than at import: MkDocs takes its own entry off ``sys.path`` after loading a hook.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return config


def on_page_markdown(markdown: str, **_: object) -> str:
    """MkDocs event: fill the page's generated blocks."""
    return render(markdown)

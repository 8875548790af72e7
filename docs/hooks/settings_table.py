"""MkDocs hook: the service settings table is written from ``Settings`` itself, so the docs cannot drift from it."""

from __future__ import annotations

from typing import Any

MARKER = "<!-- service-settings -->"


def settings_table() -> str:
    """One row per ``Settings`` field: its variable, default and description, as ``flexaqa serve`` reads them."""
    from flexaqa.api.service.config import ENV_PREFIX, Settings

    rows = ["| variable | default | what it sets |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default()
        shown = "none" if default in (None, ()) else f"`{default}`"
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the marker on the page that carries it."""
    return markdown.replace(MARKER, settings_table()) if MARKER in markdown else markdown

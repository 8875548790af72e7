"""The optional parts of flexaqa and the extra that installs each, so a missing one is one line naming it.

The base install is the rules path (Turtle, SPARQL, the engine, the text report); the learned scorer, the
service and video decoding each need an extra (``pip install 'flexaqa[model]'``), checked by
:func:`require` where the part starts, before anything is imported from it.
"""

from __future__ import annotations

from importlib.util import find_spec

EXTRAS: dict[str, tuple[str, ...]] = {
    "model": ("torch", "torch_geometric"),
    "serve": ("fastapi", "uvicorn", "multipart", "watchfiles"),
    "video": ("av",),
    "pose": ("mediapipe",),
}
"""Each extra of ``pyproject.toml`` and the modules it provides (import names)."""


class MissingExtraError(ImportError):
    """A part of flexaqa was asked for whose extra is not installed."""

    def __init__(self, what: str, extra: str, module: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs flexaqa's [{extra}] extra (no module {module!r}): "
                         f"pip install 'flexaqa[{extra}]'")


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtraError` naming ``extra`` unless every module it provides can be imported."""
    for module in EXTRAS[extra]:
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):  # a finder that refuses the name: not importable either
            found = False
        if not found:
            raise MissingExtraError(what, extra, module)

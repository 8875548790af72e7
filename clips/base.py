"""Pydantic base and shared checks for clip models: every validation failure surfaces as a ClipError."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from flexaqa.clips.errors import ClipError, from_validation_error


class ClipModel(BaseModel):
    """Frozen model whose constructor raises ClipError (named field) instead of pydantic's ValidationError."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True, extra="forbid")
    field_prefix: ClassVar[str] = "clip"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise from_validation_error(exc, self.field_prefix) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise from_validation_error(exc, cls.field_prefix) from None


def freeze(array: np.ndarray) -> np.ndarray:
    """Make ``array`` and the arrays it views read-only; for fresh results that a model will share."""
    view: object = array
    while isinstance(view, np.ndarray):
        view.flags.writeable = False
        view = view.base
    return array


def _frozen_throughout(array: np.ndarray) -> bool:
    """True when neither ``array`` nor any array it views can be written (memory owned by something else,
    such as a memory map, might still change)."""
    view: object = array
    while isinstance(view, np.ndarray):
        if view.flags.writeable:
            return False
        if view.base is None:
            return True
        view = view.base
    return False


def as_float_array(value: object, field: str, order: Literal["K", "F"] = "K") -> np.ndarray:
    """``value`` as a float64 array no one can write to through another reference: a copy (in memory
    ``order``), unless it already is a float64 array in that order that is read-only throughout (see
    :func:`freeze`), which is shared rather than copied.

    Raises a ClipError naming ``field`` when ``value`` is not numeric.
    """
    if (isinstance(value, np.ndarray) and value.dtype == np.float64 and (order == "K" or value.flags.f_contiguous)
            and _frozen_throughout(value)):
        return value
    try:
        return np.array(value, dtype=np.float64, order=order)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ClipError(field, f"not a numeric array ({exc})") from None


MAX_ABS = 1e9
"""Largest magnitude accepted in positions and samples: no unit needs more, and filters would overflow."""


def positive_number(value: object, field: str) -> float:
    """A finite float > 0 (rates, fps), or a ClipError naming ``field``."""
    if value is None:
        raise ClipError(field, "missing: give a positive number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ClipError(field, f"not a number: {value!r}") from None
    if not np.isfinite(number) or number <= 0:
        raise ClipError(field, f"must be a finite number > 0, got {number}")
    return number


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def check_finite(data: np.ndarray, field: str, allow_nan: bool) -> None:
    """Reject inf always, NaN unless allowed, and magnitudes beyond MAX_ABS; name the first bad index."""
    if data.size == 0:
        return
    # Two cheap reductions settle the common, clean case; NaN poisons min/max, fmin/fmax skip it.
    if allow_nan:
        low, high = np.fmin.reduce(data, axis=None), np.fmax.reduce(data, axis=None)
    else:
        low, high = data.min(), data.max()
    if -MAX_ABS <= low and high <= MAX_ABS:
        return
    if np.isinf(data).any():
        raise ClipError(field, f"contains inf at index {_first(np.isinf(data))}")
    if not allow_nan and np.isnan(data).any():
        raise ClipError(field, f"contains NaN at index {_first(np.isnan(data))}")
    with np.errstate(invalid="ignore"):
        too_big = np.abs(data) > MAX_ABS
    if too_big.any():
        raise ClipError(field, f"magnitude above {MAX_ABS:g} at index {_first(too_big)}")


NPY_SIGNATURE = b"\x93NUMPY"
NPZ_SIGNATURE = b"PK\x03\x04"  # an .npz is a zip archive of .npy members


def require_signature(path: str | Path, signature: bytes, kind: str, field: str) -> None:
    """Refuse a file that does not start as ``kind`` does, naming what it is not: without this check numpy
    reads unknown bytes as a pickle and answers with advice on unpickling."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(signature))
    except OSError as exc:
        raise ClipError(field, f"cannot read {path}: {exc.strerror or exc}") from None
    if head != signature:
        raise ClipError(field, f"{path} is not {kind} (it does not start with the format's signature)")

"""The training-label format of a labelled dataset in the FLEX layout (``labels.json`` beside the data).

``flexaqa synth`` writes it, ``flexaqa eval detectors`` and the models read it. :func:`read_labels` and
:func:`write_labels` are the one place the file is read and written, so a damaged or outdated file is
reported the same way everywhere: one :class:`~clips.errors.ClipError` naming the file and the problem.
Times in ``repetition`` are frame indices; times in ``key_steps`` and ``time_span`` are seconds from the
first frame.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flexaqa.clips.errors import ClipError

LABELS_FILE = "labels.json"
FORMAT_VERSION = 1
"""Bumped whenever a field changes meaning or is removed; readers refuse other versions."""

Span = tuple[float, float]


class _Model(BaseModel):
    """Label records are immutable and refuse unknown fields, so a misspelt key in an edited file is caught."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Repetition(_Model):
    """Where the movement starts, turns and ends, in frames; key steps are cut from these."""

    start: int = Field(ge=0, description="first frame of the first moving phase (the preparation ends here)")
    turn: int = Field(ge=0, description="frame of the turning point between the two moving phases")
    end: int = Field(ge=0, description="frame where the second moving phase ends (exclusive)")

    @model_validator(mode="after")
    def _ordered(self) -> Repetition:
        if not self.start <= self.turn <= self.end:
            raise ValueError(f"needs start <= turn <= end, got {self.start}, {self.turn}, {self.end}")
        return self


class InjectedError(_Model):
    """One error the repetition carries: the penalty rule it breaks and where."""

    rule: str = Field(description="penalty rule id (action_keystep_errortype), as in the Turtle rule files")
    error_type: str = Field(description="error type id (ETxxx) of the rule")
    key_step: str = Field(description="key step id (AKxx) the rule watches")
    time_span: Span = Field(description="seconds (start, end) of that key step in this repetition")


class LabelledRep(_Model):
    """One repetition of one action, with its timeline, its errors and the score they give."""

    action: str = Field(pattern=r"^A\d{2}$", description="action id (Axx)")
    index: int = Field(ge=1, description="sample number within the action (the FLEX folder ``%03d``)")
    frames: int = Field(ge=1, description="skeleton frames in the sample")
    repetition: Repetition = Field(description="frames where the movement starts, turns and ends")
    key_steps: dict[str, Span] = Field(description="key step id -> seconds (start, end) in this repetition")
    errors: list[InjectedError] = Field(description="every error present (empty: correct form)")
    score: float = Field(ge=0, le=100, description="S = (1 - W_observed / W_max) * 100 for these errors")

    @model_validator(mode="after")
    def _errors_in_known_key_steps(self) -> LabelledRep:
        unknown = sorted({e.key_step for e in self.errors} - set(self.key_steps))
        if unknown:
            raise ValueError(f"errors in key steps without a time span: {', '.join(unknown)}")
        return self


class LabelSet(_Model):
    """All labels of one dataset, and what they were made with."""

    format_version: int = Field(description=f"version of this format (this flexaqa writes {FORMAT_VERSION})")
    kg_version: str = Field(description="version hash of the knowledge graph whose rules labelled the data")
    fps: float = Field(gt=0, description="skeleton frame rate in Hz")
    emg_rate: float = Field(gt=0, description="sEMG sampling rate in Hz")
    seed: int = Field(description="random seed the data was generated with")
    samples: list[LabelledRep] = Field(description="one entry per repetition")

    @field_validator("format_version")
    @classmethod
    def _supported_version(cls, version: int) -> int:
        if version != FORMAT_VERSION:
            raise ValueError(f"{version} is not supported; this flexaqa reads version {FORMAT_VERSION}")
        return version


def read_labels(root: str | Path) -> LabelSet:
    """The labels of the dataset under ``root``; a missing, non-JSON or invalid file is a ClipError."""
    if not Path(root).is_dir():
        raise ClipError(str(root), "is a file, not a dataset folder" if Path(root).exists() else "no such folder")
    path = Path(root) / LABELS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ClipError(str(path), "missing; is this a folder written by flexaqa synth?") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClipError(str(path), f"cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClipError(str(path), f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    try:
        return LabelSet.model_validate(data)
    except ValidationError as exc:
        raise ClipError(str(path), _first_problem(exc)) from None


def write_labels(root: str | Path, labels: LabelSet) -> Path:
    """Write ``labels`` to ``root/labels.json`` atomically (a reader never sees half a file); return the path."""
    path = Path(root) / LABELS_FILE
    partial = path.with_name(f".{LABELS_FILE}.partial")
    partial.write_text(labels.model_dump_json(indent=1), encoding="utf-8")
    os.replace(partial, path)
    return path


def _first_problem(exc: ValidationError) -> str:
    """pydantic's first complaint as one line: where in the file, and what is wrong."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    problem = "field required" if first["type"] == "missing" else first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{where}: {problem}{more}" if where else f"{problem}{more}"

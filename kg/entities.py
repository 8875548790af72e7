"""Typed, immutable views of FKG nodes, read once per graph version for fast access by the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FKGChoice(str, Enum):
    """A fixed FKG individual the engine implements, named and valued by its local name (``LessThan``).

    A ``str`` so a member compares, hashes and prints as the Turtle name; an enum so that an individual
    declared in Turtle but unknown to the engine is rejected when the graph loads, never skipped later.
    """

    def __str__(self) -> str:
        return self.value


class Statistic(FKGChoice):
    """How a detector reduces its feature over the key step (``fkg:Statistic``)."""

    EachFrame = "EachFrame"
    Minimum = "Minimum"
    Maximum = "Maximum"
    Range = "Range"
    RiseFromStart = "RiseFromStart"


class Comparator(FKGChoice):
    """How a detector compares the reduced feature with its threshold (``fkg:Comparator``)."""

    LessThan = "LessThan"
    GreaterThan = "GreaterThan"


class SideSelection(FKGChoice):
    """Which side a detector on unsided joints reads (``fkg:SideSelection``)."""

    EitherSide = "EitherSide"
    LeadingSide = "LeadingSide"


class MotionQuantity(FKGChoice):
    """What a fault motion changes besides a body degree of freedom (``fkg:MotionQuantity``)."""

    FirstHalfDuration = "FirstHalfDuration"
    SecondHalfDuration = "SecondHalfDuration"
    MuscleGain = "MuscleGain"
    MuscleOnsetDelay = "MuscleOnsetDelay"


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where a node is defined, so every point lost can be traced to a line of Turtle."""

    file: str
    line: int | None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


def in_language(texts: dict[str, str], lang: str, default: str = "") -> str:
    """The text in ``lang``; English where the graph lacks it (not every label is translated), else
    ``default``."""
    return texts.get(lang) or texts.get("en") or default


@dataclass(frozen=True, slots=True)
class Feedback:
    """Coaching text by language tag (``{"en": ..., "zh": ...}``)."""

    cue: dict[str, str]
    explanation: dict[str, str]

    def text(self, lang: str) -> tuple[str, str]:
        """Cue and explanation in ``lang``, falling back to English."""
        return in_language(self.cue, lang), in_language(self.explanation, lang)


@dataclass(frozen=True, slots=True)
class KeyStep:
    id: str
    label: dict[str, str]
    phase: str
    phase_order: int
    order_in_phase: int
    source: SourceLocation


@dataclass(frozen=True, slots=True)
class ErrorType:
    id: str
    label: dict[str, str]
    severity_class: str
    min_weight: float
    max_weight: float
    feedback: Feedback
    source: SourceLocation


@dataclass(frozen=True, slots=True)
class Detector:
    """A declarative criterion: ``statistic(feature(joints | muscle)) comparator threshold`` in a key step."""

    feature: str
    joints: tuple[str, ...]
    muscle: str | None
    statistic: Statistic
    comparator: Comparator
    threshold: float
    min_duration: float
    side_selection: SideSelection = SideSelection.EitherSide
    min_duration_share: float = 0.0
    """Share of the key step the criterion must hold for; the longer of this and ``min_duration`` applies."""


@dataclass(frozen=True, slots=True)
class FaultMotion:
    """How a rule's error looks in motion (``fkg:faultMotion``), so the synthetic generator can show and label
    an error no detector finds: a synthetic-body degree of freedom (``dof``, its ``fkg:dofName``; an unsided
    one such as ``arm`` means both sides) or a ``quantity`` changes by ``amount`` in the rule's key step;
    sEMG changes name their ``muscle`` and, for a gain on one side only, the ``side`` (``left``/``right``)."""

    amount: float
    dof: str | None = None
    quantity: MotionQuantity | None = None
    muscle: str | None = None
    side: str | None = None


@dataclass(frozen=True, slots=True)
class PenaltyRule:
    id: str
    action: str
    key_step: str
    error_type: str
    weight: float
    counting_mode: str
    source: SourceLocation
    detector: Detector | None = None
    fault_motion: FaultMotion | None = None


@dataclass(frozen=True, slots=True)
class EMGChannel:
    index: int
    muscle: str
    side: str


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    label: dict[str, str]
    equipment: str
    primary_muscles: tuple[str, ...]
    secondary_muscles: tuple[str, ...]
    key_steps: tuple[str, ...]
    emg_channels: tuple[EMGChannel, ...]
    first_moving_phase: str
    start_pose: dict[str, float]
    turn_pose: dict[str, float]
    source: SourceLocation
    rules: tuple[str, ...] = field(default=())

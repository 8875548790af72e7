"""What an assessment returns: the contract shared by the CLI and the service (pydantic v2).

Every point lost is traceable: an error names its rule, the rule's Turtle file and line, the key step,
the time span and the measured value against the threshold.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

FindingSource = Literal["rule", "model"]
"""Who named a finding: a rule detector from Turtle, or the learned scorer where the rule abstained."""


class ErrorFound(BaseModel):
    error_type: str = Field(description="FKG id of the error type, e.g. ET005")
    label: str
    key_step: str
    key_step_label: str
    phase: str
    rule: str = Field(description="FKG id of the penalty rule that weighs this error")
    rule_source: str = Field(description="Turtle file:line that defines the rule")
    weight: float
    probability: float = Field(ge=0, le=1)
    points_lost: float = Field(description="Score points this error costs the repetition")
    time_span: tuple[float, float] = Field(description="Seconds from the start of the clip")
    value: float | None = Field(default=None, description="Measured feature value")
    threshold: float | None = None
    comparator: str | None = None
    side: str | None = None
    source: FindingSource = "rule"


class CheckSkipped(BaseModel):
    rule: str
    error_type: str
    weight: float
    reason: str


class RepetitionReport(BaseModel):
    index: int = Field(description="1-based repetition number")
    frames: tuple[int, int]
    time_span: tuple[float, float]
    score: float = Field(ge=0, le=100)
    score_low: float = Field(ge=0, le=100)
    score_high: float = Field(ge=0, le=100)
    points_checked: float = Field(description="Share of W_max (%) examined by a detector or the model")
    points_lost_by_phase: dict[str, float]
    points_lost_by_key_step: dict[str, float]
    errors: list[ErrorFound]
    skipped: list[CheckSkipped]


class CoachingCue(BaseModel):
    error_type: str
    text: str = Field(description="The sentence to read to the lifter")
    cue: str
    explanation: str | None = None
    repetitions: list[int]
    points_lost: float = Field(description="Points this error takes off the set score (its repetitions' losses "
                               "averaged over the set, as the set score is their mean)")
    rules: list[str] = Field(description="Turtle file:line of every rule behind this cue")


class ViewReport(BaseModel):
    """How a 2D camera view was read (left out of the report for 3D skeletons, which need no guess)."""

    facing: Literal["left", "right"] | None = Field(
        default=None, description="Where the lifter faces in the picture; None when it cannot be told")
    facing_cue: Literal["toes", "face", "knees", "hands", "ears"] | None = Field(
        default=None, description="What told the facing: where the toes point, the nose ahead of the neck, the "
        "knees bending forward, the hands working in front of the shoulders, or the nose ahead of the ears "
        "(the ears ahead of the shoulders where the nose is lost)")
    facing_reason: str | None = Field(default=None, description="Why the facing could not be told")
    sides: dict[str, Literal["left", "right", "both"]] = Field(
        default_factory=dict, description="Per limb (arm, leg), the side the rules read: the one the camera "
        "sees when the other is hidden behind the body, the same for every repetition")
    min_confidence: float = Field(description="Keypoints scored below this counted as missing")
    toes_estimated: list[Literal["left", "right"]] = Field(
        default_factory=list, description="Sides whose toe tip the detector does not give and was estimated from "
        "the ankle, the facing and the shank length (used only for how far ahead it is)")
    x_scale: float = Field(default=1.0, description="Horizontal over vertical unit of the keypoints, read from "
                           "the bones' steady lengths (1 for pixels; the image's width / height when normalised)")
    x_scale_unknown: str | None = Field(
        default=None, exclude_if=lambda reason: reason is None,
        description="Why the picture's shape could not be read from normalised keypoints, and x_scale 1 was "
        "assumed (left out when it was read, or the keypoints are pixels)")


class Assessment(BaseModel):
    action: str
    action_label: str
    lang: str
    score: float = Field(ge=0, le=100, description="Mean repetition score, S = (1 - W_obs / W_max) * 100")
    score_low: float = Field(ge=0, le=100)
    score_high: float = Field(ge=0, le=100)
    w_max: float
    worst_repetition: int
    repetitions: list[RepetitionReport]
    coaching: list[CoachingCue]
    summary: str
    kg_version: str
    detectors: str = Field(description="Which detectors looked at the clip")
    timings_ms: dict[str, float]
    notes: list[str] = Field(default_factory=list, exclude_if=lambda notes: not notes,
                             description="What was assumed about the input, in the report's language (left out "
                             "when nothing was, so older readers see the report they know)")
    view: ViewReport | None = Field(default=None, exclude_if=lambda view: view is None,
                                    description="How a 2D camera view was read (left out for 3D skeletons)")

"""What a learned model tells the engine: typed findings that join the rule detectors in one penalty function."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ModelFinding(BaseModel):
    """A model's belief that one rule's error occurred in one repetition, and when.

    The engine uses it for rules whose detector abstained, so a rule is never counted twice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    repetition: int = Field(ge=1, description="1-based repetition number, as in the report")
    rule: str = Field(min_length=1, description="FKG id of the penalty rule")
    probability: float = Field(ge=0, le=1, allow_inf_nan=False, description="Probability that the error occurred")
    time_span: tuple[float, float] | None = Field(
        default=None, description="Seconds from the start of the clip where the model saw it, when it says")
    source: str = Field(default="model", min_length=1, description="Which model said so (name and checkpoint)")
    threshold: float = Field(
        default=0.5, ge=0, le=1, allow_inf_nan=False,
        description="The model's decision threshold for this rule: below it the error still costs its expected "
                    "points (probability times weight) but is not reported as found")

    @model_validator(mode="after")
    def _ordered_span(self) -> ModelFinding:
        if self.time_span is not None and not 0 <= self.time_span[0] <= self.time_span[1]:
            raise ValueError(f"time_span must run forward from 0 or later, got {self.time_span}")
        return self

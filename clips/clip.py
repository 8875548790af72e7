"""A clip: one action performed once or as a set, seen by any of skeleton, EMG and video views."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flexaqa.clips.base import ClipModel
from flexaqa.clips.emg import EMG
from flexaqa.clips.errors import ClipError
from flexaqa.clips.skeleton import Skeleton
from flexaqa.clips.video import Video


class ClipMetadata(BaseModel):
    """Who lifted what, when known."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str | None = None
    load_kg: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    side: Literal["left", "right", "both"] | None = None


class Clip(ClipModel):
    """Action id (e.g. "A16") plus at least one modality: skeleton, EMG, or video views."""

    field_prefix: ClassVar[str] = "clip"

    action: str = Field(min_length=1, pattern=r"^\S+$")
    skeleton: Skeleton | None = None
    emg: EMG | None = None
    views: tuple[Video, ...] = ()
    metadata: ClipMetadata = ClipMetadata()

    @model_validator(mode="after")
    def _has_modality(self) -> Clip:
        if self.skeleton is None and self.emg is None and not self.views:
            raise ClipError("clip", "no modality: give a skeleton, EMG, or at least one video view")
        return self

    @property
    def modalities(self) -> list[str]:
        """Names of the modalities present, in a fixed order."""
        present = {
            "skeleton": self.skeleton is not None,
            "emg": self.emg is not None,
            "video": bool(self.views),
        }
        return [name for name, ok in present.items() if ok]

"""What the report page draws, as one pydantic model serialised into the page (the page fetches nothing).

Times are seconds from the start of the clip, as in :class:`engine.report.Assessment`, so the timeline,
the skeleton and the sEMG envelopes share one clock.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from flexaqa.engine.report import Assessment


class Projection(BaseModel):
    """One 2D view of the skeleton, frame by frame: ``points[t][j] = [x, y]`` (y up), ``None`` where untracked."""

    name: str = Field(description="front, side, or image (a 2D clip, drawn as it is)")
    points: list[list[tuple[float, float] | None]]


class SkeletonView(BaseModel):
    fps: float = Field(description="Frames per second of ``points`` (the clip's, or lower when thinned)")
    joints: list[str]
    bones: list[tuple[int, int]]
    projections: list[Projection]


class Envelope(BaseModel):
    muscle: str
    side: str
    values: list[float] = Field(description="Linear envelope scaled to its own peak (0-1)")


class EmgView(BaseModel):
    rate: float = Field(description="Samples per second of every envelope")
    envelopes: list[Envelope]


class StepSpan(BaseModel):
    repetition: int
    key_step: str
    phase: str
    start: float
    end: float


class Highlight(BaseModel):
    """The joints to mark while one error of one repetition is active."""

    repetition: int
    rule: str
    start: float
    end: float
    joints: list[int] = Field(description="Indices into ``SkeletonView.joints``")


class GraphRow(BaseModel):
    """One row of the shipped ``action_graph`` query: key step -> error -> cue (error fields empty when the
    key step has no rule)."""

    keyStep: str  # the query's variable names, as /sparql answers them
    keyStepLabel: str
    phase: str
    rule: str | None = None
    error: str | None = None
    errorLabel: str | None = None
    weight: float | None = None
    cue: str | None = None


class Language(BaseModel):
    """Everything worded: the assessment, the FKG view, the muscle, phase and side names and the page's own
    words, in one language."""

    assessment: Assessment
    graph: list[GraphRow]
    muscles: dict[str, str]
    phases: dict[str, str]
    sides: dict[str, str] = Field(description="Body side names by the side's value in the data (left, right)")
    words: dict[str, str] = Field(description="The page's headings and buttons (``Page*`` messages of the graph), "
                                  "by the page's key; {placeholders} are filled in by the page")


class ReportInput(BaseModel):
    lang: str = Field(description="The language the page opens in")
    languages: dict[str, Language]
    duration: float
    skeleton: SkeletonView | None = None
    emg: EmgView | None = None
    steps: list[StepSpan]
    highlights: list[Highlight]
    rule_base: str | None = Field(default=None, description="URL prefix of the Turtle files (e.g. /rules/ when "
                                  "served); without one, rules link to the files on this machine")
    ontology_uri: str = Field(description="file: URI of the ontology folder, for links when offline")

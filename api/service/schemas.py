"""The service's contract: every request and response body, as pydantic v2 models.

``Assessment`` (engine/report.py) is shared with ``flexaqa assess --format json`` and re-exported here;
the models below are the service's own. A JSON clip is converted to :class:`clips.clip.Clip`, whose
validation (shapes, NaN, rates) raises :class:`clips.errors.ClipError` naming the field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonValue

from flexaqa.clips.clip import Clip
from flexaqa.clips.emg import EMG
from flexaqa.clips.skeleton import Skeleton
from flexaqa.engine.report import Assessment

__all__ = [
    "ActionDetail", "ActionSummary", "AssessRequest", "Assessment", "EMGIn", "ErrorTypeView", "Health",
    "KeyStepView", "Problem", "Readiness", "RejectedEditView", "RuleFile", "RuleProblem", "RuleView",
    "RuleWritten", "SkeletonIn",
]

_POINT: JsonValue = [0.0, 1.0, 0.0]


class Problem(BaseModel):
    """Why a request failed, as RFC 9457 problem details (``application/problem+json``): one shape for
    every refusal, so a client reads ``status``, ``detail`` and the extension member ``field`` alike
    whichever route refused it."""

    type: str = Field(default="about:blank", json_schema_extra={"format": "uri-reference"},
                      description="about:blank: the status and title say the kind of problem")
    title: str = Field(description="The HTTP status phrase", examples=["Unprocessable Entity"])
    status: int = Field(ge=400, le=599, description="The HTTP status code of the answer")
    detail: str = Field(description="What is wrong with this request")
    instance: str = Field(json_schema_extra={"format": "uri-reference"},
                          description="The path of the request refused")
    field: str | None = Field(default=None, description="The input at fault, e.g. skeleton.positions or query.lang")

    model_config = ConfigDict(json_schema_extra={
        "examples": [{"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
                      "detail": "frame 3 joint LeftKnee has some coordinates NaN and others not",
                      "instance": "/assess", "field": "skeleton.positions"}]})


# ---------------------------------------------------------------------- assess


class SkeletonIn(BaseModel):
    """A pose sequence on flexaqa's 21 internal joints (``clips.layouts.JOINTS`` order)."""

    model_config = ConfigDict(extra="forbid")

    positions: list[list[list[float | None]]] = Field(
        description="frames x 21 joints x 2 or 3 coordinates; null (or NaN) for every coordinate of a joint "
        "that is missing in that frame")
    fps: float = Field(description="frames per second", examples=[30])
    layout: str = Field(default="FLEX-21", description="the layout the skeleton was recorded in",
                        examples=["FLEX-21"])


class EMGIn(BaseModel):
    """Surface EMG recorded with the action's montage."""

    model_config = ConfigDict(extra="forbid")

    samples: list[list[float]] = Field(description="samples x channels")
    sampling_rate: float = Field(description="Hz", examples=[2000])
    channels: list[str] | None = Field(default=None, description="channel names, e.g. Quadriceps_left")


class AssessRequest(BaseModel):
    """One clip as JSON: an action id and a skeleton and/or sEMG."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "action": "A16",
        "skeleton": {"positions": [[_POINT] * 21, [_POINT] * 21], "fps": 30, "layout": "FLEX-21"},
        "emg": {"samples": [[0.0, 0.0], [0.01, -0.02]], "sampling_rate": 2000},
    }]})

    action: str = Field(description="FKG action id, see GET /actions", examples=["A16"])
    skeleton: SkeletonIn | None = None
    emg: EMGIn | None = None

    def to_clip(self) -> Clip:
        """The clip this request describes; raises ClipError naming the field at fault."""
        skeleton = emg = None
        if self.skeleton is not None:
            # validated from the request's lists, which become the arrays the fields hold
            skeleton = Skeleton.model_validate({"positions": self.skeleton.positions, "fps": self.skeleton.fps,
                                                "layout": self.skeleton.layout})
        if self.emg is not None:
            emg = EMG.model_validate({"samples": self.emg.samples, "sampling_rate": self.emg.sampling_rate,
                                      "channels": self.emg.channels})
        return Clip(action=self.action, skeleton=skeleton, emg=emg)


class AssessUpload(BaseModel):
    """A clip as a file upload (multipart/form-data)."""

    bundle: bytes = Field(json_schema_extra={"format": "binary"},
                          description="an .npz clip bundle, as written by clips.files.save_bundle")
    action: str | None = Field(default=None, description="FKG action id; must agree with the bundle's, if it has one")


# ---------------------------------------------------------------------- graph


class ActionSummary(BaseModel):
    id: str = Field(examples=["A16"])
    label: str = Field(examples=["Barbell back squat"])
    equipment: str = Field(examples=["Barbell"])


class KeyStepView(BaseModel):
    id: str = Field(examples=["AK44"])
    label: str
    phase: Literal["Preparation", "Eccentric", "Concentric"] | str


class RuleView(BaseModel):
    id: str = Field(description="FKG id of the penalty rule")
    key_step: str
    error_type: str
    error_label: str
    cue: str = Field(description="What a coach says when this error is seen")
    weight: float = Field(description="Points of W_max this rule can cost")
    source: str = Field(description="Turtle file:line that defines the rule")
    detector: bool = Field(description="Whether the rule carries a detector the engine evaluates")


class ActionDetail(ActionSummary):
    primary_muscles: list[str]
    secondary_muscles: list[str]
    w_max: float = Field(description="Sum of the weights of all rules: the score's denominator")
    key_steps: list[KeyStepView] = Field(description="In the order they are performed")
    rules: list[RuleView]
    source: str


class ErrorTypeView(BaseModel):
    id: str = Field(examples=["ET053"])
    label: str
    severity_class: str
    min_weight: float
    max_weight: float
    cue: str
    explanation: str
    source: str


# ---------------------------------------------------------------------- health


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class RejectedEditView(BaseModel):
    """The last edit refused since the server started: why the files and the graph in force may differ."""

    origin: Literal["write", "disk"] = Field(description="write: a PUT /rules; disk: files changed on disk")
    file: str | None = Field(description="The file edited, when known")
    message: str = Field(description="The parse or SHACL errors, each with its file:line")
    at: float = Field(description="Unix time of the refusal")


class Readiness(BaseModel):
    """What the worker serves, and what is not working: anything in ``down`` makes the answer a 503."""

    state: Literal["ready", "unready"] = "ready"
    kg_version: str = Field(description="Version (content hash) of the knowledge graph in force")
    actions: int
    rules: int
    languages: list[str]
    model_checkpoint: str | None = Field(description="The model checkpoint in use; null: none, scoring by rules alone")
    scoring: str = Field(examples=["rules, and the learned scorer where a rule's detector abstained (its errors are "
                                   "marked model)"])
    last_rejected_edit: RejectedEditView | None = None
    skipped_files: dict[str, str] = Field(default_factory=dict, description=(
        "Entries of the rules folder left out of the graph, each with why: a link out of the folder, a pipe or "
        "folder, an unreadable, non-UTF-8 or vanished file"),
        examples=[{"actions/notes.ttl": "not UTF-8 text (byte 0): not a Turtle file"}])
    down: dict[str, str] = Field(default_factory=dict, description=(
        "Each part not working (the rules folder, the file watcher) with why; while any is, disk edits are not "
        "applied and /readyz answers 503"),
        examples=[{"file watcher": "stopped by OntologyFolderError: ...; restarting in 2 s"}])
    sparql_isolation: str | None = Field(default=None, description=(
        "null: SPARQL workers run in a network namespace of their own, so no query can reach the network; "
        "otherwise why the OS refused one (the parse-based guard still refuses SERVICE)"),
        examples=[None, "the OS refused a network namespace (Operation not permitted)"])
    pid: int = Field(description="The worker process that answered (several may share the port)")


class UnreadyProblem(Readiness, Problem):
    """The 503 of ``/readyz``: a problem whose extension members are the readiness, so ``down`` is read
    alike in both answers."""


# ---------------------------------------------------------------------- rules


class RuleFile(BaseModel):
    file: str = Field(description="Path inside the ontology folder", examples=["actions/A16_barbell_back_squat.ttl"])
    etag: str = Field(description="The file's version; send it as If-Match to PUT an edit")


class RuleWritten(RuleFile):
    kg_version: str = Field(description="Version of the knowledge graph now in force")


class RuleProblem(Problem):
    """A rule edit refused: every parse or SHACL message, each starting with its file:line."""

    messages: list[str] = Field(default_factory=list)

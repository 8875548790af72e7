"""Skeleton layouts as data, and their mapping onto the project's 21 internal joints.

The internal joint order below is also how flexaqa reads the FLEX 21-joint skeleton: FLEX does not
document its joint order, so this order is the project's own reading of it (the NTU/Kinect body order
with a thorax point inserted), not a published fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
from pydantic import BaseModel, ConfigDict

from flexaqa.clips.base import as_float_array
from flexaqa.clips.errors import ClipError

JOINTS: tuple[str, ...] = (
    "pelvis", "spine", "thorax", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
)  # fmt: skip
"""Internal joints in order; ``*_foot`` is the toe tip (foot index), ``*_hand`` the middle of the hand."""

JOINT_INDEX: MappingProxyType[str, int] = MappingProxyType({name: i for i, name in enumerate(JOINTS)})

BONES = (
    ("pelvis", "spine"), ("spine", "thorax"), ("thorax", "neck"), ("neck", "head"),
    *((f"{s}_{a}", f"{s}_{b}") for s in ("left", "right") for a, b in (
        ("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "hand"), ("hip", "knee"), ("knee", "ankle"),
        ("ankle", "foot"))),
    ("thorax", "left_shoulder"), ("thorax", "right_shoulder"), ("pelvis", "left_hip"), ("pelvis", "right_hip"),
)  # fmt: skip
"""Pairs of internal joints a stick figure joins: what the report page and the synthetic views draw."""

DERIVED: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (
    ("pelvis", (("left_hip", 0.5), ("right_hip", 0.5))),
    ("thorax", (("left_shoulder", 0.5), ("right_shoulder", 0.5))),
    ("spine", (("pelvis", 0.5), ("thorax", 0.5))),
    ("neck", (("thorax", 0.75), ("head", 0.25))),
)
"""Internal joints a layout may lack, rebuilt in this order as weighted means of internal joints.

Pelvis = mid-hip and thorax = mid-shoulder are standard; spine = their midpoint; the neck sits a quarter
of the way from mid-shoulder to the head point (the nose in camera layouts), an approximation of C7.
"""


class Layout(BaseModel):
    """A keypoint layout: joint names in source order, how they give internal joints, and its axes."""

    model_config = ConfigDict(frozen=True)

    name: str
    joints: tuple[str, ...]
    to_internal: dict[str, tuple[str, ...]]
    """Internal joint -> source joints averaged to give it (one name for a direct match)."""
    dims: frozenset[int]
    flip_axes: tuple[int, ...] = ()
    """Axes negated to reach the internal frame (image y points down; internal y points up)."""
    min_confidence: float = 0.0
    """Keypoints below this confidence count as missing, on the detector's own scale (the source of each
    value is beside it in :data:`LAYOUTS`); 0 for motion-capture layouts, whose points carry no confidence."""

    @property
    def tracks_toes(self) -> bool:
        """Whether the layout gives both toe tips (internal ``*_foot``): COCO-17 and OpenPose-18 do not."""
        return all(f"{side}_foot" in self.to_internal for side in ("left", "right"))


def _identity(names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    return {name: (name,) for name in names if name in JOINT_INDEX}


_NTU_25 = (
    "spine_base", "spine_mid", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
    "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
)  # fmt: skip
_COCO_17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
_OPENPOSE_18 = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip
_OPENPOSE_25 = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip
_MEDIAPIPE_33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip

OPENPOSE_MIN_CONFIDENCE = 0.05
"""OpenPose draws every keypoint scored above 0.05 (its ``--render_threshold`` default): its part-affinity scores
are low for joints seen edge-on (side-on hips often score 0.1-0.3 and are still right), so its own cut is kept."""

LAYOUTS: MappingProxyType[str, Layout] = MappingProxyType(
    {
        layout.name: layout
        for layout in (
            Layout(name="FLEX-21", joints=JOINTS, to_internal=_identity(JOINTS), dims=frozenset({3})),
            Layout(
                name="NTU-25",
                joints=_NTU_25,
                to_internal={
                    **_identity(_NTU_25),
                    "pelvis": ("spine_base",),
                    "spine": ("spine_mid",),
                    "thorax": ("spine_shoulder",),
                },
                dims=frozenset({3}),
            ),
            Layout(
                name="COCO-17",
                joints=_COCO_17,
                to_internal={**_identity(_COCO_17), "head": ("nose",)},
                dims=frozenset({2}),
                flip_axes=(1,),
                min_confidence=0.3,  # MMPose's keypoint score threshold (kpt_thr 0.3 in its demos and visualiser)
            ),
            Layout(
                name="OpenPose-18",
                joints=_OPENPOSE_18,
                to_internal={**_identity(_OPENPOSE_18), "head": ("nose",)},
                dims=frozenset({2}),
                flip_axes=(1,),
                min_confidence=OPENPOSE_MIN_CONFIDENCE,
            ),
            Layout(
                name="OpenPose-25",
                joints=_OPENPOSE_25,
                to_internal={
                    **_identity(_OPENPOSE_25),
                    "head": ("nose",),
                    "pelvis": ("mid_hip",),
                    "left_foot": ("left_big_toe", "left_small_toe"),
                    "right_foot": ("right_big_toe", "right_small_toe"),
                },
                dims=frozenset({2}),
                flip_axes=(1,),
                min_confidence=OPENPOSE_MIN_CONFIDENCE,
            ),
            Layout(
                name="MediaPipe-33",
                joints=_MEDIAPIPE_33,
                to_internal={
                    **_identity(_MEDIAPIPE_33),
                    "head": ("nose",),
                    "left_hand": ("left_index", "left_pinky"),
                    "right_hand": ("right_index", "right_pinky"),
                    "left_foot": ("left_foot_index",),
                    "right_foot": ("right_foot_index",),
                },
                dims=frozenset({2, 3}),
                flip_axes=(1, 2),  # image y down, and z grows away from the camera
                min_confidence=0.5,  # MediaPipe's own drawing threshold (_VISIBILITY_THRESHOLD in drawing_utils)
            ),
        )
    }
)


def get_layout(name: str | Layout, field: str = "skeleton.layout") -> Layout:
    """Look a layout up by name (case-insensitive); unknown names list the known ones."""
    if isinstance(name, Layout):
        return name
    if isinstance(name, str):
        for known in LAYOUTS.values():
            if known.name.lower() == name.strip().lower():
                return known
    raise ClipError(field, f"unknown layout {name!r}; known layouts: {', '.join(LAYOUTS)}")


def is_camera(layout: str | Layout) -> bool:
    """Whether a layout is a pose detector's, whose keypoints come with a confidence each."""
    return get_layout(layout).min_confidence > 0


def map_to_internal(array: np.ndarray, layout: str | Layout) -> tuple[np.ndarray, list[str]]:
    """Map (T, J, D) keypoints in ``layout`` order to (T, 21, D) internal joints, y up.

    Returns the array (NaN where a joint is absent) and the internal joints missing in every frame.
    """
    spec = get_layout(layout)
    data = as_float_array(array, "skeleton.positions")
    if data.ndim != 3 or data.shape[1] != len(spec.joints):
        raise ClipError(
            "skeleton.positions",
            f"expected shape (frames, {len(spec.joints)}, dims) for {spec.name}, got {data.shape}",
        )
    if data.shape[2] not in spec.dims:
        allowed = "/".join(map(str, sorted(spec.dims)))
        raise ClipError(
            "skeleton.positions", f"{spec.name} has {allowed} coordinates per joint, not {data.shape[2]}"
        )
    out = _flip(_gather(data, spec), spec)
    missing = [name for i, name in enumerate(JOINTS) if np.isnan(out[:, i]).all()]
    return out, missing


EARS = ("left_ear", "right_ear")
"""Camera layouts' ear points. Not internal joints (motion capture has none, and no rule measures them): the
skeleton carries them beside its joints for one use, telling which way a 2D view's lifter faces."""


def ear_columns(layout: str | Layout) -> list[int] | None:
    """Where a layout keeps its left and right ear, or None when it has none."""
    spec = get_layout(layout)
    return [spec.joints.index(ear) for ear in EARS] if all(ear in spec.joints for ear in EARS) else None


def map_ears(array: np.ndarray, layout: str | Layout) -> np.ndarray | None:
    """(T, 2, D) left and right ear of (T, J, D) keypoint positions in ``layout`` order, flipped to y up as
    :func:`map_to_internal` flips joints; None when the layout has no ears."""
    columns = ear_columns(layout)
    if columns is None:
        return None
    return _flip(np.array(array[:, columns], dtype=float), get_layout(layout))


def map_confidence_to_internal(confidence: np.ndarray, layout: str | Layout) -> np.ndarray:
    """Map (T, J) per-joint confidences the same way as positions (means for averaged joints)."""
    spec = get_layout(layout)
    data = as_float_array(confidence, "skeleton.confidence")
    if data.ndim != 2 or data.shape[1] != len(spec.joints):
        raise ClipError(
            "skeleton.confidence",
            f"expected shape (frames, {len(spec.joints)}) for {spec.name}, got {data.shape}",
        )
    return _gather(data[:, :, None], spec)[:, :, 0]


def _flip(points: np.ndarray, spec: Layout) -> np.ndarray:
    """Negate, in place, the axes of (T, J, D) ``points`` that ``spec`` flips to reach y up; returns them."""
    for axis in spec.flip_axes:
        if axis < points.shape[2]:
            points[:, :, axis] = -points[:, :, axis]
    return points


def _gather(data: np.ndarray, spec: Layout) -> np.ndarray:
    """Pick and average source joints, then derive what is still missing (NaN propagates per frame)."""
    source = {name: i for i, name in enumerate(spec.joints)}
    out = np.full((data.shape[0], len(JOINTS), data.shape[2]), np.nan)
    for internal, names in spec.to_internal.items():
        out[:, JOINT_INDEX[internal]] = data[:, [source[n] for n in names]].mean(axis=1)
    for internal, parts in DERIVED:
        if internal not in spec.to_internal:
            out[:, JOINT_INDEX[internal]] = sum(w * out[:, JOINT_INDEX[p]] for p, w in parts)
    return out

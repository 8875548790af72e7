"""A stick-figure body: joint angles over time -> 3D positions of the 21 internal joints.

Frame: x points where the lifter faces, y up, z to the lifter's left. Angles are degrees in the body's
own frame; ``pitch`` then tilts the whole body backwards (90 = lying on the back, as on a bench).
Standing bodies keep their feet on the floor; lying bodies keep the pelvis fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexaqa.clips.layouts import JOINT_INDEX, JOINTS
from flexaqa.kg import KnowledgeGraph, ShapeViolation

DOFS = (
    "pitch", "trunk", "stance", "knee_in", "heel", "shrug",
    "l_thigh", "l_shank", "r_thigh", "r_shank",
    "l_arm", "l_arm_out", "l_fore", "l_fore_out",
    "r_arm", "r_arm_out", "r_fore", "r_fore_out",
    "neck", "protract", "twist", "l_wrist", "r_wrist",
)  # fmt: skip
"""Degrees of freedom. ``trunk``: forward lean. ``*_thigh``: forward swing from hanging. ``*_shank``: knee
ahead of the ankle. ``*_arm`` / ``*_fore``: elevation of upper arm / forearm from hanging (forward positive,
backward negative); ``*_out``: how far that elevation turns from forward (0) to sideways (90). ``stance``:
feet apart in hip widths; ``knee_in``: knees pulled toward the midline (fraction of thigh length);
``heel``: heels raised (m); ``shrug``: shoulders raised (m). ``neck``: head tipped back from the trunk's
line (deg); ``protract``: shoulders drawn forward, square to the trunk (m); ``twist``: the shoulder line
turned about the trunk's axis, left shoulder forward (deg); ``*_wrist``: the hand tipped from the forearm's
line, further in the forearm's elevation (deg). The last five (:data:`FAULT_ONLY_DOFS`) rest at 0: they
exist so that Turtle fault motions can show rounded shoulders, a cranked neck, a rotating torso and bent
wrists."""

SIDED_DOFS = ("thigh", "shank", "arm", "arm_out", "fore", "fore_out", "wrist")
"""Degrees of freedom that come in ``l_``/``r_`` pairs, by their unsided name."""
FAULT_ONLY_DOFS = ("neck", "protract", "twist", "l_wrist", "r_wrist")
"""The degrees of freedom only a declared fault motion moves: no pose, subject jitter or detector search
does, so adding them changed no existing repetition."""


def check_degrees_of_freedom(kg: KnowledgeGraph) -> list[ShapeViolation]:
    """What SHACL cannot see in a fault motion: a degree of freedom (``fkg:dofName``) this body lacks. Pass to
    ``KnowledgeGraph.load(checks=...)``."""
    known = set(DOFS) | set(SIDED_DOFS)
    return [ShapeViolation(focus=f"{rule.id}/faultMotion", path="changes", severity="Violation",
                           message=f"degree of freedom {rule.fault_motion.dof!r} is not one of the synthetic "
                           f"body's: {', '.join(sorted(known))}", file=rule.source.file, line=rule.source.line)
            for rule in kg.rules.values()
            if rule.fault_motion is not None and rule.fault_motion.dof is not None
            and rule.fault_motion.dof not in known]


@dataclass(frozen=True)
class Proportions:
    """Segment lengths in metres; a subject scales and perturbs them."""

    shank: float = 0.43
    thigh: float = 0.45
    torso: float = 0.50
    neck: float = 0.08
    head: float = 0.17
    upper_arm: float = 0.30
    forearm: float = 0.27
    hand: float = 0.08
    foot: float = 0.18
    ankle_height: float = 0.08
    hip_half_width: float = 0.09
    shoulder_half_width: float = 0.18

    def scaled(self, rng: np.random.Generator, height_scale: float, jitter: float = 0.04) -> Proportions:
        values = {k: v * height_scale * (1 + rng.normal(0, jitter)) for k, v in self.__dict__.items()}
        return Proportions(**values)


def expand(pose: dict[str, float]) -> dict[str, float]:
    """Unsided names (``thigh``) set both sides; sided names (``l_thigh``) override."""
    out = {d: 0.0 for d in DOFS}
    out["stance"] = 1.0
    for key, value in pose.items():
        if key in SIDED_DOFS:
            out[f"l_{key}"] = out[f"r_{key}"] = value
    for key, value in pose.items():
        if key not in SIDED_DOFS:
            out[key] = value
    return out


def _limb(elevation: np.ndarray, out: np.ndarray, lateral: float) -> np.ndarray:
    """Unit vectors of a limb hanging down, raised by ``elevation`` toward forward/sideways."""
    e, a = np.radians(elevation), np.radians(out)
    return np.stack([np.sin(e) * np.cos(a), -np.cos(e), np.sin(e) * np.sin(a) * lateral], axis=-1)


def positions(dofs: dict[str, np.ndarray], body: Proportions) -> np.ndarray:
    """(T, 21, 3) joint positions for per-frame DOF arrays (every DOF in :data:`DOFS` present)."""
    frames = len(dofs["trunk"])
    out = np.zeros((frames, len(JOINTS), 3))
    up = np.array([0.0, 1.0, 0.0])

    def put(name: str, value: np.ndarray) -> None:
        out[:, JOINT_INDEX[name]] = value

    trunk = np.radians(dofs["trunk"])
    trunk_dir = np.stack([np.sin(trunk), np.cos(trunk), np.zeros(frames)], axis=-1)
    chest_dir = np.stack([np.cos(trunk), -np.sin(trunk), np.zeros(frames)], axis=-1)  # forward, square to the trunk
    head = trunk - np.radians(dofs["neck"])
    head_dir = np.stack([np.sin(head), np.cos(head), np.zeros(frames)], axis=-1)
    twist = np.radians(dofs["twist"])[:, None]
    pelvis = np.zeros((frames, 3))
    thorax = pelvis + body.torso * trunk_dir
    neck = thorax + body.neck * trunk_dir
    put("pelvis", pelvis)
    put("spine", (pelvis + thorax) / 2)
    put("thorax", thorax)
    put("neck", neck)
    put("head", neck + body.head * head_dir)
    for side, lateral in (("left", 1.0), ("right", -1.0)):
        s = side[0]
        across = np.array([0.0, 0.0, lateral])
        hip = pelvis + body.hip_half_width * across
        thigh = np.radians(dofs[f"{s}_thigh"])
        knee = hip + body.thigh * np.stack([np.sin(thigh), -np.cos(thigh), np.zeros(frames)], axis=-1)
        stance = (dofs["stance"] - 1.0)[:, None] * body.hip_half_width * across
        knee = knee + stance / 2 - (dofs["knee_in"] * body.thigh)[:, None] * across
        shank = np.radians(dofs[f"{s}_shank"])
        ankle = knee + body.shank * np.stack([-np.sin(shank), -np.cos(shank), np.zeros(frames)], axis=-1)
        ankle = ankle + stance / 2 + (dofs["knee_in"] * body.thigh)[:, None] * across
        foot = ankle + body.foot * np.array([1.0, 0.0, 0.0]) - (body.ankle_height - 0.02) * up
        ankle = ankle + dofs["heel"][:, None] * up
        turned = np.cos(twist) * across + lateral * np.sin(twist) * chest_dir
        shoulder = (thorax + body.shoulder_half_width * turned + dofs["shrug"][:, None] * up
                    + dofs["protract"][:, None] * chest_dir)
        arm = _limb(dofs[f"{s}_arm"], dofs[f"{s}_arm_out"], lateral)
        fore = _limb(dofs[f"{s}_fore"], dofs[f"{s}_fore_out"], lateral)
        hand = _limb(dofs[f"{s}_fore"] + dofs[f"{s}_wrist"], dofs[f"{s}_fore_out"], lateral)
        elbow = shoulder + body.upper_arm * arm
        wrist = elbow + body.forearm * fore
        for name, value in (("hip", hip), ("knee", knee), ("ankle", ankle), ("foot", foot),
                            ("shoulder", shoulder), ("elbow", elbow), ("wrist", wrist),
                            ("hand", wrist + body.hand * hand)):
            put(f"{side}_{name}", value)
    return _place(out, dofs["pitch"])


def _place(points: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Tilt the body back by ``pitch``; stand it on the floor (feet fixed) or keep the pelvis fixed."""
    p = np.radians(pitch)[:, None, None]
    x, y, z = points[..., 0:1], points[..., 1:2], points[..., 2:3]
    tilted = np.concatenate([x * np.cos(p) - y * np.sin(p), x * np.sin(p) + y * np.cos(p), z], axis=-1)
    standing = np.abs(pitch) < 45
    feet = [JOINT_INDEX[j] for j in ("left_ankle", "right_ankle")]
    soles = [JOINT_INDEX[j] for j in ("left_foot", "right_foot")]
    shift = np.zeros((len(pitch), 1, 3))
    shift[standing, 0, 0] = -tilted[standing][:, feet, 0].mean(axis=1)
    shift[standing, 0, 1] = -tilted[standing][:, soles, 1].min(axis=1)
    shift[~standing, 0, 1] = 0.45
    return tilted + shift

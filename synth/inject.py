"""Inject an error into a synthetic repetition through the detector that finds it, or its declared motion.

For each rule with a detector, a search tries small changes of one body angle (or tempo, or sEMG
gain/onset) inside the rule's key step, and keeps the smallest change that makes the rule's own detector
fire while firing as few other rules as possible. A rule without a detector is injected through its
Turtle fault motion (``fkg:faultMotion``), as declared. Nothing here knows any exercise or error: the
Turtle detectors and fault motions define them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from flexaqa.clips.flex import EMG_RATE_HZ
from flexaqa.engine.detectors import evaluate
from flexaqa.engine.features import Recording
from flexaqa.engine.timeline import key_step_spans
from flexaqa.kg import FaultMotion, KnowledgeGraph, MotionQuantity, PenaltyRule
from flexaqa.kg.per_graph import PerGraph
from flexaqa.synth.body import DOFS, FAULT_ONLY_DOFS, SIDED_DOFS, Proportions, positions
from flexaqa.synth.emg import activation
from flexaqa.synth.motion import Rep, Tempo, animate

RAMP_S = 0.15
TURN_HOLD_S = 0.35
"""A change in a key step that meets the turning point lasts this long past it: a squat that stays shallow
stays shallow through the bottom, not just until the planned turn."""
ANGLES = (5, 10, 15, 20, 30, 40, 50, 60, 75)
STEPS = {
    "stance": (0.3, 0.6, 1.0, 1.5), "knee_in": (0.05, 0.1, 0.15, 0.2, 0.3),
    "heel": (0.02, 0.04, 0.06, 0.08), "shrug": (0.02, 0.04, 0.06, 0.08), "protract": (0.02, 0.04, 0.06, 0.08),
}
MARGIN = 1.3
"""Injected changes are this much larger than the smallest that fires the detector on the canonical
body, so that subject variation does not hide them."""
UNITS = {"stance": 0.1, "knee_in": 0.05, "heel": 0.02, "shrug": 0.02, "protract": 0.02, "tempo": 0.4,
         "emg_gain": 0.2, "emg_delay": 0.1}


@dataclass(frozen=True)
class Knob:
    """One change to a repetition: a body angle (``dof``; ``both_<dof>`` for both sides of a sided one),
    ``tempo_first``/``tempo_second`` (duration factor), ``emg_gain_left``/``_right``/``_both`` (factor) or
    ``emg_delay`` (seconds), by ``amount``; sEMG changes apply to ``muscle`` (default: the rule detector's)."""

    dof: str
    amount: float
    muscle: str | None = None

    @property
    def cost(self) -> float:
        base = self.dof.removeprefix("l_").removeprefix("r_")
        if self.dof.startswith("tempo"):
            return abs(np.log(self.amount)) / UNITS["tempo"]
        if self.dof.startswith("emg_gain"):
            return abs(1 - self.amount) / UNITS["emg_gain"]
        return abs(self.amount) / UNITS.get(base, UNITS.get(self.dof, 10.0))

    def scaled(self, factor: float) -> Knob:
        if self.dof.startswith("tempo") or self.dof.startswith("emg_gain"):
            return replace(self, amount=float(self.amount ** factor))
        return replace(self, amount=self.amount * factor)


def candidates() -> list[Knob]:
    knobs = []
    for dof in DOFS:
        if dof == "pitch" or dof in FAULT_ONLY_DOFS:
            continue
        base = dof[2:] if dof[:2] in ("l_", "r_") else dof
        steps = STEPS.get(base, ANGLES)
        knobs += [Knob(dof, s * sign) for s in steps for sign in (1, -1)]
        if base in SIDED_DOFS and dof.startswith("l_"):
            knobs += [Knob(f"both_{base}", s * sign) for s in steps for sign in (1, -1)]
    knobs += [Knob(f"tempo_{p}", f) for p in ("first", "second") for f in (0.25, 0.4, 0.6, 1.6, 2.5, 4.0)]
    knobs += [Knob(f"emg_gain_{s}", f) for s in ("left", "right") for f in (0.7, 0.5, 0.3)]
    knobs += [Knob("emg_delay", d) for d in (0.1, 0.2, 0.3, 0.5)]
    return knobs


def apply(kg: KnowledgeGraph, action: str, rep: Rep, rule: PenaltyRule, knob: Knob,
          tempo: Tempo) -> tuple[Rep, dict, dict]:
    """The repetition with ``knob`` applied inside ``rule``'s key step; sEMG gains and delays returned."""
    gains: dict[tuple[str, str], float] = {}
    delays: dict[str, float] = {}
    muscle = knob.muscle or (rule.detector.muscle if rule.detector else None)
    if knob.dof.startswith("tempo"):
        first, second = (knob.amount, 1.0) if knob.dof == "tempo_first" else (1.0, knob.amount)
        return animate(kg.action(action), rep.fps, tempo.scaled(first, second), rep.jitter), gains, delays
    if knob.dof.startswith("emg_gain") or knob.dof == "emg_delay":
        if muscle is None:  # neither the knob nor the rule's detector names a muscle: no channel changes
            return rep, gains, delays
        if knob.dof == "emg_delay":
            delays[muscle] = knob.amount
        else:
            side = knob.dof.rsplit("_", 1)[1]
            for s in ("left", "right") if side == "both" else (side,):
                gains[(muscle, s)] = knob.amount
        return rep, gains, delays
    span = key_step_spans(kg, action, rep.start, rep.turn, rep.end)[rule.key_step]
    pad = round((tempo.pause / 2 + TURN_HOLD_S) * rep.fps)  # a step that meets the turn holds through it
    start = span.start - pad if span.start == rep.turn else span.start
    stop = span.stop + pad if span.stop == rep.turn else span.stop
    window = _window(len(rep.dofs["trunk"]), start, stop, rep.fps)
    targets = [f"{s}_{knob.dof[5:]}" for s in "lr"] if knob.dof.startswith("both_") else [knob.dof]
    dofs = dict(rep.dofs)
    for d in targets:
        dofs[d] = dofs[d] + knob.amount * window
    return replace(rep, dofs=dofs), gains, delays


def _window(frames: int, start: int, stop: int, fps: float) -> np.ndarray:
    """1 over [start, stop), easing to 0 over ``RAMP_S`` on each side."""
    t = np.arange(frames)
    ramp = max(1, round(RAMP_S * fps))
    rise = np.clip((t - (start - ramp)) / ramp, 0, 1)
    fall = np.clip(((stop - 1 + ramp) - t) / ramp, 0, 1)
    w = np.minimum(rise, fall)
    return (1 - np.cos(np.pi * w)) / 2


def recording(kg: KnowledgeGraph, action: str, rep: Rep, body: Proportions, gains: dict | None = None,
              delays: dict | None = None, envelope: np.ndarray | None = None) -> Recording:
    """What the detectors see of a synthetic repetition (noise-free; the sEMG envelope taken directly,
    or ``envelope`` when the change cannot have altered it)."""
    act = kg.action(action)
    env = envelope if envelope is not None or not act.emg_channels else activation(act, rep, gains, delays)
    channels = {(c.muscle, c.side.lower()): i
                for i, c in enumerate(sorted(act.emg_channels, key=lambda c: c.index))}
    return Recording(positions=positions(rep.dofs, body), fps=rep.fps, envelope=env,
                     emg_rate=EMG_RATE_HZ if env is not None else None, channels=channels or None)


def firing(kg: KnowledgeGraph, action: str, rep: Rep, rec: Recording, rules: list[PenaltyRule] | None = None
           ) -> set[str]:
    """Ids of the rules (default: all of the action's) whose detectors fire on a repetition."""
    spans = key_step_spans(kg, action, rep.start, rep.turn, rep.end)
    return {r.id for r in rules or kg.rules_of(action) if evaluate(r, rec, spans[r.key_step]).present}


Plan = Mapping[str, tuple[Knob | None, frozenset[str]]]
"""Rule id -> (the knob that injects its error, at the size injected; other rules that knob also fires);
``None`` when the error cannot be shown on a synthetic body."""

PLANS_KEPT = 256
"""Plans kept, the most recently used (one per graph version, action and frame rate): every action of a few
graph versions at a frame rate or two. Keying by version rather than by graph object lets an equal reloaded
graph reuse them, and a graph swapped out by a rule edit be freed."""
_plans: PerGraph[tuple[str, str, float], Plan] = PerGraph(PLANS_KEPT)


def _plan(kg: KnowledgeGraph, action: str, fps: float) -> dict[str, tuple[Knob | None, frozenset[str]]]:
    """Per rule, the change that fires its detector on the canonical body with the fewest other faults, then
    the smallest (candidates costing over twice the best found so far are not tried), made ``MARGIN`` larger;
    for a rule without a detector, its declared fault motion. Either way the other rules whose detectors the
    injected change fires on the canonical body are listed with it."""
    tempo, body = Tempo(), Proportions()
    base = animate(kg.action(action), fps, tempo)
    base_rec = recording(kg, action, base, body)
    clean = firing(kg, action, base, base_rec)
    plan: dict[str, tuple[Knob | None, frozenset[str]]] = {}
    knobs = sorted(candidates(), key=lambda k: k.cost)

    def also_fired(rule: PenaltyRule, knob: Knob) -> frozenset[str]:
        """The other faults a change shows, at the size the generator injects it."""
        rep, rec = _tried(kg, action, base, base_rec, body, rule, knob, tempo)
        return frozenset(firing(kg, action, rep, rec) - clean - {rule.id})

    for rule in kg.rules_of(action):
        if rule.detector is None:
            knob = declared_knob(rule.fault_motion) if rule.fault_motion else None
            plan[rule.id] = (knob, also_fired(rule, knob) if knob else frozenset())
            continue
        best: tuple[int, float, Knob, frozenset[str]] | None = None
        for knob in knobs:
            if best is not None and knob.cost > best[1] * 2:
                break
            is_emg = knob.dof.startswith("emg")
            if is_emg != (rule.detector.muscle is not None):
                continue
            if not firing(kg, action, *_tried(kg, action, base, base_rec, body, rule, knob, tempo), [rule]):
                continue
            extra = also_fired(rule, knob.scaled(MARGIN))
            key = (len(extra), knob.cost)
            if best is None or key < best[:2]:
                best = (len(extra), knob.cost, knob, extra)
        plan[rule.id] = (best[2].scaled(MARGIN), best[3]) if best else (None, frozenset())
    return plan


_QUANTITY_KNOBS = {MotionQuantity.FirstHalfDuration: "tempo_first", MotionQuantity.SecondHalfDuration: "tempo_second",
                   MotionQuantity.MuscleOnsetDelay: "emg_delay"}
"""The knob each declared motion quantity turns (a gain's knob also names its side)."""


def declared_knob(motion: FaultMotion) -> Knob:
    """The change a Turtle fault motion declares, as the generator applies it: an unsided name of a sided
    degree of freedom (``arm``) moves both sides."""
    if motion.quantity == MotionQuantity.MuscleGain:
        return Knob(f"emg_gain_{motion.side or 'both'}", motion.amount, motion.muscle)
    if motion.quantity is not None:
        return Knob(_QUANTITY_KNOBS[motion.quantity], motion.amount, motion.muscle)
    if motion.dof is None:
        raise ValueError("a fault motion changes a degree of freedom or a quantity, and this one names neither")
    return Knob(f"both_{motion.dof}" if motion.dof in SIDED_DOFS else motion.dof, motion.amount)


def _tried(kg: KnowledgeGraph, action: str, base: Rep, base_rec: Recording, body: Proportions,
           rule: PenaltyRule, knob: Knob, tempo: Tempo) -> tuple[Rep, Recording]:
    """A repetition with one change applied, and what the detectors see of it."""
    rep, gains, delays = apply(kg, action, base, rule, knob, tempo)
    same_emg = not (knob.dof.startswith("emg") or knob.dof.startswith("tempo"))
    return rep, recording(kg, action, rep, body, gains, delays, base_rec.envelope if same_emg else None)


def plan_for(kg: KnowledgeGraph, action: str, fps: float) -> Plan:
    """How to inject each of the action's errors (read-only). Searched once per graph version, action and
    frame rate, since the search runs every candidate change through the detectors."""
    return _plans.get((kg.version, action, fps), lambda: MappingProxyType(_plan(kg, action, fps)))


def clean_firing(kg: KnowledgeGraph, action: str, fps: float) -> set[str]:
    """Rules whose detectors fire on the clean, canonical repetition (should be none)."""
    base = animate(kg.action(action), fps, Tempo())
    return firing(kg, action, base, recording(kg, action, base, Proportions()))

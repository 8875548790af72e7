"""Write a synthetic dataset in the FLEX release layout, with its labels (``clips.labels``).

Every sample is one repetition of one action by a simulated subject (limb lengths, tempo and posture
vary), with the action's sEMG montage at the FLEX rate and optional stick-figure views. Some repetitions
carry one or two injected errors drawn from the action's rules; ``labels.json`` lists them with their
key step and time span, the key-step boundaries and the score ``S`` the penalty function gives.
Deterministic per seed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from flexaqa.clips.clip import Clip
from flexaqa.clips.emg import EMG
from flexaqa.clips.errors import ClipError
from flexaqa.clips.flex import EMG_RATE_HZ, FPS, action_number, write_sample, write_split
from flexaqa.clips.labels import FORMAT_VERSION, InjectedError, LabelledRep, LabelSet, Repetition, write_labels
from flexaqa.clips.skeleton import Skeleton
from flexaqa.clips.video import Video
from flexaqa.engine.scoring import Observation, repetition_score
from flexaqa.engine.timeline import key_step_spans
from flexaqa.kg import KnowledgeGraph
from flexaqa.synth.body import DOFS, FAULT_ONLY_DOFS, SIDED_DOFS, Proportions, positions
from flexaqa.synth.emg import activation, raw_emg
from flexaqa.synth.inject import Knob, apply, plan_for
from flexaqa.synth.motion import Rep, Tempo, animate
from flexaqa.synth.render import render_side_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """What to write: repetitions per action, the seed, the share of repetitions with injected errors, the
    number of stick-figure views, skeleton noise (metres, s.d.) and the share of samples in the test split."""

    per_action: int = 10
    seed: int = 0
    error_rate: float = 0.6
    views: int = 0
    noise_m: float = 0.004
    test_fraction: float = 0.2


def generate(kg: KnowledgeGraph, out: Path, options: Options, actions: list[str] | None = None) -> LabelSet:
    """Write the dataset under ``out`` and return its labels (also written to ``labels.json``)."""
    out = _output_folder(Path(out))
    chosen = actions or sorted(kg.actions)
    samples: list[LabelledRep] = []
    rows: dict[str, list] = {"train": [], "test": []}
    jobs = [(a, i) for a in chosen for i in range(1, options.per_action + 1)]
    for action, index in tqdm(jobs, desc="synth", unit="rep", disable=None):
        sample = _sample(kg, action, index, options, out)
        samples.append(sample)
        split = "test" if (index - 1) % round(1 / options.test_fraction) == 0 else "train"
        rows[split].append((action_number(action), index, sample.score))
    for split, split_rows in rows.items():
        write_split(out, split, split_rows)
    labels = LabelSet(format_version=FORMAT_VERSION, kg_version=kg.version, fps=FPS, emg_rate=EMG_RATE_HZ,
                      seed=options.seed, samples=samples)
    write_labels(out, labels)
    log.info("wrote %d samples to %s", len(samples), out)
    return labels


def _output_folder(out: Path) -> Path:
    """``out``, created if needed; a path that is not (and cannot become) a folder is a ClipError."""
    if out.exists() and not out.is_dir():
        raise ClipError(str(out), "exists and is not a folder; choose a folder for the dataset")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClipError(str(out), f"cannot create the folder: {exc.strerror or exc}") from None
    return out


@dataclass(frozen=True)
class SimulatedRep:
    """One simulated repetition: 3D joints, raw sEMG (or None), its timeline and its errors: those injected
    and any other rule the same body change also breaks (on the canonical body)."""

    positions: np.ndarray
    emg: np.ndarray | None
    rep: Rep
    injected: list[str]


def simulate(kg: KnowledgeGraph, action: str, rng: np.random.Generator, errors: list[str] | None = None,
             error_rate: float = 0.6, noise_m: float = 0.004) -> SimulatedRep:
    """One repetition by a random subject; ``errors`` (rule ids) are injected, or drawn at random."""
    act = kg.action(action)
    body = Proportions().scaled(rng, height_scale=rng.uniform(0.9, 1.1))
    tempo = Tempo().scaled(rng.uniform(0.8, 1.25), rng.uniform(0.8, 1.25))
    jitter = {d: float(rng.normal(0, 2.0)) for d in DOFS
              if (d.split("_")[-1] in SIDED_DOFS or d == "trunk") and d not in FAULT_ONLY_DOFS}
    rep = animate(act, FPS, tempo, jitter)
    planned = plan_for(kg, action, FPS)
    plan = {rule: knob for rule, (knob, _) in planned.items() if knob is not None}
    if errors is None:
        errors = []
        if plan and rng.random() < error_rate:
            count = min(len(plan), 1 + int(rng.random() < 0.3))
            errors = sorted(rng.choice(sorted(plan), size=count, replace=False).tolist())
    missing = [r for r in errors if r not in plan]
    if missing:
        why = {r: "no change of the synthetic body makes its detector fire" if kg.rules[r].detector is not None
               else "it has neither a detector nor a fault motion" for r in missing}
        raise ValueError("cannot inject " + "; ".join(f"{r}: {reason}" for r, reason in why.items()))
    gains: dict = {}
    delays: dict = {}
    for rule_id in sorted(errors, key=lambda r: not plan[r].dof.startswith("tempo")):  # tempo re-times
        knob: Knob = plan[rule_id]
        rep, more_gains, more_delays = apply(kg, action, rep, kg.rules[rule_id], knob, tempo)
        gains.update(more_gains)
        delays.update(more_delays)
    xyz = positions(rep.dofs, body)
    xyz = xyz + rng.normal(0, noise_m, xyz.shape)
    emg = raw_emg(activation(act, rep, gains, delays), rng) if act.emg_channels else None
    also = {extra for rule in errors for extra in planned[rule][1]}  # faults the same change also shows
    return SimulatedRep(xyz, emg, rep, sorted(set(errors) | also))


def synthetic_set(kg: KnowledgeGraph, action: str, errors_per_rep: list[list[str]], seed: int = 0) -> Clip:
    """A whole set as one clip: the repetitions of one subject back to back, with the given errors."""
    reps = [simulate(kg, action, np.random.default_rng([seed, action_number(action), i]), errs)
            for i, errs in enumerate(errors_per_rep)]
    skeleton = Skeleton(positions=np.concatenate([r.positions for r in reps]), fps=FPS)
    emg = None
    if reps[0].emg is not None:
        emg = EMG(samples=np.concatenate([r.emg for r in reps]), sampling_rate=EMG_RATE_HZ,
                  channels=_channel_names(kg, action))
    return Clip(action=action, skeleton=skeleton, emg=emg)


def _channel_names(kg: KnowledgeGraph, action: str) -> tuple[str, ...]:
    return tuple(f"{c.muscle}_{c.side.lower()}" for c in sorted(kg.action(action).emg_channels, key=lambda c: c.index))


def _sample(kg: KnowledgeGraph, action: str, index: int, options: Options, out: Path) -> LabelledRep:
    rng = np.random.default_rng([options.seed, action_number(action), index])
    sim = simulate(kg, action, rng, error_rate=options.error_rate, noise_m=options.noise_m)
    skeleton = Skeleton(positions=sim.positions, fps=FPS)
    emg = None
    if sim.emg is not None:
        emg = EMG(samples=sim.emg, sampling_rate=EMG_RATE_HZ, channels=_channel_names(kg, action))
    views = tuple(Video(frames=render_side_view(sim.positions, view_angle=angle), fps=FPS)
                  for angle in (0.0, 35.0, -35.0)[: options.views])
    write_sample(out, index, Clip(action=action, skeleton=skeleton, emg=emg, views=views))
    rep = sim.rep
    spans = key_step_spans(kg, action, rep.start, rep.turn, rep.end)
    weights = {r.id: r.weight for r in kg.rules_of(action)}
    score = repetition_score(kg.w_max(action), [Observation(w, float(r in sim.injected)) for r, w in weights.items()])
    span_of = {k: (s.start / FPS, s.stop / FPS) for k, s in spans.items()}
    return LabelledRep(
        action=action, index=index, frames=skeleton.frames,
        repetition=Repetition(start=rep.start, turn=rep.turn, end=rep.end),
        key_steps=span_of,
        errors=[InjectedError(rule=r, error_type=kg.rules[r].error_type, key_step=kg.rules[r].key_step,
                              time_span=span_of[kg.rules[r].key_step]) for r in sim.injected],
        score=round(score.expected, 4),
    )

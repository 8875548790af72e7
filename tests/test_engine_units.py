"""The engine's small parts on hand-made input: features, statistics, repetition ranges, key-step spans."""

from __future__ import annotations

import numpy as np
import pytest

from flexaqa.clips.layouts import JOINT_INDEX, JOINTS
from flexaqa.engine.coaching import rep_ranges
from flexaqa.engine.detectors import _reduce, _runs
from flexaqa.engine.features import (
    Abstain,
    Recording,
    duration,
    joint_angle,
    segment_inclination,
    vertical_offset,
    width_ratio,
)
from flexaqa.engine.timeline import PREPARATION_FRACTION, Span, key_step_spans
from flexaqa.kg import KnowledgeGraph


def _recording(frames: int = 4, **joints: tuple[float, float, float]) -> Recording:
    """A 3D recording where the named joints stand still at the given points; pelvis-thorax is 0.5 long."""
    positions = np.full((frames, len(JOINTS), 3), np.nan)
    placed = {"pelvis": (0.0, 1.0, 0.0), "thorax": (0.0, 1.5, 0.0), **joints}
    for name, point in placed.items():
        positions[:, JOINT_INDEX[name]] = point
    return Recording(positions=positions, fps=10.0)


def test_joint_angle_is_the_angle_at_the_middle_joint() -> None:
    rec = _recording(left_hip=(0, 1, 0), left_knee=(0, 0.5, 0), left_ankle=(0.5, 0.5, 0))
    assert joint_angle(rec, ("left_hip", "left_knee", "left_ankle"), slice(None)) == pytest.approx([90.0] * 4)


def test_segment_inclination_is_measured_from_vertical() -> None:
    rec = _recording(left_shoulder=(0.3, 1.5, 0), left_elbow=(0.3, 1.2, 0), left_wrist=(0.6, 1.2, 0))
    assert segment_inclination(rec, ("pelvis", "thorax"), slice(None)) == pytest.approx([0.0] * 4)
    assert segment_inclination(rec, ("left_elbow", "left_wrist"), slice(None)) == pytest.approx([90.0] * 4)


def test_vertical_offset_is_in_torso_lengths() -> None:
    rec = _recording(left_hip=(0, 1.0, 0), left_knee=(0, 0.9, 0))
    assert vertical_offset(rec, ("left_hip", "left_knee"), slice(None)) == pytest.approx([0.2] * 4)


def test_width_ratio_compares_two_pairs_across_the_body() -> None:
    rec = _recording(left_knee=(-0.1, 0.5, 0), right_knee=(0.1, 0.5, 0),
                     left_ankle=(-0.2, 0.0, 0), right_ankle=(0.2, 0.0, 0))
    assert width_ratio(rec, ("knee", "ankle"), slice(None)) == pytest.approx([0.5] * 4)


def test_duration_is_the_span_in_seconds() -> None:
    assert duration(_recording(), (), slice(3, 18)) == pytest.approx(1.5)


def test_a_joint_never_tracked_abstains() -> None:
    with pytest.raises(Abstain, match="not tracked"):
        joint_angle(_recording(), ("left_hip", "left_knee", "left_ankle"), slice(None))


@pytest.mark.parametrize(("statistic", "expected"), [
    ("Minimum", 1.0), ("Maximum", 5.0), ("Range", 4.0), ("RiseFromStart", 3.0),
])
def test_statistics_reduce_a_key_step(statistic: str, expected: float) -> None:
    series = np.array([2.0, 2.5, 1.0, 5.0, 4.0])  # the repetition starts at 2.0; the key step is frames 2-4
    span = Span("AK01", "Eccentric", start=2, stop=5, rep_start=0)
    values = series if statistic == "RiseFromStart" else series[2:]
    assert _reduce(statistic, values, span) == pytest.approx(expected)


def test_runs_keep_only_stretches_long_enough() -> None:
    mask = np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
    assert _runs(mask, 3).tolist() == [False, False, False, True, True, True, False, False]


@pytest.mark.parametrize(("reps", "text"), [
    ([1, 3, 4, 5], "1, 3-5"), ([2], "2"), ([4, 2, 3, 3], "2-4"), ([], ""), ([1, 2, 5, 6, 8], "1-2, 5-6, 8"),
])
def test_rep_ranges_join_consecutive_repetitions(reps: list[int], text: str) -> None:
    assert rep_ranges(reps) == text


def test_key_step_spans_tile_each_phase_in_order(kg: KnowledgeGraph) -> None:
    start, turn, end = 10, 50, 100
    for action in ("A16", "A01"):  # eccentric first, concentric first
        spans = key_step_spans(kg, action, start, turn, end)
        first, second = kg.phases_of(action)[1:]
        assert set(spans) == set(kg.action(action).key_steps)
        for phase, (lo, hi) in {first: (start, turn), second: (turn, end)}.items():
            steps = [s for s in kg.key_steps_of(action) if s.phase == phase]
            assert [spans[s.id].start for s in steps][0] == lo and spans[steps[-1].id].stop == hi
            for a, b in zip(steps, steps[1:], strict=False):
                assert spans[a.id].stop == spans[b.id].start
        prep = [spans[s.id] for s in kg.key_steps_of(action) if s.phase == "Preparation"]
        assert prep[0].start == start
        assert prep[-1].stop == start + round(PREPARATION_FRACTION * (turn - start))
        assert all(s.rep_start == start for s in spans.values())


def test_a_minimum_given_as_a_share_of_the_key_step_scales_with_the_repetition(kg: KnowledgeGraph) -> None:
    from flexaqa.engine.detectors import _frames_needed

    shrug_head = kg.rules["A06_AK15_ET020"].detector  # holds through a third of the rise, in Turtle
    rec = Recording(positions=np.zeros((90, len(JOINTS), 3)), fps=30.0)
    assert shrug_head.min_duration_share == pytest.approx(0.33) and shrug_head.min_duration == 0
    assert [_frames_needed(shrug_head, rec, frames) for frames in (9, 30, 90)] == [3, 10, 30]
    in_seconds = kg.rules["A03_AK07_ET004"].detector  # 0.1 s, however long the raise
    assert [_frames_needed(in_seconds, rec, frames) for frames in (9, 30, 90)] == [3, 3, 3]


def test_a_toe_dropout_in_a_3d_recording_abstains_instead_of_being_estimated(kg: KnowledgeGraph) -> None:
    """A 3D toe marker lost for the second repetition: the 2D toe estimate is not for it (it would add a 2D
    offset to a 3D ankle); the rules reading that toe abstain there and the set is still assessed."""
    from flexaqa.clips.clip import Clip
    from flexaqa.engine.assess import assess
    from flexaqa.synth.generate import synthetic_set

    clip = synthetic_set(kg, "A08", [[], []], seed=4)
    positions = np.array(clip.skeleton.positions)
    positions[positions.shape[0] // 2:, JOINT_INDEX["left_foot"]] = np.nan
    report = assess(kg, Clip(action="A08", skeleton=clip.skeleton.replace(positions=positions)))
    assert len(report.repetitions) == 2 and report.view is None
    rec = Recording(positions=positions, fps=clip.skeleton.fps)
    assert rec.estimated_toes == ()
    with pytest.raises(Abstain, match="left_foot is not tracked$"):
        rec.joint("left_foot", slice(positions.shape[0] // 2, None), along_floor=True)


def test_the_view_names_the_estimated_toes_by_body_side(kg: KnowledgeGraph) -> None:
    """``toes_estimated`` holds the lifter's sides, not places in the picture."""
    from flexaqa.engine.coaching import view_notes
    from flexaqa.engine.report import ViewReport

    view = ViewReport(facing="right", facing_cue="knees", min_confidence=0.3, toes_estimated=["left"])
    line = view_notes(kg, view, "en")[-1]
    assert "toe tips (left side)" in line, line


def _side_view_without_toes(toes_tracked: bool | None) -> Recording:
    """A 2D side view standing still, facing +x (the nose ahead of the neck), with no toe in any frame."""
    positions = np.full((60, len(JOINTS), 2), np.nan)
    placed = {"pelvis": (0.0, 1.0), "thorax": (0.0, 1.5), "neck": (0.0, 1.6), "head": (0.1, 1.7),
              "left_knee": (0.0, 0.5), "left_ankle": (0.0, 0.1), "right_knee": (0.0, 0.5), "right_ankle": (0.0, 0.1)}
    for name, point in placed.items():
        positions[:, JOINT_INDEX[name]] = point
    return Recording(positions=positions, fps=30.0, toes_tracked=toes_tracked)


@pytest.mark.parametrize("toes_tracked", [False, None])
def test_toes_of_a_toeless_or_unknown_layout_are_estimated_ahead_of_the_ankle(toes_tracked: bool | None) -> None:
    rec = _side_view_without_toes(toes_tracked)
    assert rec.estimated_toes == ("left", "right")
    toe = rec.joint("left_foot", slice(None), along_floor=True)
    assert toe[:, 0] == pytest.approx([0.46 * 0.4] * 60)  # FOOT_REACH shank lengths ahead, the way faced


def test_toes_of_a_layout_that_tracks_them_are_not_estimated_where_they_dropped_out() -> None:
    rec = _side_view_without_toes(toes_tracked=True)
    assert rec.estimated_toes == ()
    with pytest.raises(Abstain, match="left_foot is not tracked$"):
        rec.joint("left_foot", slice(None), along_floor=True)

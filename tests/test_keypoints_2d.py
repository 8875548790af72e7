"""Phone-camera 2D keypoints as detectors write them: OpenPose frames, COCO JSON, (T, J, 3) arrays, CSVs;
each layout's confidence scale; cleaning; facing without toes; many clips in one ``flexaqa assess``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from flexaqa.clips.cleaning import clean_keypoints
from flexaqa.clips.clip import Clip
from flexaqa.clips.errors import ClipError
from flexaqa.clips.files import assumed_fps, load_clip
from flexaqa.clips.layouts import JOINT_INDEX, LAYOUTS, get_layout
from flexaqa.clips.readers import read_skeleton_csv, skeleton_from_array
from flexaqa.clips.segmentation import repetitions
from flexaqa.clips.skeleton import Skeleton
from flexaqa.engine.assess import assess
from flexaqa.kg import KnowledgeGraph
from flexaqa.synth.generate import synthetic_set


def side_view(kg: KnowledgeGraph, layout: str, action: str = "A01", reps: int = 2, seed: int = 1) -> np.ndarray:
    """A synthetic set filmed from the side as ``layout``'s detector gives it: (T, J, 3) image x, y (y down)
    and a confidence of 0.9; joints the body model lacks (eyes, ears) are missing (0, 0, 0)."""
    clip = synthetic_set(kg, action, [[] for _ in range(reps)], seed=seed)
    body = clip.skeleton.positions  # faces +x, y up: the side view keeps x and y
    spec = get_layout(layout)
    out = np.zeros((body.shape[0], len(spec.joints), 3))
    for k, joint in enumerate(spec.joints):
        name = {"nose": "head", "mid_hip": "pelvis"}.get(joint, joint)
        if joint.endswith(("_big_toe", "_small_toe", "_foot_index")):
            name = joint.split("_")[0] + "_foot"
        if name in JOINT_INDEX:
            out[:, k, 0] = 2.0 + body[:, JOINT_INDEX[name], 0]
            out[:, k, 1] = 2.0 - body[:, JOINT_INDEX[name], 1]
            out[:, k, 2] = 0.9
    return out


def write_openpose(folder: Path, frames: np.ndarray) -> None:
    """One ``*_keypoints.json`` per frame, as OpenPose's ``--write_json`` does (0, 0, 0 for a missing point)."""
    folder.mkdir()
    for i, points in enumerate(frames):
        flat = np.nan_to_num(points).reshape(-1).tolist()
        doc = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": flat}]}
        (folder / f"set_{i:012d}_keypoints.json").write_text(json.dumps(doc))


# --- reading what detectors write -------------------------------------------------------------------------


def test_an_openpose_folder_is_one_clip_of_its_frames(kg: KnowledgeGraph, tmp_path: Path) -> None:
    frames = side_view(kg, "OpenPose-18")
    write_openpose(tmp_path / "op", frames)
    clip = load_clip(tmp_path / "op", action="A01")
    assert clip.skeleton.layout == "OpenPose-18" and clip.skeleton.frames == len(frames)
    assert np.isnan(clip.skeleton.joint("left_foot")).all(), "OpenPose-18 has no toes"
    assert assumed_fps(tmp_path / "op", None) == 30.0, "an OpenPose folder carries no frame rate"


def test_openpose_body_25_is_recognised_from_the_keypoint_count(kg: KnowledgeGraph, tmp_path: Path) -> None:
    write_openpose(tmp_path / "op", side_view(kg, "OpenPose-25"))
    skeleton = load_clip(tmp_path / "op", action="A01").skeleton
    assert skeleton.layout == "OpenPose-25" and not np.isnan(skeleton.joint("left_foot")).all()


def test_openpose_zero_points_are_missing_and_the_surest_person_is_the_lifter(tmp_path: Path) -> None:
    lifter = np.tile(np.arange(1, 19, dtype=float)[:, None], (1, 3)) * [10.0, 20.0, 0.0] + [0, 0, 0.8]
    lifter[3] = 0.0  # right elbow not found
    passer_by = lifter.copy()
    passer_by[:, 2] = 0.2
    folder = tmp_path / "op"
    folder.mkdir()
    for i in range(3):
        people = [{"pose_keypoints_2d": p.reshape(-1).tolist()} for p in (passer_by, lifter)]
        (folder / f"f_{i:04d}_keypoints.json").write_text(json.dumps({"people": people}))
    skeleton = load_clip(folder, action="A01").skeleton
    assert np.isnan(skeleton.joint("right_elbow")).all()
    assert np.nanmax(skeleton.confidence) == pytest.approx(0.8)


def test_an_empty_openpose_folder_is_a_clear_error(tmp_path: Path,
                                                    flexaqa: Callable[..., object]) -> None:
    (tmp_path / "frames").mkdir()
    with pytest.raises(ClipError, match="holds no OpenPose .json frame files"):
        load_clip(tmp_path / "frames", action="A01")
    run = flexaqa("assess", str(tmp_path / "frames"), "--action", "A01")
    assert run.returncode == 1 and "no OpenPose frames" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("layout", ["COCO-17", "OpenPose-18", "MediaPipe-33"])
def test_a_t_j_3_array_is_x_y_confidence_for_camera_layouts(kg: KnowledgeGraph, tmp_path: Path, layout: str) -> None:
    np.save(tmp_path / "pose.npy", side_view(kg, layout))
    skeleton = load_clip(tmp_path / "pose.npy", action="A01", layout=layout).skeleton
    assert not skeleton.is_3d and skeleton.confidence is not None
    assert np.nanmax(skeleton.confidence) == pytest.approx(0.9)


def test_coco_results_and_dataset_json_are_read_in_image_order(kg: KnowledgeGraph, tmp_path: Path) -> None:
    frames = side_view(kg, "COCO-17")
    results = [{"image_id": i, "category_id": 1, "keypoints": f.reshape(-1).tolist(), "score": 0.9}
               for i, f in reversed(list(enumerate(frames)))]
    (tmp_path / "results.json").write_text(json.dumps(results))
    flags = frames.copy()
    flags[:, :, 2] = np.where(flags[:, :, 2] > 0, 2, 0)
    dataset = {"images": [], "annotations": [{"image_id": i, "keypoints": f.reshape(-1).tolist()}
                                             for i, f in enumerate(flags)]}
    (tmp_path / "dataset.json").write_text(json.dumps(dataset))
    read = load_clip(tmp_path / "results.json", action="A01").skeleton
    labelled = load_clip(tmp_path / "dataset.json", action="A01").skeleton
    assert read.layout == labelled.layout == "COCO-17"
    assert np.allclose(read.positions, labelled.positions, equal_nan=True)
    assert read.positions[0, JOINT_INDEX["left_wrist"], 0] == pytest.approx(frames[0, 9, 0])
    assert np.nanmax(labelled.confidence) == 1.0, "a labelled point is certain"
    assert assumed_fps(tmp_path / "results.json", None) == 30.0


def _write_csv(path: Path, header: list[str], rows: list[list[float]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_a_csv_with_a_visibility_column_is_read_with_its_confidence(tmp_path: Path) -> None:
    header = [f"{j}_{a}" for j in ("left_shoulder", "left_hip") for a in ("x", "y", "visibility")]
    path = _write_csv(tmp_path / "pose.csv", ["frame", *header], [[i, 1, 1, 0.9, 1, 2, 0.4] for i in range(5)])
    skeleton = read_skeleton_csv(path, fps=30, layout="COCO-17").skeleton
    assert skeleton.confidence[0, JOINT_INDEX["left_hip"]] == pytest.approx(0.4)


def test_a_csv_with_columns_of_another_layout_names_the_unknown_and_the_missing(tmp_path: Path) -> None:
    header = ["LShoulder_x", "LShoulder_y", "left_hip_x", "left_hip_y", "left_knee_x"]
    path = _write_csv(tmp_path / "pose.csv", header, [[1, 1, 1, 2, 3]] * 3)
    with pytest.raises(ClipError) as caught:
        read_skeleton_csv(path, fps=30, layout="COCO-17")
    message = str(caught.value)
    assert "unknown column(s) LShoulder_x, LShoulder_y" in message
    assert "missing column(s) left_knee_y" in message


def test_a_csv_with_no_layout_column_lists_what_the_layout_needs(tmp_path: Path,
                                                                 flexaqa: Callable[..., object]) -> None:
    path = _write_csv(tmp_path / "pose.csv", ["a", "b"], [[1, 2]] * 3)
    run = flexaqa("assess", str(path), "--action", "A01", "--layout", "COCO-17")
    assert run.returncode == 1 and "unknown column(s) a, b" in run.stderr and "nose_x" in run.stderr


def test_a_confidence_outside_0_1_is_refused_with_its_row_and_column(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "pose.csv", ["nose_x", "nose_y", "nose_score"], [[1, 1, 0.5], [1, 1, 87.0]])
    with pytest.raises(ClipError, match=r"row 3 column 'nose_score': confidence 87 is outside \[0, 1\]"):
        read_skeleton_csv(path, fps=30, layout="COCO-17")


# --- the detector's own confidence scale ------------------------------------------------------------------


def test_each_camera_layout_has_its_detectors_confidence_cut() -> None:
    cuts = {name: spec.min_confidence for name, spec in LAYOUTS.items()}
    assert cuts["OpenPose-18"] == cuts["OpenPose-25"] == 0.05
    assert cuts["COCO-17"] == 0.3 and cuts["MediaPipe-33"] == 0.5
    assert cuts["FLEX-21"] == cuts["NTU-25"] == 0.0


def test_an_openpose_hip_at_0_2_is_kept_and_min_confidence_overrides(kg: KnowledgeGraph) -> None:
    frames = side_view(kg, "OpenPose-18")
    frames[:, [8, 11], 2] = 0.2  # side-on hips, as OpenPose scores them
    skeleton = skeleton_from_array(frames, "OpenPose-18", 30.0).skeleton
    kept = clean_keypoints(skeleton).skeleton
    assert not np.isnan(kept.joint("left_hip")).any()
    assert np.isnan(clean_keypoints(skeleton, min_confidence=0.5).skeleton.joint("left_hip")).all()
    report = assess(kg, Clip(action="A01", skeleton=skeleton), min_confidence=0.3)
    assert report.view is not None and report.view.min_confidence == 0.3


def test_keypoints_all_below_the_cut_are_a_clear_error(kg: KnowledgeGraph) -> None:
    frames = side_view(kg, "COCO-17")
    frames[:, :, 2] = 0.1
    with pytest.raises(ClipError, match="no keypoint reaches the minimum confidence 0.3 of COCO-17"):
        assess(kg, Clip(action="A01", skeleton=skeleton_from_array(frames, "COCO-17", 30.0).skeleton))


# --- cleaning ----------------------------------------------------------------------------------------------


def _skeleton(kg: KnowledgeGraph, frames: np.ndarray | None = None) -> Skeleton:
    return skeleton_from_array(side_view(kg, "COCO-17") if frames is None else frames, "COCO-17", 30.0).skeleton


def test_a_wrist_thrown_to_the_image_border_is_rejected(kg: KnowledgeGraph) -> None:
    frames = side_view(kg, "COCO-17")
    frames[40, 9, :2] = (0.0, 0.0)  # the left wrist jumps to the corner for one frame, still scored 0.9
    cleaned = clean_keypoints(_skeleton(kg, frames))
    assert cleaned.jumps_rejected >= 1
    wrist = cleaned.skeleton.joint("left_wrist")[40]
    neighbours = _skeleton(kg).joint("left_wrist")[[39, 41]].mean(axis=0)
    assert np.linalg.norm(wrist - neighbours) < 0.05, "bridged from its neighbours, not left at the border"


def test_a_short_dropout_is_bridged_and_does_not_cut_a_repetition(kg: KnowledgeGraph) -> None:
    frames = side_view(kg, "COCO-17", reps=3)
    whole = repetitions(clean_keypoints(_skeleton(kg, frames)).skeleton, None, False)
    holed = frames.copy()
    for start in (25, 95, 160):
        holed[start:start + 5] = 0.0  # the detector loses everyone for 5 frames, three times
    cleaned = clean_keypoints(_skeleton(kg, holed)).skeleton
    assert not np.isnan(cleaned.joint("left_elbow")[20:180]).any()
    assert len(repetitions(cleaned, None, False)) == len(whole) == 3


def test_the_arm_behind_the_body_is_left_out_for_the_whole_set(kg: KnowledgeGraph) -> None:
    frames = side_view(kg, "COCO-17")
    frames[:, [8, 10], 2] = 0.35  # right elbow and wrist: guessed behind the torso, above the cut
    cleaned = clean_keypoints(_skeleton(kg, frames))
    assert cleaned.sides["arm"] == "left"
    assert np.isnan(cleaned.skeleton.joint("right_elbow")).all()
    assert not np.isnan(cleaned.skeleton.joint("left_elbow")).any()


def test_smoothing_follows_the_surer_points(kg: KnowledgeGraph) -> None:
    frames = side_view(kg, "COCO-17")
    frames[30, 9, 0] += 0.02  # a small wobble at low confidence (not a jump)
    frames[30, 9, 2] = 0.31
    wobbly = _skeleton(kg, frames).joint("left_wrist")[30, 0]
    smooth = clean_keypoints(_skeleton(kg, frames)).skeleton.joint("left_wrist")[30, 0]
    truth = _skeleton(kg).joint("left_wrist")[30, 0]
    assert abs(smooth - truth) < abs(wobbly - truth)


# --- facing without toes -------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["COCO-17", "OpenPose-18"])
def test_facing_is_told_without_toes_and_the_report_says_how(kg: KnowledgeGraph, layout: str) -> None:
    skeleton = skeleton_from_array(side_view(kg, layout, action="A01"), layout, 30.0).skeleton
    report = assess(kg, Clip(action="A01", skeleton=skeleton))
    assert report.view.facing == "right" and report.view.facing_cue in ("knees", "hands")
    reasons = [s.reason for rep in report.repetitions for s in rep.skipped]
    assert not any("toe" in r or "facing" in r for r in reasons), reasons


def test_a_mirrored_view_faces_left(kg: KnowledgeGraph) -> None:
    frames = side_view(kg, "COCO-17")
    frames[:, :, 0] = 4.0 - frames[:, :, 0]
    report = assess(kg, Clip(action="A01", skeleton=_skeleton(kg, frames)))
    assert report.view.facing == "left"


def test_a_3d_report_has_no_view_section(kg: KnowledgeGraph) -> None:
    report = assess(kg, synthetic_set(kg, "A16", [[]], seed=3))
    assert report.view is None and "view" not in report.model_dump(mode="json")
    assert not report.notes, "the view notes are for 2D clips only"


def _earless_curl(kg: KnowledgeGraph, ears: bool) -> Skeleton:
    """A COCO-17 side view of a curl (faces right) with the nose, the arms and the knees lost: no cue but the
    ears is left. The ears sit 0.1 torso lengths (~5 cm) ahead of the shoulders and 0.4 above (a usual
    forward head posture; the body model has no ears)."""
    frames = side_view(kg, "COCO-17", action="A01")
    joints = get_layout("COCO-17").joints
    shoulders = frames[:, [joints.index("left_shoulder"), joints.index("right_shoulder")]].mean(axis=1)
    hips = frames[:, [joints.index("left_hip"), joints.index("right_hip")]].mean(axis=1)
    torso = np.median(np.linalg.norm(shoulders[:, :2] - hips[:, :2], axis=1))
    if ears:
        for ear in ("left_ear", "right_ear"):
            frames[:, joints.index(ear)] = shoulders + [0.1 * torso, -0.4 * torso, 0.0]  # image y points down
    for joint in ("nose", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_knee", "right_knee"):
        frames[:, joints.index(joint)] = 0.0
    return skeleton_from_array(frames, "COCO-17", 30.0).skeleton


def test_the_ears_tell_the_facing_when_the_nose_is_lost(kg: KnowledgeGraph) -> None:
    with_ears = assess(kg, Clip(action="A01", skeleton=_earless_curl(kg, ears=True)))
    assert with_ears.view.facing == "right" and with_ears.view.facing_cue == "ears"
    without = assess(kg, Clip(action="A01", skeleton=_earless_curl(kg, ears=False)))
    assert without.view.facing is None and "ears" in without.view.facing_reason


def test_the_ears_follow_the_skeleton_through_resampling_and_centring(kg: KnowledgeGraph) -> None:
    from flexaqa.clips.skeleton import centre_on_pelvis, resample

    skeleton = _earless_curl(kg, ears=True)
    assert skeleton.ears.shape == (skeleton.frames, 2, 2) and skeleton.ear_confidence.shape == (skeleton.frames, 2)
    half = resample(skeleton, skeleton.frames // 2)
    assert half.ears.shape[0] == half.frames
    centred = centre_on_pelvis(skeleton)
    offset = skeleton.ears[:, 0] - skeleton.joint("left_shoulder")
    assert np.allclose(centred.ears[:, 0] - centred.joint("left_shoulder"), offset, equal_nan=True)


@pytest.mark.parametrize(("lang", "words"), [("en", ["2D view", "faces right", "toe tips"]),
                                             ("zh", ["二维视角", "朝右", "脚尖"])])
def test_the_text_report_says_how_the_2d_view_was_read(kg: KnowledgeGraph, lang: str, words: list[str]) -> None:
    skeleton = skeleton_from_array(side_view(kg, "COCO-17", action="A08"), "COCO-17", 30.0).skeleton
    report = assess(kg, Clip(action="A08", skeleton=skeleton), lang=lang)
    assert report.view.toes_estimated == ["left", "right"]
    text = "\n".join(report.notes)
    assert all(w in text for w in words), text
    reasons = [s.reason for rep in report.repetitions for s in rep.skipped]
    assert not any("cannot be estimated" in r for r in reasons), "the toes were estimated, not abstained on"
    assert any("estimate from the ankle" in r for r in reasons), "a height at the toes says why it is skipped"


def test_normalised_keypoints_have_their_picture_shape_read_from_the_bones(kg: KnowledgeGraph) -> None:
    """x / width and y / height: a 16:9 picture squeezes x by 9/16 against y. The bones' steady lengths
    give the ratio back; pixels are square whatever the bones do."""
    from flexaqa.engine.features import Recording

    frames = side_view(kg, "COCO-17", action="A08")
    pixels = skeleton_from_array(frames, "COCO-17", 30.0).skeleton
    assert Recording(positions=np.array(pixels.positions), fps=30.0).x_scale == 1.0
    normalised = frames.copy()
    normalised[:, :, 0] /= 16.0
    normalised[:, :, 1] /= 9.0
    skeleton = skeleton_from_array(normalised, "COCO-17", 30.0).skeleton
    assert Recording(positions=np.array(skeleton.positions), fps=30.0).x_scale == pytest.approx(16 / 9, rel=0.03)


@pytest.mark.parametrize(("action", "known"), [("A04", False), ("A05", False), ("A08", True), ("A01", True)])
def test_a_picture_shape_the_bones_cannot_tell_is_unknown_not_the_search_limit(
    kg: KnowledgeGraph, action: str, known: bool
) -> None:
    """16:9 side views normalised per axis. Where the arms move out of the picture plane (A04, A05), their
    lengths change as no picture shape explains and the fit runs to the edge of the search: the ratio is
    unknown, 1 is kept and the reason given, rather than reading 2.5 for 1.78."""
    from flexaqa.engine.camera import ASPECT_RANGE
    from flexaqa.engine.features import Recording

    frames = side_view(kg, "COCO-17", action=action)
    frames[:, :, 0] /= 16.0
    frames[:, :, 1] /= 9.0
    rec = Recording(positions=np.array(skeleton_from_array(frames, "COCO-17", 30.0).skeleton.positions), fps=30.0)
    assert rec.x_scale < ASPECT_RANGE / 1.01
    if known:
        assert rec.x_scale == pytest.approx(16 / 9, rel=0.03) and rec.x_scale_unknown is None
    else:
        assert rec.x_scale == 1.0 and "picture plane" in rec.x_scale_unknown


def _far_leg_lost(kg: KnowledgeGraph, layout: str) -> Skeleton:
    """A lunge side view in ``layout`` whose right (far) leg the detector scores under every cut."""
    frames = side_view(kg, layout, action="A08")
    joints = get_layout(layout).joints
    for k, joint in enumerate(joints):
        if joint.startswith("right_") and joint.endswith(("knee", "ankle", "heel", "foot_index")):
            frames[:, k, 2] = 0.01
    return skeleton_from_array(frames, layout, 30.0).skeleton


def test_toes_are_estimated_only_where_the_layout_has_none_and_the_ankle_is_seen(kg: KnowledgeGraph) -> None:
    """MediaPipe tracks toes: a far leg lost is not a toe to place. COCO-17 has none: the near toe is placed,
    the hidden leg's is not (its ankle is gone too)."""
    mediapipe = assess(kg, Clip(action="A08", skeleton=_far_leg_lost(kg, "MediaPipe-33")))
    assert mediapipe.view.sides["leg"] == "left" and mediapipe.view.toes_estimated == []
    assert not any("toe tips" in note for note in mediapipe.notes), mediapipe.notes
    coco = assess(kg, Clip(action="A08", skeleton=_far_leg_lost(kg, "COCO-17")))
    assert coco.view.sides["leg"] == "left" and coco.view.toes_estimated == ["left"]


def test_a_layout_with_toes_whose_toes_dropped_out_abstains_and_a_toeless_one_estimates(kg: KnowledgeGraph) -> None:
    """The layout, not the data, says whether a toe is missing by design: MediaPipe's toes scored under the cut
    in every frame are a dropout (the knee-over-toe rule abstains: toe not tracked); COCO-17's are a gap in
    the layout, estimated from the ankle."""
    frames = side_view(kg, "MediaPipe-33", action="A08")
    joints = get_layout("MediaPipe-33").joints
    for toe in ("left_foot_index", "right_foot_index"):
        frames[:, joints.index(toe), 2] = 0.01
    lost = assess(kg, Clip(action="A08", skeleton=skeleton_from_array(frames, "MediaPipe-33", 30.0).skeleton))
    assert lost.view.toes_estimated == []
    reasons = {s.rule: s.reason for rep in lost.repetitions for s in rep.skipped}
    assert reasons.get("A08_AK21_ET027", "").endswith("_foot is not tracked"), reasons
    toeless = assess(kg, Clip(action="A08", skeleton=_skeleton(kg, side_view(kg, "COCO-17", action="A08"))))
    assert toeless.view.toes_estimated == ["left", "right"]
    assert not any(s.rule == "A08_AK21_ET027" for rep in toeless.repetitions for s in rep.skipped)


# --- many clips at once ---------------------------------------------------------------------------------


def test_a_folder_of_clips_gives_one_csv_line_each_and_goes_on_past_a_bad_one(
    kg: KnowledgeGraph, tmp_path: Path, flexaqa: Callable[..., object]
) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    np.save(folder / "a.npy", side_view(kg, "COCO-17", seed=1))
    np.save(folder / "b.npy", side_view(kg, "COCO-17", seed=2))
    write_openpose(folder / "c_openpose", side_view(kg, "OpenPose-18", seed=3))
    _write_csv(folder / "d.csv", ["nose_x", "nose_y", "nose_score"], [[1, 1, 9.0]] * 3)
    run = flexaqa("assess", str(folder), "--action", "A01", "--layout", "COCO-17")
    rows = list(csv.DictReader(run.stdout.splitlines()))
    assert [Path(r["file"]).name for r in rows] == ["a.npy", "b.npy", "c_openpose", "d.csv"]
    assert all(0 <= float(r["score"]) <= 100 and r["facing"].startswith("right/") for r in rows[:3])
    assert "outside [0, 1]" in rows[3]["problem"] and run.returncode == 1
    assert "1 of 4 clip(s) could not be assessed" in run.stderr


def test_several_files_as_json_lines(kg: KnowledgeGraph, tmp_path: Path, flexaqa: Callable[..., object]) -> None:
    for seed in (1, 2):
        np.save(tmp_path / f"{seed}.npy", side_view(kg, "COCO-17", seed=seed))
    run = flexaqa("assess", str(tmp_path / "1.npy"), str(tmp_path / "2.npy"), "--action", "A01",
                  "--layout", "COCO-17", "--format", "jsonl")
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.returncode == 0 and len(lines) == 2
    assert {"score", "errors", "abstained", "problem"} <= set(lines[0]) and lines[0]["action"] == "A01"


def test_several_clips_refuse_the_one_clip_formats(kg: KnowledgeGraph, tmp_path: Path,
                                                   flexaqa: Callable[..., object]) -> None:
    for seed in (1, 2):
        np.save(tmp_path / f"{seed}.npy", side_view(kg, "COCO-17", seed=seed))
    run = flexaqa("assess", str(tmp_path), "--action", "A01", "--layout", "COCO-17", "--format", "json")
    assert run.returncode != 0 and "--format csv or jsonl" in run.stderr
    for option in ("--explain", "--trace"):
        run = flexaqa("assess", str(tmp_path), "--action", "A01", "--layout", "COCO-17", option)
        assert run.returncode != 0 and "one line per clip" in run.stderr and "Traceback" not in run.stderr


def test_a_2d_clip_is_assessed_by_default_without_importing_torch(kg: KnowledgeGraph, tmp_path: Path) -> None:
    """The shipped checkpoint was trained on 3D skeletons: its record, read without torch, says it declines a 2D
    view, so the rules answer at their own speed and stderr says why the model did not speak."""
    np.save(tmp_path / "side.npy", side_view(kg, "COCO-17"))
    probe = ("import sys; from flexaqa.api.cli import main; code = main(sys.argv[1:]); "
             "print('torch imported' if 'torch' in sys.modules else 'no torch'); sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", probe, "assess", str(tmp_path / "side.npy"), "--action", "A01",
                          "--layout", "COCO-17"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("no torch")
    assert "default.pt: it was trained on 3D skeletons only" in out.stderr

"""Assessing clips: the score follows the Turtle weights, errors trace back to rules, coaching reads well."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from clips.clip import Clip
from clips.emg import EMG, envelope
from clips.files import load_clip, save_bundle
from engine.assess import assess, recording_of, repetitions_of
from engine.synth.generate import synthetic_set
from engine.synth.inject import plan_for
from kg import KnowledgeGraph

EXAMPLE = Path(__file__).resolve().parents[1] / "api" / "examples" / "example_set.npz"



def injectable(kg: KnowledgeGraph, action: str) -> list[str]:
    return sorted(rule for rule, (knob, extra) in plan_for(kg, action, 30.0).items() if knob and not extra)


def heaviest_injectable(kg: KnowledgeGraph, action: str) -> str:
    return max(injectable(kg, action), key=lambda r: (kg.rules[r].weight, r))


def test_a_clean_set_scores_100_and_is_praised(kg: KnowledgeGraph) -> None:
    report = assess(kg, synthetic_set(kg, "A16", [[], [], []], seed=3))
    assert len(report.repetitions) == 3
    assert report.score == 100.0 and not report.coaching
    assert report.summary.startswith(kg.message("MsgClean", "en"))


def test_an_injected_error_is_found_in_its_key_step_and_traced_to_its_rule(kg: KnowledgeGraph) -> None:
    rule = kg.rules[heaviest_injectable(kg, "A16")]
    report = assess(kg, synthetic_set(kg, "A16", [[], [rule.id], []], seed=4))
    found = [e for e in report.repetitions[1].errors if e.rule == rule.id]
    assert found, f"{rule.id} not found in rep 2"
    err = found[0]
    assert (err.key_step, err.error_type, err.weight) == (rule.key_step, rule.error_type, rule.weight)
    assert err.rule_source == str(rule.source) and re.fullmatch(r"actions/A16_.*\.ttl:\d+", err.rule_source)
    start, stop = report.repetitions[1].time_span
    assert start <= err.time_span[0] <= err.time_span[1] <= stop
    assert report.repetitions[1].score == pytest.approx(100 * (1 - rule.weight / kg.w_max("A16")), abs=0.01)
    assert all(not rep.errors for i, rep in enumerate(report.repetitions) if i != 1)


def test_coaching_merges_repetitions_and_ranks_by_points_lost(kg: KnowledgeGraph) -> None:
    rule = heaviest_injectable(kg, "A16")
    report = assess(kg, synthetic_set(kg, "A16", [[], [rule], [rule], [rule]], seed=5))
    cue = next(c for c in report.coaching if c.error_type == kg.rules[rule].error_type)
    assert cue.repetitions == [2, 3, 4]
    assert cue.text.startswith("Reps 2-4: ")
    lost = [c.points_lost for c in report.coaching]
    assert lost == sorted(lost, reverse=True)


def test_coaching_is_given_in_the_language_asked(kg: KnowledgeGraph) -> None:
    rule = kg.rules[heaviest_injectable(kg, "A16")]
    report = assess(kg, synthetic_set(kg, "A16", [[rule.id]], seed=6), lang="zh", explain=True)
    cue = report.coaching[0]
    assert cue.cue == kg.error_types[rule.error_type].feedback.cue["zh"]
    assert cue.explanation == kg.error_types[rule.error_type].feedback.explanation["zh"]


def test_score_follows_a_weight_edited_in_turtle(kg: KnowledgeGraph, ontology_copy: Path, tmp_path: Path) -> None:
    rule = kg.rules[heaviest_injectable(kg, "A16")]
    clip = synthetic_set(kg, "A16", [[rule.id]], seed=8)
    before = assess(kg, clip).score
    error = kg.error_types[rule.error_type]
    new_weight = error.min_weight if rule.weight != error.min_weight else error.max_weight
    path = ontology_copy / rule.source.file
    text = path.read_text(encoding="utf-8")
    start = text.index(f"fkg:{rule.id} a fkg:PenaltyRule")
    path.write_text(text[:start] + re.sub(r"fkg:weight [\d.]+", f"fkg:weight {new_weight}", text[start:], count=1),
                    encoding="utf-8")
    edited = KnowledgeGraph.load(ontology_copy)
    w_max = kg.w_max("A16") - rule.weight + new_weight
    after = assess(edited, clip).score
    assert after == pytest.approx(100 * (1 - new_weight / w_max), abs=0.01)
    assert before == pytest.approx(100 * (1 - rule.weight / kg.w_max("A16")), abs=0.01)


def test_a_new_error_type_in_turtle_reaches_the_assessment(ontology_copy: Path, tmp_path: Path, flexaqa) -> None:
    (ontology_copy / "actions" / "A16_extra_rules.ttl").write_text('''
@prefix fkg:  <https://w3id.org/flexaqa/fkg#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

fkg:ET900 a fkg:ErrorType ; rdfs:label "Chest drops at the bottom"@en , "底部塌胸"@zh ;
    fkg:severityClass fkg:CoreStability ; fkg:feedback fkg:FB900 .
fkg:FB900 a fkg:Feedback ;
    fkg:cue "Proud chest all the way down."@en , "下蹲全程挺胸。"@zh ;
    fkg:explanation "Test explanation."@en , "测试说明。"@zh .
fkg:A16_AK46_ET900 a fkg:PenaltyRule ; fkg:action fkg:A16 ; fkg:keyStep fkg:AK46 ; fkg:errorType fkg:ET900 ;
    fkg:weight 8 ; fkg:detector [ fkg:feature fkg:SegmentInclination ; fkg:joints "pelvis thorax" ;
        fkg:comparator fkg:GreaterThan ; fkg:threshold 1 ; fkg:minDuration 0.1 ] .
''', encoding="utf-8")
    out = flexaqa("--ontology", str(ontology_copy), "assess", str(EXAMPLE))
    assert out.returncode == 0, out.stderr
    assert "Proud chest all the way down." in out.stdout
    assert "actions/A16_extra_rules.ttl:" in out.stdout


def test_cli_assesses_the_bundled_example_with_score_and_coaching(flexaqa) -> None:
    out = flexaqa("assess")
    assert out.returncode == 0, out.stderr
    assert re.search(r"Score \d+\.\d / 100", out.stdout)
    assert "Coaching, heaviest first:" in out.stdout and "rep 1:" in out.stdout


def test_cli_json_output_is_the_report_contract(flexaqa) -> None:
    from engine.report import Assessment

    out = flexaqa("assess", "--format", "json", "--lang", "zh")
    report = Assessment.model_validate_json(out.stdout)
    assert report.lang == "zh" and report.repetitions


def test_cli_rejects_a_broken_clip_with_the_field_and_no_traceback(tmp_path: Path, flexaqa) -> None:
    bad = tmp_path / "clip.npz"
    bad.write_bytes(b"not a zip")
    out = flexaqa("assess", str(bad))
    assert out.returncode == 1 and "clip.file" in out.stderr and "Traceback" not in out.stderr
    nan = tmp_path / "nan.csv"
    nan.write_text("nose_x,nose_y\n1,inf\n2,3\n", encoding="utf-8")
    out = flexaqa("assess", str(nan), "--action", "A01")
    assert out.returncode == 1 and "skeleton" in out.stderr and "Traceback" not in out.stderr


def test_bundle_round_trip(kg: KnowledgeGraph, tmp_path: Path) -> None:
    clip = synthetic_set(kg, "A01", [[]], seed=9)
    save_bundle(tmp_path / "c.npz", clip)
    back = load_clip(tmp_path / "c.npz")
    assert back.action == "A01" and back.skeleton.frames == clip.skeleton.frames
    assert back.emg.channel_names == clip.emg.channel_names


def test_cli_names_an_unknown_action_without_a_traceback(flexaqa) -> None:
    out = flexaqa("assess", "--action", "A99")
    assert out.returncode == 1 and "unknown action 'A99'" in out.stderr and "Traceback" not in out.stderr


def test_cli_rejects_emg_with_too_few_channels_for_the_montage(kg: KnowledgeGraph, tmp_path: Path, flexaqa) -> None:
    import numpy as np

    emg = tmp_path / "emg.npy"
    np.save(emg, np.zeros((4000, 2)))
    out = flexaqa("assess", str(EXAMPLE), "--emg", str(emg), "--emg-rate", "2000")
    assert out.returncode == 1 and "emg.samples" in out.stderr and "Traceback" not in out.stderr


def test_model_probabilities_fill_in_for_abstaining_detectors(kg: KnowledgeGraph) -> None:
    clip = synthetic_set(kg, "A16", [[]], seed=10)
    blind = next(r for r in kg.rules_of("A16") if r.detector is None)
    report = assess(kg, clip, model_probabilities={1: {blind.id: 0.5}})
    err = next(e for e in report.repetitions[0].errors if e.rule == blind.id)
    assert err.source == "model" and err.probability == 0.5
    assert report.score == pytest.approx(100 * (1 - 0.5 * blind.weight / kg.w_max("A16")), abs=0.01)
    with pytest.raises(ValueError, match="must lie in"):
        assess(kg, clip, model_probabilities={1: {blind.id: 1.5}})


def test_recording_carries_the_envelope_at_its_own_rate(kg: KnowledgeGraph) -> None:
    clip = synthetic_set(kg, "A16", [[], []], seed=4)
    rec = recording_of(kg, clip)
    assert rec.emg_rate == envelope(clip.emg).sampling_rate == 200
    assert rec.envelope.shape[0] == pytest.approx(clip.emg.duration * rec.emg_rate, abs=1)


def test_semg_only_repetitions_are_in_recording_samples_near_the_motion(kg: KnowledgeGraph) -> None:
    clip = synthetic_set(kg, "A16", [[], [], []], seed=4)
    by_motion = repetitions_of(kg, clip)
    by_semg = repetitions_of(kg, Clip(action="A16", emg=clip.emg))
    assert len(by_semg) == len(by_motion) == 3
    fps, rate = clip.skeleton.fps, clip.emg.sampling_rate
    for motion, semg in zip(by_motion, by_semg, strict=True):
        assert motion.start / fps - 0.7 <= semg.turn / rate <= motion.end / fps + 0.5  # the effort peaks late
        assert semg.end <= clip.emg.samples.shape[0]


def test_semg_without_clear_bursts_is_one_repetition_turning_at_its_peak_activity(kg: KnowledgeGraph) -> None:
    rate = 2000.0
    t = np.arange(int(3 * rate)) / rate
    gain = np.interp(t, [0, 2, 3], [0.8, 1.0, 0.9])  # effort peaks at 2 s, too gently to count as a burst
    sos = signal.butter(4, (50, 150), btype="bandpass", fs=rate, output="sos")
    noise = np.random.default_rng(1).normal(size=(t.size, len(kg.action("A16").emg_channels)))
    emg = EMG(samples=signal.sosfilt(sos, noise, axis=0) * gain[:, None], sampling_rate=rate)
    (rep,) = repetitions_of(kg, Clip(action="A16", emg=emg))
    assert (rep.start, rep.end) == (0, t.size)
    assert rep.turn / rate == pytest.approx(2.0, abs=0.15)

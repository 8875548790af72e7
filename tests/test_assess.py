"""Assessing clips: the score follows the Turtle weights, errors trace back to rules, coaching reads well."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import new_error_type
from scipy import signal

from flexaqa.clips.emg import EMG, envelope
from flexaqa.clips.files import load_clip, save_bundle
from flexaqa.clips.segmentation import repetitions
from flexaqa.engine.assess import assess, assess_in_languages, recording_of
from flexaqa.engine.evidence import ModelFinding
from flexaqa.kg import KnowledgeGraph
from flexaqa.synth.generate import synthetic_set
from flexaqa.synth.inject import plan_for

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
    detector = ("fkg:detector [ fkg:feature fkg:SegmentInclination ; fkg:joints ( fkg:Pelvis fkg:Thorax ) ;\n"
                "        fkg:comparator fkg:GreaterThan ; fkg:threshold 1 ; fkg:minDuration 0.1 ]")
    (ontology_copy / "actions" / "A16_extra_rules.ttl").write_text(new_error_type(detector), encoding="utf-8")
    out = flexaqa("--ontology", str(ontology_copy), "assess", str(EXAMPLE), "--trace")  # --trace: the Turtle line
    assert out.returncode == 0, out.stderr
    assert "Proud chest all the way down." in out.stdout
    assert "actions/A16_extra_rules.ttl:" in out.stdout


def test_cli_assesses_the_bundled_example_with_score_and_coaching(flexaqa) -> None:
    out = flexaqa("assess")
    assert out.returncode == 0, out.stderr
    assert re.search(r"Score \d+\.\d / 100", out.stdout)
    assert "Coaching, heaviest first:" in out.stdout and "rep 1:" in out.stdout


def test_cli_json_output_is_the_report_contract(flexaqa) -> None:
    from flexaqa.engine.report import Assessment

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


def test_model_findings_fill_in_for_abstaining_detectors(kg: KnowledgeGraph) -> None:
    clip = synthetic_set(kg, "A16", [[]], seed=10)
    blind = next(r for r in kg.rules_of("A16") if r.detector is None)
    finding = ModelFinding(repetition=1, rule=blind.id, probability=0.5, time_span=(1.0, 1.5), source="gnn-test")
    report = assess(kg, clip, model_findings=[finding])
    err = next(e for e in report.repetitions[0].errors if e.rule == blind.id)
    assert err.source == "model" and err.probability == 0.5 and err.time_span == (1.0, 1.5)
    assert report.score == pytest.approx(100 * (1 - 0.5 * blind.weight / kg.w_max("A16")), abs=0.01)
    assert "gnn-test" in report.detectors
    from flexaqa.api.cli.assess import render_text

    for lang, words in (("en", "seen by the learned model (probability 0.50), not measured by a rule"),
                        ("zh", "由学习模型判断（概率 0.50）")):
        line = next(line for line in render_text(kg, assess(kg, clip, lang=lang, model_findings=[finding])).splitlines()
                    if blind.id not in line and kg.error_types[blind.error_type].label[lang] in line)
        assert words in line, line  # the lifter is told which faults no rule measured


def test_a_model_finding_below_its_threshold_costs_its_expected_points_but_is_not_named(kg: KnowledgeGraph) -> None:
    clip = synthetic_set(kg, "A16", [[]], seed=10)
    blind = next(r for r in kg.rules_of("A16") if r.detector is None)
    finding = ModelFinding(repetition=1, rule=blind.id, probability=0.2, threshold=0.4, source="gnn-test")
    report = assess(kg, clip, model_findings=[finding])
    rep = report.repetitions[0]
    assert blind.id not in {e.rule for e in rep.errors} and blind.id not in {s.rule for s in rep.skipped}
    assert report.score == pytest.approx(100 * (1 - 0.2 * blind.weight / kg.w_max("A16")), abs=0.01)
    lost = 100 * 0.2 * blind.weight / kg.w_max("A16")
    assert rep.points_lost_by_key_step[blind.key_step] == pytest.approx(lost, abs=1e-3)


def test_model_findings_are_validated(kg: KnowledgeGraph) -> None:
    clip = synthetic_set(kg, "A16", [[]], seed=10)
    blind = next(r for r in kg.rules_of("A16") if r.detector is None)
    with pytest.raises(ValueError, match="less than or equal to 1"):
        ModelFinding(repetition=1, rule=blind.id, probability=1.5)
    with pytest.raises(ValueError, match="not a rule of this action"):
        assess(kg, clip, model_findings=[ModelFinding(repetition=1, rule="A01_AK01_ET001", probability=0.5)])
    with pytest.raises(ValueError, match="the clip has 1"):
        assess(kg, clip, model_findings=[ModelFinding(repetition=2, rule=blind.id, probability=0.5)])


def test_recording_carries_the_envelope_at_its_own_rate(kg: KnowledgeGraph) -> None:
    clip = synthetic_set(kg, "A16", [[], []], seed=4)
    rec = recording_of(kg, clip)
    assert rec.emg_rate == envelope(clip.emg).sampling_rate == 200
    assert rec.envelope.shape[0] == pytest.approx(clip.emg.duration * rec.emg_rate, abs=1)


def test_semg_only_repetitions_are_in_recording_samples_near_the_motion(kg: KnowledgeGraph) -> None:
    clip = synthetic_set(kg, "A16", [[], [], []], seed=4)
    by_motion = repetitions(clip.skeleton, clip.emg)
    by_semg = repetitions(None, clip.emg)
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
    (rep,) = repetitions(None, emg)
    assert (rep.start, rep.end) == (0, t.size)
    assert rep.turn / rate == pytest.approx(2.0, abs=0.15)


def test_the_bundled_example_reports_what_it_reported_before_the_seams_moved(flexaqa) -> None:
    """The rules' report of ``flexaqa assess --no-model`` is the one from before the shared layer, typed seams and
    RDF poses went in; only timings, the KG version hash and the rules' line numbers (the Turtle files grew) may
    differ."""

    def stable(report: dict) -> dict:
        report = {k: v for k, v in report.items() if k not in ("timings_ms", "kg_version")}
        text = re.sub(r"(\.ttl):\d+", r"\1", json.dumps(report, sort_keys=True))
        return json.loads(text)

    out = flexaqa("assess", "--format", "json", "--no-model")  # the rules' own report (the model adds to it)
    assert out.returncode == 0, out.stderr
    expected = json.loads((Path(__file__).parent / "data" / "example_report.json").read_text(encoding="utf-8"))
    assert stable(json.loads(out.stdout)) == stable(expected)


def test_text_report_in_chinese_prints_none_of_the_english_sentences(flexaqa) -> None:
    out = flexaqa("assess", "--lang", "zh", "--explain")
    assert out.returncode == 0, out.stderr
    words = set(re.findall(r"[A-Za-z_]+", out.stdout))
    english = {"Coaching", "Repetitions", "Score", "interval", "worst", "rep", "checked", "measured", "pts",
               "limit", "Knees", "Drive", "detector", "model", "Rep", "Reps", "of", "in", "at"}
    assert not words & english, words & english
    assert "膝关节内扣" in out.stdout and "发力站起" in out.stdout  # fault and key-step labels in Chinese


def test_text_report_speaks_to_the_lifter_and_trace_adds_the_evidence(flexaqa) -> None:
    plain = flexaqa("assess")
    assert plain.returncode == 0, plain.stderr
    for developer in ("W_max", ".ttl:", "A16_", "ET0"):
        assert developer not in plain.stdout, developer
    assert not re.search(r"\bAK\d\d\b", plain.stdout)
    assert "Drive up to standing" in plain.stdout and "% of torso length" in plain.stdout
    traced = flexaqa("assess", "--trace")
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.startswith(plain.stdout.split("\n", 2)[0])
    for developer in ("W_max", "actions/A16_barbell_back_squat.ttl:", "A16_AK47_ET032", "ET032 @ AK47", "0.588 < 0.7"):
        assert developer in traced.stdout, developer


def test_a_frame_rate_the_file_does_not_carry_is_stated_never_silently_assumed(tmp_path: Path, flexaqa) -> None:
    path = tmp_path / "squat.npy"
    np.save(path, load_clip(EXAMPLE).skeleton.positions)
    args = ("assess", str(path), "--action", "A16", "--layout", "FLEX-21")
    text, zh, data = flexaqa(*args), flexaqa(*args, "--lang", "zh"), flexaqa(*args, "--format", "json")
    assert "frame rate not in the file; assumed 30 fps — give --fps" in text.stdout, text.stderr
    assert "请用 --fps 指定" in zh.stdout
    assert json.loads(data.stdout)["notes"] == ["frame rate not in the file; assumed 30 fps — give --fps"]
    given = flexaqa(*args, "--fps", "30", "--format", "json")
    assert "notes" not in json.loads(given.stdout)  # nothing assumed: the report is the one older readers know
    assert "notes" not in json.loads(flexaqa("assess", "--format", "json").stdout)  # a bundle carries its rate


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("--fps", "1e9", "--fps: 1e+09 fps is outside the plausible range 1-1000 fps"),
    ("--fps", "0", "outside the plausible range 1-1000 fps"),
    ("--emg-rate", "5", "--emg-rate: 5 Hz is outside the plausible range 100-100000 Hz"),
    ("--emg-rate", "nan", "outside the plausible range"),
])
def test_implausible_rates_are_refused_with_the_allowed_range(flexaqa, option: str, value: str,
                                                              fragment: str) -> None:
    """A usage error, as argparse gives for every bad option (exit 2, like ``synth``'s ranges)."""
    out = flexaqa("assess", option, value)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert fragment in out.stderr.splitlines()[-1]


def test_the_shared_layer_refuses_implausible_rates_too(tmp_path: Path) -> None:
    """The service opens clips through the same function, without argparse in front of it."""
    from flexaqa.clips.errors import ClipError

    path = tmp_path / "squat.npy"
    np.save(path, load_clip(EXAMPLE).skeleton.positions)
    with pytest.raises(ClipError, match="1-1000 fps"):
        load_clip(path, action="A16", layout="FLEX-21", fps=5000.0)
    with pytest.raises(ClipError, match="100-100000 Hz"):
        load_clip(EXAMPLE, emg=path, emg_rate=10.0)


def test_assess_help_lists_what_the_readers_accept_without_typed_in_copies(flexaqa) -> None:
    from flexaqa.clips.files import VIDEO_SUFFIXES
    from flexaqa.clips.layouts import LAYOUTS

    out = flexaqa("assess", "--help")
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert all(suffix in text for suffix in VIDEO_SUFFIXES) and all(name in text for name in LAYOUTS)
    assert "1-1000 frames per second" in text and "100-100000 Hz" in text
    for option in ("--format", "--lang", "--trace", "--fps", "--emg-rate", "--explain"):
        assert re.search(rf"{option} \S+ \w|{option} \w", text), option


def test_one_assessment_in_every_language_words_what_separate_ones_say(kg: KnowledgeGraph) -> None:
    from conftest import EXAMPLE

    clip = load_clip(EXAMPLE)
    together = assess_in_languages(kg, clip, ("en", "zh"), explain=True)
    for lang in ("en", "zh"):
        alone = assess(kg, clip, lang=lang, explain=True)
        assert together[lang].model_dump(exclude={"timings_ms"}) == alone.model_dump(exclude={"timings_ms"})
    assert together["en"].coaching[0].text != together["zh"].coaching[0].text

"""The shipped learned scorer on real camera keypoints labelled frame by frame by other people. It was trained on
synthetic 3D skeletons only, and a 2D view (no depth, the lifter facing either way) lies outside what it learned:
asked to speak (``flexaqa assess`` does by default), it declines, says why, and the merged report is the rules'
own, so merging keeps the rules' balanced accuracy. Nothing here is fitted to these labels."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from test_detectors_real import CASES, as_assessed, balanced_accuracy, recording, reduced  # noqa: E402

from flexaqa.api.core import assess_clip, load_model, model_findings  # noqa: E402
from flexaqa.clips.clip import Clip  # noqa: E402
from flexaqa.clips.files import load_clip  # noqa: E402
from flexaqa.clips.readers import read_skeleton_csv, skeleton_from_array  # noqa: E402
from flexaqa.engine.detectors import frames_flagged  # noqa: E402
from flexaqa.engine.features import Recording  # noqa: E402
from flexaqa.kg import KnowledgeGraph  # noqa: E402

log = logging.getLogger(__name__)


def rules_and_merged(kg: KnowledgeGraph, name: str, clip: Clip, rec: Recording, truth: np.ndarray, rule_id: str,
                     caplog: pytest.LogCaptureFixture) -> tuple[float, float, list[int]]:
    """Balanced accuracy of ``rule_id``'s frames alone and in the report merged with the model (the rule's own
    frames where it checked, none taken from the model), and the repetitions where the rule abstained. The
    model must decline the 2D clip, say why, and leave the report as the rules make it."""
    predictor = load_model(kg)
    assert predictor is not None, "the shipped checkpoint loads on the shipped graph"
    assert predictor.record["skeletons"] == ["3D"], "trained on synthetic 3D skeletons"
    with caplog.at_level(logging.WARNING, logger="flexaqa.models.predict"):
        assert predictor.findings(kg, clip) == []
    assert "trained on 3D skeletons only" in caplog.text
    merged, alone = assess_clip(kg, clip, model_findings=model_findings(kg, clip)), assess_clip(kg, clip)
    assert merged.detectors == alone.detectors == "rule detectors from Turtle"
    assert [r.errors for r in merged.repetitions] == [r.errors for r in alone.repetitions]
    assert merged.score == alone.score
    rule_alone = frames_flagged(kg.rules[rule_id], rec, slice(0, len(truth)))
    abstained = sorted({rep.index for rep in merged.repetitions for s in rep.skipped if s.rule == rule_id})
    rules = balanced_accuracy(rule_alone, truth)
    log.info("%s: balanced accuracy rules %.3f, rules + model the same (the model declines 2D; rule abstained in "
             "repetitions %s) over %d frames", name, rules, abstained or "none", len(truth))
    return rules, rules, abstained


@pytest.mark.parametrize("case", sorted(CASES))
def test_merging_the_model_keeps_the_rules_balanced_accuracy(
    case: str, kg: KnowledgeGraph, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On MediaPipe's own keypoints, as recorded: the merge must not lower the rule's balanced accuracy."""
    file, rule_id = CASES[case]
    rec, truth = recording(shared_data / file)
    clip = load_clip(shared_data / file, action=kg.rules[rule_id].action)
    rules, both, _ = rules_and_merged(kg, case, clip, rec, truth, rule_id, caplog)
    assert both >= rules - 1e-9


def test_merging_keeps_the_lunge_rules_balanced_accuracy_on_coco_keypoints(
    kg: KnowledgeGraph, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Reduced to COCO-17 (no toes: estimated), the knee-over-toe rule is checked in every repetition; the
    merge must not lower its balanced accuracy there either."""
    file, rule_id = CASES["knee over toe in the lunge"]
    truth = np.array(read_skeleton_csv(shared_data / file, fps=30.0).labels) == "L"
    skeleton = skeleton_from_array(reduced(shared_data / file, "COCO-17", seed=0), "COCO-17", 30.0).skeleton
    clip = Clip(action=kg.rules[rule_id].action, skeleton=skeleton)
    rules, both, abstained = rules_and_merged(kg, "lunge as COCO-17", clip, as_assessed(skeleton), truth, rule_id,
                                               caplog)
    assert not abstained, "the estimated toes let the rule check every repetition"
    assert both >= rules - 1e-9

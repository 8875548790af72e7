"""Benchmark the penalty engine: detectors + scoring per repetition, and whole assessments.

Run: python bench/bench_engine.py [--repeat N]. Prints a table of medians measured in this one run.
"""

from __future__ import annotations

import argparse

from timing import median_ms  # bench/timing.py, beside this script

from flexaqa.clips.segmentation import repetitions
from flexaqa.engine.assess import assess, recording_of
from flexaqa.engine.detectors import evaluate
from flexaqa.engine.scoring import Observation, repetition_score
from flexaqa.engine.timeline import key_step_spans
from flexaqa.kg import KnowledgeGraph
from flexaqa.synth.generate import synthetic_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--action", default="A16")
    args = parser.parse_args()
    kg = KnowledgeGraph.load()
    one = synthetic_set(kg, args.action, [[]], seed=1)
    ten = synthetic_set(kg, args.action, [[] for _ in range(10)], seed=2)
    rec = recording_of(kg, one)
    rep = repetitions(one.skeleton, one.emg)[0]
    rules = kg.rules_of(args.action)
    w_max = kg.w_max(args.action)

    def detect_and_score() -> None:
        spans = key_step_spans(kg, args.action, rep.start, rep.turn, rep.end)
        findings = [evaluate(r, rec, spans[r.key_step]) for r in rules]
        repetition_score(w_max, [Observation(f.rule.weight, float(f.present), f.status != "abstained")
                                 for f in findings])

    ten_rec = recording_of(kg, ten)
    ten_reps = repetitions(ten.skeleton, ten.emg)

    def detect_and_score_set() -> None:
        for r in ten_reps:
            spans = key_step_spans(kg, args.action, r.start, r.turn, r.end)
            findings = [evaluate(rule, ten_rec, spans[rule.key_step]) for rule in rules]
            repetition_score(w_max, [Observation(f.rule.weight, float(f.present), f.status != "abstained")
                                     for f in findings])

    detectors = sum(r.detector is not None for r in rules)
    print(f"action {args.action}: {len(rules)} rules, {detectors} detectors; {len(ten_reps)} reps found in the set\n")
    print(f"{'step':52} {'median ms':>10}")
    print(f"{'detectors + scoring, one repetition':52} {median_ms(detect_and_score, args.repeat):10.2f}")
    print(f"{'detectors + scoring, 10-repetition set':52} {median_ms(detect_and_score_set, args.repeat):10.2f}")
    print(f"{'assess() one rep (sEMG filtering, segmentation, report)':52} "
          f"{median_ms(lambda: assess(kg, one), args.repeat):10.2f}")
    print(f"{'assess() 10-repetition set':52} {median_ms(lambda: assess(kg, ten), max(5, args.repeat // 5)):10.2f}")


if __name__ == "__main__":
    main()

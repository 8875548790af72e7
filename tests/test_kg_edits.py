"""Editing Turtle: broken files are rejected with file and line, and the graph in force stays."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flexaqa.kg import LiveGraph, ShapeViolationError, TurtleSyntaxError


def squat_file(root: Path) -> Path:
    return next((root / "actions").glob("A16_*.ttl"))


def first_rule(text: str) -> re.Match[str]:
    return re.search(r"^fkg:(A16_AK\d+_ET\d+) a fkg:PenaltyRule", text, re.MULTILINE)


def test_syntax_error_is_reported_with_file_and_line_and_graph_stays(ontology_copy: Path) -> None:
    live = LiveGraph(ontology_copy)
    before = live.current
    path = squat_file(ontology_copy)
    lines = path.read_text(encoding="utf-8").splitlines()
    broken_line = len(lines) + 2
    path.write_text("\n".join(lines) + "\n\nfkg:Broken fkg:weight \"unterminated .\n", encoding="utf-8")
    with pytest.raises(TurtleSyntaxError) as err:
        live.reload()
    assert err.value.file == f"actions/{path.name}"
    assert err.value.line == broken_line
    assert f"actions/{path.name}:{broken_line}:" in str(err.value)
    assert live.current is before


def test_weight_outside_its_class_range_names_the_rule_and_weight(ontology_copy: Path) -> None:
    live = LiveGraph(ontology_copy)
    before = live.current
    path = squat_file(ontology_copy)
    text = path.read_text(encoding="utf-8")
    rule = first_rule(text).group(1)
    block_start = text.index(f"fkg:{rule} a fkg:PenaltyRule")
    edited = text[:block_start] + re.sub(r"fkg:weight [\d.]+", "fkg:weight 42", text[block_start:], count=1)
    rel = f"actions/{path.name}"
    with pytest.raises(ShapeViolationError) as err:
        live.write(rel, edited)
    hit = [v for v in err.value.violations if v.focus == rule and v.path == "weight"]
    assert hit and "42" in hit[0].message and hit[0].file == rel and hit[0].line is not None
    assert live.current is before
    assert path.read_text(encoding="utf-8") == text, "a rejected edit is not written"


def test_error_without_feedback_is_rejected(ontology_copy: Path) -> None:
    live = LiveGraph(ontology_copy)
    path = ontology_copy / "errors.ttl"
    text = path.read_text(encoding="utf-8")
    edited = text.replace("fkg:feedback fkg:FB001", "", 1)  # Turtle allows the "; ;" left behind
    assert edited != text
    with pytest.raises(ShapeViolationError) as err:
        live.check({"errors.ttl": edited})
    assert any(v.focus == "ET001" and v.path == "feedback" for v in err.value.violations)


def test_rule_on_a_key_step_of_another_action_is_rejected(ontology_copy: Path, kg) -> None:
    live = LiveGraph(ontology_copy)
    foreign = next(k for k in kg.key_steps if k not in kg.action("A16").key_steps)
    path = squat_file(ontology_copy)
    text = path.read_text(encoding="utf-8")
    rule = first_rule(text).group(1)
    step = rule.split("_")[1]
    block_start = text.index(f"fkg:{rule} a fkg:PenaltyRule")
    edited = text[:block_start] + text[block_start:].replace(f"fkg:keyStep fkg:{step}", f"fkg:keyStep fkg:{foreign}", 1)
    with pytest.raises(ShapeViolationError) as err:
        live.write(f"actions/{path.name}", edited)
    assert any(v.focus == rule and v.path == "keyStep" and foreign in v.message for v in err.value.violations)


def test_valid_edit_is_written_and_put_in_force(ontology_copy: Path) -> None:
    live = LiveGraph(ontology_copy)
    before = live.current
    path = squat_file(ontology_copy)
    text = path.read_text(encoding="utf-8")
    rule = first_rule(text).group(1)
    old = before.rules[rule]
    old_weight = old.weight
    error = before.error_types[old.error_type]
    new_weight = error.min_weight if old_weight != error.min_weight else error.max_weight
    block_start = text.index(f"fkg:{rule} a fkg:PenaltyRule")
    edited = text[:block_start] + re.sub(r"fkg:weight [\d.]+", f"fkg:weight {new_weight}", text[block_start:], count=1)
    if new_weight == old_weight:
        pytest.skip("this error's class has a single weight")
    after = live.write(f"actions/{path.name}", edited)
    assert live.current is after and after.version != before.version
    assert after.rules[rule].weight == new_weight
    assert after.w_max("A16") == pytest.approx(before.w_max("A16") - old_weight + new_weight)
    assert path.read_text(encoding="utf-8") == edited


def test_another_process_puts_a_written_edit_in_force_without_validating_it_again(
        ontology_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The writer notes the version it validated; a watcher of the same folder trusts exactly those files,
    and checks in full any files that differ from them (a later hand edit)."""
    writer, watcher = LiveGraph(ontology_copy), LiveGraph(ontology_copy)
    path = squat_file(ontology_copy)
    rel = f"actions/{path.name}"
    written = writer.write(rel, path.read_text(encoding="utf-8") + "\n# edited through the writer\n")
    with caplog.at_level("INFO", logger="flexaqa.kg.live"):
        assert watcher.reload().version == written.version
        assert "(files validated by another process)" in caplog.text
        caplog.clear()
        path.write_text(path.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
        assert watcher.reload().version != written.version
        assert "(files on disk)" in caplog.text


def test_paths_outside_the_ontology_are_refused(ontology_copy: Path) -> None:
    live = LiveGraph(ontology_copy)
    with pytest.raises(ValueError):
        live.write("../evil.ttl", "")


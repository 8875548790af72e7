"""labels.json: written and read in one place, and a damaged file is one clear ClipError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexaqa.clips.errors import ClipError
from flexaqa.clips.labels import LABELS_FILE, LabelSet, read_labels, write_labels

SAMPLE = {
    "action": "A16", "index": 1, "frames": 120, "repetition": {"start": 15, "turn": 62, "end": 108},
    "key_steps": {"AK46": [0.5, 2.1], "AK47": [2.1, 3.6]},
    "errors": [{"rule": "A16_AK47_ET032", "error_type": "ET032", "key_step": "AK47", "time_span": [2.1, 3.6]}],
    "score": 88.5,
}
LABELS = {"format_version": 1, "kg_version": "abc123", "fps": 30.0, "emg_rate": 2000.0, "seed": 4,
          "samples": [SAMPLE]}


def write(root: Path, content: object) -> Path:
    text = content if isinstance(content, str) else json.dumps(content)
    (root / LABELS_FILE).write_text(text, encoding="utf-8")
    return root / LABELS_FILE


def problem(root: Path) -> str:
    with pytest.raises(ClipError) as caught:
        read_labels(root)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_written_labels_read_back_equal(tmp_path: Path) -> None:
    labels = LabelSet.model_validate(LABELS)
    write_labels(tmp_path, labels)
    assert read_labels(tmp_path) == labels
    assert [p.name for p in tmp_path.iterdir()] == [LABELS_FILE]


def test_a_file_that_is_not_json_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{"format_version": 1,\n oops}')
    assert problem(tmp_path).startswith(f"{path}: not JSON") and "line 2" in problem(tmp_path)


def test_a_missing_field_is_named_with_its_place_in_the_file(tmp_path: Path) -> None:
    broken = {**LABELS, "samples": [{k: v for k, v in SAMPLE.items() if k != "score"}]}
    path = write(tmp_path, broken)
    assert problem(tmp_path) == f"{path}: samples.0.score: field required"


def test_another_format_version_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {**LABELS, "format_version": 2})
    assert "format_version: 2 is not supported; this flexaqa reads version 1" in problem(tmp_path)


def test_labels_without_a_format_version_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {k: v for k, v in LABELS.items() if k != "format_version"})
    assert "format_version: field required" in problem(tmp_path)


def test_an_error_in_a_key_step_without_a_span_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {**LABELS, "samples": [{**SAMPLE, "key_steps": {"AK46": [0.5, 2.1]}}]})
    assert "errors in key steps without a time span: AK47" in problem(tmp_path)


def test_a_missing_labels_file_says_so(tmp_path: Path) -> None:
    assert problem(tmp_path) == f"{tmp_path / LABELS_FILE}: missing; is this a folder written by flexaqa synth?"


def test_a_missing_folder_says_so(tmp_path: Path) -> None:
    assert problem(tmp_path / "nope") == f"{tmp_path / 'nope'}: no such folder"


def test_a_file_given_for_the_dataset_folder_says_so(tmp_path: Path) -> None:
    (tmp_path / "set.npz").write_bytes(b"")
    assert problem(tmp_path / "set.npz") == f"{tmp_path / 'set.npz'}: is a file, not a dataset folder"

"""The video path of the learned scorer: frames of a repetition (models.frames), the (2+1)D view encoder and the
scorer built with video (opt-in: one without never reads a frame)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from flexaqa.api.core import DEFAULT_CHECKPOINT  # noqa: E402
from flexaqa.clips.flex import FPS, FlexDataset  # noqa: E402
from flexaqa.clips.video import Video  # noqa: E402
from flexaqa.kg import KnowledgeGraph  # noqa: E402
from flexaqa.models import checkpoint, frames, predict  # noqa: E402
from flexaqa.models.frames import FRAMES, MAX_VIEWS, SIZE, repetition_frames, stack_frames  # noqa: E402
from flexaqa.models.inputs import STEPS  # noqa: E402
from flexaqa.models.video_encoder import VideoEncoder, WeightsError  # noqa: E402
from flexaqa.synth.generate import Options, generate  # noqa: E402


def _encoder(hidden: int = 24, seed: int = 0) -> VideoEncoder:
    torch.manual_seed(seed)
    return VideoEncoder(hidden).eval()


def _random_frames(batch: int, views: int = MAX_VIEWS, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, views, FRAMES, SIZE, SIZE), generator=gen, dtype=torch.uint8)


def _numbered_video(count: int, height: int, width: int, fps: float = FPS) -> Video:
    """Frame i is a flat grey of brightness i, so the frames picked can be read back from the pixels."""
    levels = np.arange(count, dtype=np.uint8)
    return Video(frames=np.broadcast_to(levels[:, None, None, None], (count, height, width, 3)).copy(), fps=fps)


@pytest.fixture(scope="module")
def synthetic_sample(kg: KnowledgeGraph, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """One synthetic squat-like repetition with two rendered views, written as FLEX JPEG folders and decoded
    back through PyAV (the path a FLEX download takes), with its labelled repetition span in seconds."""
    root = tmp_path_factory.mktemp("video_synth")
    labels = generate(kg, root, Options(per_action=1, views=2, seed=3), actions=["A16"])
    rep = labels.samples[0].repetition
    return FlexDataset(root).load("A16", 1), (rep.start / FPS, rep.end / FPS)


def test_frames_are_sampled_on_the_repetition_grid_and_letterboxed() -> None:
    wide, portrait = _numbered_video(100, 90, 160), _numbered_video(100, 200, 50)
    frames, mask = repetition_frames([wide, portrait], 1.0, 2.6)
    assert frames.shape == (MAX_VIEWS, FRAMES, SIZE, SIZE) and frames.dtype == np.uint8
    assert mask.tolist() == [True, True]
    expected = np.round(np.linspace(1.0, 2.6, FRAMES) * FPS)  # times x fps: 30, 33.2, ..., 78
    assert frames[0, :, SIZE // 2, SIZE // 2].tolist() == expected.tolist()
    # aspect kept: a wide view gets bars above and below, a portrait one at the sides
    assert frames[0, :, 0, :].max() == 0 and frames[0, :, SIZE // 2, :].min() > 0
    assert frames[1, :, :, 0].max() == 0 and frames[1, :, :, SIZE // 2].min() > 0


def test_missing_and_out_of_span_views_are_masked_and_extra_views_left_out() -> None:
    short = _numbered_video(30, 64, 64)  # one second
    frames, mask = repetition_frames([short], 2.0, 3.0)
    assert mask.tolist() == [False, False] and not frames.any()
    three = [_numbered_video(60, 64, 64)] * 3
    frames, mask = repetition_frames(three, 0.0, 1.5)
    assert mask.tolist() == [True, True] and frames.shape[0] == MAX_VIEWS
    batch = stack_frames([(frames, mask), repetition_frames([short], 0.0, 0.5)])
    assert batch["frames"].shape == (2, MAX_VIEWS, FRAMES, SIZE, SIZE)
    assert batch["view_mask"].tolist() == [[True, True], [True, False]]


def test_the_encoder_gives_time_features_on_the_step_grid() -> None:
    encoder = _encoder(hidden=24)
    out = encoder(_random_frames(3), torch.ones(3, MAX_VIEWS, dtype=torch.bool))
    assert out.shape == (3, STEPS, 24) and torch.isfinite(out).all()
    assert "hidden=24" in repr(encoder)


def test_a_missing_view_changes_nothing_else() -> None:
    encoder = _encoder()
    frames = _random_frames(2, seed=1)
    one_view = torch.tensor([[True, False], [True, True]])
    with torch.no_grad():
        base = encoder(frames, one_view)
        scrambled = frames.clone()
        scrambled[0, 1] = _random_frames(1, views=1, seed=2)[0, 0]  # whatever sits in the masked slot
        assert torch.equal(encoder(scrambled, one_view), base)
        alone = encoder(frames[:1, :1], torch.ones(1, 1, dtype=torch.bool))  # the same view, no slot for another
        torch.testing.assert_close(alone, base[:1])
        neighbour = encoder(frames[1:], one_view[1:])  # the other repetition of the batch is untouched
        torch.testing.assert_close(neighbour, base[1:])
        both = encoder(frames[:1], torch.ones(1, 2, dtype=torch.bool))
        assert not torch.allclose(both, base[:1])  # the second view does count when present
        empty = encoder(frames, torch.zeros(2, 2, dtype=torch.bool))
        assert torch.allclose(empty, empty[:1, :1].expand_as(empty))  # no video: a constant, from no pixels


def test_gradients_reach_every_weight() -> None:
    encoder = _encoder().train()
    out = encoder(_random_frames(2, seed=4), torch.tensor([[True, True], [True, False]]))
    out.pow(2).mean().backward()
    for name, param in encoder.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_decoded_frames_of_a_synthetic_clip_go_through(synthetic_sample: tuple) -> None:
    clip, (start, end) = synthetic_sample
    assert len(clip.views) == 2
    frames, mask = repetition_frames(clip, start, end)
    assert mask.tolist() == [True, True]
    background = np.median(frames)
    figure = frames > background + 40  # the light stick figure on the dark ground (synth/render.py)
    assert figure.reshape(MAX_VIEWS, FRAMES, -1).any(-1).all()  # every frame of both views shows the body
    assert (frames[:, 0] != frames[:, FRAMES // 2]).any(axis=(1, 2)).all()  # and it moves over the rep
    batch = {k: torch.from_numpy(v) for k, v in stack_frames([(frames, mask)]).items()}
    with torch.no_grad():
        out = _encoder()(batch["frames"], batch["view_mask"])
    assert out.shape == (1, STEPS, 24) and torch.isfinite(out).all()
    assert out[0].std(0).mean() > 0  # the features vary over time


def test_pretrained_weights_round_trip(tmp_path: Path) -> None:
    trained = _encoder(seed=7)
    path = tmp_path / "video.pt"
    torch.save(trained.state_dict(), path)
    loaded = VideoEncoder(24, weights=path).eval()
    frames, mask = _random_frames(1, seed=5), torch.ones(1, MAX_VIEWS, dtype=torch.bool)
    with torch.no_grad():
        assert torch.equal(loaded(frames, mask), trained(frames, mask))
        assert not torch.equal(_encoder(seed=8)(frames, mask), trained(frames, mask))


def test_wrong_weights_are_refused_with_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save(VideoEncoder(32).state_dict(), path)
    encoder = _encoder()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    with pytest.raises(WeightsError, match=r"out\.weight has shape \(32, 64\), expected \(24, 64\)"):
        encoder.load_weights(path)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())  # nothing half-loaded
    torch.save({"cnn.0.weight": torch.zeros(16, 1, 1, 3, 3)}, path)
    with pytest.raises(WeightsError, match="missing out.bias"):
        encoder.load_weights(path)
    torch.save([1, 2, 3], path)
    with pytest.raises(WeightsError, match="expected a state_dict"):
        encoder.load_weights(path)
    with pytest.raises(WeightsError, match="no such weights file"):
        VideoEncoder(24, weights=tmp_path / "absent.pt")


def test_mixed_precision_runs() -> None:
    encoder = _encoder()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = encoder(_random_frames(2, seed=6), torch.tensor([[True, False], [True, True]]))
    assert out.shape == (2, STEPS, 24) and torch.isfinite(out.float()).all()


@pytest.fixture(scope="module")
def video_data(kg: KnowledgeGraph, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six synthetic repetitions of one action, each with one rendered view, in the FLEX layout with labels."""
    root = tmp_path_factory.mktemp("video_train")
    generate(kg, root, Options(per_action=6, views=1, seed=5), actions=["A16"])
    return root


def _probabilities(found: list) -> list[float]:
    return [f.probability for f in found]


def test_a_video_scorer_trains_from_the_command_line_and_scores_clips_with_and_without_views(
        kg: KnowledgeGraph, video_data: Path, tmp_path: Path, flexaqa) -> None:
    out = flexaqa("train", str(video_data), "--out", str(tmp_path / "v.pt"), "--epochs", "2", "--hidden", "16",
                  "--video")
    assert out.returncode == 0, out.stderr
    assert re.search(r"^video\s", out.stdout, re.MULTILINE)  # evaluated with the views alone too
    model, record = checkpoint.load(tmp_path / "v.pt", kg)
    assert record["modalities"] == ["skeleton", "emg", "video"] and record["config"]["video"] is True
    assert any(k.startswith("video.") for k in model.state_dict()) and "video=VideoEncoder(hidden=16" in repr(model)
    clip = FlexDataset(video_data).load("A16", 1)
    assert len(clip.views) == 1
    predictor = predict.Predictor(tmp_path / "v.pt", kg)
    with_views = predictor.findings(kg, clip)
    without = predictor.findings(kg, clip.model_copy(update={"views": ()}))
    assert with_views and [(f.repetition, f.rule) for f in with_views] == [(f.repetition, f.rule) for f in without]
    assert all(0 <= p <= 1 for p in _probabilities(with_views) + _probabilities(without))
    assert _probabilities(with_views) != _probabilities(without)  # the view is read when there is one


def test_the_comparison_with_video_shows_video_alone_and_every_modality_combined(
        video_data: Path, tmp_path: Path, flexaqa) -> None:
    out = flexaqa("eval", "compare", str(video_data), "--video", "--out", str(tmp_path / "results.md"),
                  "--epochs", "1", "--hidden", "16", "--hold-out-count", "0")
    assert out.returncode == 0, out.stderr
    rows = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["rows"]
    on = [name.removeprefix("model, graph on, ") for name in rows if name.startswith("model, graph on, ")]
    assert on == ["skeleton+sEMG", "skeleton", "sEMG", "video", "skeleton+sEMG+video"]
    assert "model, graph off, skeleton+sEMG+video" in rows and "rules + model merged" in rows
    assert all(np.isfinite(rows[f"model, graph on, {name}"]["rho"]) for name in on)


def test_training_with_video_also_shows_each_modality_alone_and_each_pair_never_none() -> None:
    """A phone clip has a skeleton and nothing else: a scorer trained with video must have seen that case."""
    from flexaqa.models.train import _drop_modalities

    full = torch.ones(6000, 3, dtype=torch.bool)
    seen = {tuple(row.tolist()) for row in _drop_modalities(full, 0.3, torch.Generator().manual_seed(0))}
    assert seen == {tuple(bool(m >> i & 1) for i in range(3)) for m in range(1, 8)}
    sparse = torch.tensor([[True, False, False], [False, True, True]])  # one modality left: kept
    dropped = _drop_modalities(sparse.repeat(1000, 1), 1.0, torch.Generator().manual_seed(0))
    assert dropped.any(1).all() and (dropped[::2] == sparse[0]).all() and not (dropped & ~sparse.repeat(1000, 1)).any()


def test_a_model_without_video_never_reads_a_frame(kg: KnowledgeGraph, video_data: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("a skeleton + sEMG model sampled video frames")

    monkeypatch.setattr(frames, "repetition_frames", refuse)
    predictor = predict.Predictor(DEFAULT_CHECKPOINT, kg)
    assert predictor.record["modalities"] == ["skeleton", "emg"] and not hasattr(predictor.model, "video")
    clip = FlexDataset(video_data).load("A16", 1)
    assert clip.views and predictor.findings(kg, clip)

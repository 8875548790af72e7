"""Every way a user was seen to get a traceback or a silent guess, as one table: the next probe is one line.

Each probe runs the real command line in a subprocess and expects exit code 1, one message naming the
file or option and the problem, and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flexaqa.api.cli.assess import EXAMPLE
from flexaqa.clips.clip import Clip
from flexaqa.clips.files import load_bundle, save_bundle
from flexaqa.clips.pose import available as pose_available
from flexaqa.clips.skeleton import Skeleton


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bad inputs, written once."""
    root = tmp_path_factory.mktemp("bad")
    junk = bytes(range(256)) * 4
    (root / "junk.rq").write_bytes(junk)
    (root / "junk.ttl").write_bytes(junk)
    (root / "empty").mkdir()
    (root / "junk_folder").mkdir()
    (root / "junk_folder" / "a.ttl").write_bytes(junk)
    (root / "plain_file").write_text("not a folder")
    (root / "junk.npz").write_bytes(junk)
    (root / "junk.npy").write_bytes(junk)
    example = load_bundle(EXAMPLE)
    still = np.repeat(example.skeleton.positions[:1], 90, axis=0)
    save_bundle(root / "still.npz", Clip(action="A16", skeleton=Skeleton(positions=still, fps=30.0)))
    save_bundle(root / "two_frames.npz", Clip(action="A16", skeleton=Skeleton(
        positions=example.skeleton.positions[:2], fps=30.0)))
    (root / "empty_emg.csv").write_text("")
    np.savez(root / "objects.npz", action=np.array("A16"), skeleton_positions=np.array([{"x": 1}], dtype=object))
    (root / "short_row.csv").write_text("left_hip_x,left_hip_y,left_knee_x,left_knee_y\n1,2,3,4\n1,2,3\n")
    (root / "long_row_emg.csv").write_text("time,a,b\n0,1,2\n0.001,1,2,3\n0.002,1,2\n")
    return {p.name: p for p in root.iterdir()}


PROBES = [
    # (arguments, environment, expected fragment of the one-line message)
    (["sparql", "{junk.rq}"], {}, "not UTF-8"),
    (["rules", "check", "{junk.ttl}"], {}, "not UTF-8"),
    (["rules", "check", "{junk_folder}"], {}, "no shapes.ttl"),
    (["rules", "check", "{empty}"], {}, "no shapes.ttl"),
    (["--ontology", "/nope", "kg", "stats"], {}, "/nope is not a folder"),
    (["kg", "stats"], {"FLEXAQA_ONTOLOGY": "{plain_file}"}, "is not a folder"),
    (["kg", "export", "--out", "/nope/dir/x.graphml"], {}, "cannot write /nope/dir/x.graphml"),
    (["assess", str(EXAMPLE), "--action", "A01"], {}, "holds A16, but A01 was asked for"),
    (["assess", "--lang", "fr"], {}, "unknown language 'fr'"),
    (["assess", "{still.npz}"], {}, "no repetition found"),
    (["assess", "{two_frames.npz}"], {}, "too short to hold a repetition"),
    (["assess", str(EXAMPLE), "--emg", "{empty_emg.csv}", "--emg-rate", "2000"], {}, "emg"),
    (["assess", "--action", "A99"], {}, "unknown action 'A99'"),
    (["assess", "{short_row.csv}", "--action", "A16"], {}, "short_row.csv row 3 has 3 column(s), but the header has 4"),
    (["assess", str(EXAMPLE), "--emg", "{long_row_emg.csv}"], {}, "long_row_emg.csv row 3 has 4 column(s), but the "
     "header has 3"),
    (["sparql", "errors_in_phase", "--bind", "action=A16"], {}, "needs --bind for phase, lang"),
    (["sparql", "action_key_steps", "--bind", "action=A16", "--bind", "colour=red"], {}, "has no variable colour"),
    (["sparql", "action_keysteps"], {}, "did you mean 'action_key_steps'"),
    (["sparql", "SELECT * WHERE { ?s foo:bar ?o }"], {}, "unknown prefix"),
    (["sparql", "INSERT DATA { fkg:A16 rdfs:label 'x' }"], {}, "read-only"),
    (["sparql", "action_poses", "--bind", "action=A 16"], {}, "is not an FKG id"),
    (["assess", "{objects.npz}"], {}, "cannot read"),
    (["assess", "{junk.npz}"], {}, "is not an .npz clip bundle"),  # not numpy's advice on unpickling
    (["assess", "{junk.npy}", "--action", "A01"], {}, "is not a .npy array"),
    (["sparql", "--bind", "A16"], {}, "give a query"),
]


@pytest.mark.parametrize(("args", "env", "fragment"), PROBES, ids=[" ".join(p[0])[:60] for p in PROBES])
def test_bad_input_is_one_clear_line(files: dict[str, Path], args: list[str], env: dict[str, str],
                                     fragment: str) -> None:
    fill = {f"{{{name}}}": str(path) for name, path in files.items()}
    args = [fill.get(a, a) for a in args]
    environment = {**os.environ, **{k: fill.get(v, v) for k, v in env.items()}}
    out = subprocess.run([sys.executable, "-m", "flexaqa", *args], capture_output=True, text=True,
                         timeout=300, env=environment)
    assert out.returncode == 1, (out.returncode, out.stdout[-500:], out.stderr[-500:])
    assert fragment in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "Warning" not in out.stderr and "--named" not in out.stderr


@pytest.mark.skipif(pose_available(), reason="the pose extra is installed, so video is read")
def test_video_without_the_pose_extra_is_refused_before_decoding(tmp_path: Path, flexaqa) -> None:
    from flexaqa.clips.video import Video, write_video

    path = tmp_path / "clip.mp4"
    write_video(path, Video(frames=np.zeros((300, 64, 64, 3), dtype=np.uint8), fps=30.0))
    out = flexaqa("assess", str(path), "--action", "A16")
    assert out.returncode == 1 and "pose extra" in out.stderr
    out = flexaqa("assess", str(path), "--action", "A99")
    assert out.returncode == 1 and "unknown action 'A99'" in out.stderr

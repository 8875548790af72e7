"""Uploads built to cost the server: a decompression bomb, a member declared too large or too long, big
refused bundles (memory must not stay), and a busy server (refused before the body is received)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import EXAMPLE, running_server

BOMB_ZEROS = 2 * 1024**3
"""Bytes of zeros the bomb's extra member inflates to."""
MB = 1024 * 1024


def _bundle(path: Path, arrays: dict[str, np.ndarray], zeros: tuple[str, str, tuple[int, ...]] | None = None) -> Path:
    """An .npz of ``arrays``, plus a member ``zeros = (name, dtype, shape)`` of zeros written in chunks, deflated
    (so a shape of gigabytes makes a file of a few MB, and this process never holds it)."""
    np.savez_compressed(path, **arrays)
    if zeros is not None:
        name, descr, shape = zeros
        size = int(np.prod(shape)) * np.dtype(descr).itemsize
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, {"descr": descr, "fortran_order": False, "shape": shape})
                chunk = bytes(16 * MB)
                for start in range(0, size, len(chunk)):
                    member.write(chunk[:size - start])
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped example bundle with one more member: 2 GiB of float64 zeros in about 2 MB."""
    with np.load(EXAMPLE) as example:
        arrays = {key: example[key] for key in example.files}
    return _bundle(tmp_path_factory.mktemp("bomb") / "bomb.npz", arrays, ("zeros", "<f8", (BOMB_ZEROS // 8,)))


def _server_pid(base: str) -> int:
    """The process of the ``flexaqa serve`` this test process started on ``base``'s port."""
    port = base.rsplit(":", 1)[1].encode()
    for task in Path("/proc/self/task").iterdir():
        for child in (task / "children").read_text().split():
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"serve" in argv and port in argv:
                return int(child)
    raise AssertionError(f"no flexaqa serve child on port {port.decode()}")


def _memory_mb(pid: int, field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (resident at most, so far) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith(f"{field}:")) / 1024


def _post(base: str, bundle: bytes) -> httpx.Response:
    return httpx.post(f"{base}/assess", files={"bundle": ("clip.npz", bundle)}, timeout=120)


def test_a_bomb_member_is_413_naming_it_and_never_decompressed(server: str, bomb: Path) -> None:
    pid = _server_pid(server)
    assert _post(server, EXAMPLE.read_bytes()).status_code == 200  # the server's own working set is in place
    peak = _memory_mb(pid, "VmHWM")
    r = _post(server, bomb.read_bytes())
    assert r.status_code == 413, r.text
    assert r.json()["field"] == "clip.zeros"
    assert "zeros.npy" in r.json()["detail"] and "FLEXAQA_MAX_BUNDLE_MB" in r.json()["detail"]
    assert _memory_mb(pid, "VmHWM") - peak < 200, "the bomb was decompressed"


def test_a_bundle_member_declared_larger_than_the_limit_is_413_naming_it(server: str, tmp_path: Path) -> None:
    frames = 300 * MB // (21 * 3 * 4)  # 300 MB of float32 skeleton, over the default 256 MB
    path = _bundle(tmp_path / "big.npz", {"action": np.array("A16"), "skeleton_fps": np.array(30.0)},
                   ("skeleton_positions", "<f4", (frames, 21, 3)))
    r = _post(server, path.read_bytes())
    assert r.status_code == 413 and r.json()["field"] == "clip.skeleton_positions", r.text
    assert "skeleton_positions.npy" in r.json()["detail"] and "at most 256 MB" in r.json()["detail"]


def test_a_small_unknown_member_is_ignored(server: str, tmp_path: Path) -> None:
    with np.load(EXAMPLE) as example:
        arrays = {key: example[key] for key in example.files}
    path = _bundle(tmp_path / "extra.npz", arrays | {"notes": np.arange(10)})
    assert _post(server, path.read_bytes()).status_code == 200


def test_refused_big_uploads_do_not_keep_memory(server: str, tmp_path: Path) -> None:
    positions = np.random.default_rng(0).normal(size=(200_000, 21, 3)).astype(np.float32)  # 6667 s at 30 fps
    bundle = _bundle(tmp_path / "long.npz", {"action": np.array("A16"), "skeleton_positions": positions,
                                             "skeleton_fps": np.array(30.0)}).read_bytes()
    assert len(bundle) > 40 * MB
    pid = _server_pid(server)

    def refuse() -> None:
        r = _post(server, bundle)
        assert r.status_code == 413 and r.json()["field"] == "skeleton.positions", r.text
        assert "skeleton_positions" in r.json()["detail"] and "FLEXAQA_MAX_CLIP_S" in r.json()["detail"]

    refuse()
    after_one = _memory_mb(pid, "VmRSS")
    for _ in range(5):
        refuse()
    assert _memory_mb(pid, "VmRSS") < after_one * 1.1 + 20


def test_the_command_line_refuses_a_bomb_in_one_line_without_decompressing_it(bomb: Path) -> None:
    """The CLI runs under a small parent that reports its children's peak memory (ru_maxrss, kB)."""
    measure = ("import resource, subprocess, sys; "
               "out = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "print(out.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "sys.stderr.write(out.stderr)")
    out = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "flexaqa", "assess", str(bomb)],
                         capture_output=True, text=True, timeout=300)
    returncode, peak_kb = map(int, out.stdout.split())
    assert returncode == 1
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("flexaqa: bad input: clip.zeros:"), out.stderr
    assert "zeros.npy" in out.stderr and "at most 1024 MB" in out.stderr
    assert peak_kb < 1024 * 1024, f"the CLI peaked at {peak_kb // 1024} MB: the bomb was decompressed"


def test_a_busy_server_answers_503_before_receiving_the_body() -> None:
    """One worker and no queue: an upload still being received holds the one place, so a second is refused
    from its headers alone (it never sends its 30 MB)."""
    head = (b"POST /assess HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 30000000\r\n\r\n--b\r\n")
    with running_server(env={"FLEXAQA_ASSESS_WORKERS": "1", "FLEXAQA_ASSESS_QUEUE": "0"}) as base:
        address = base.removeprefix("http://").split(":")
        with socket.create_connection((address[0], int(address[1])), timeout=30) as slow:
            slow.sendall(head)
            time.sleep(0.5)  # the slow upload is admitted (the server reads its headers at once)
            with socket.create_connection((address[0], int(address[1])), timeout=30) as second:
                second.sendall(head + b"x" * 1024)
                answer = second.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert b"retry-after: 2" in answer.lower()
        for _ in range(50):  # the place is given back once the server sees the slow client gone
            if (status := _post(base, EXAMPLE.read_bytes()).status_code) != 503:
                break
            time.sleep(0.2)
        assert status == 200

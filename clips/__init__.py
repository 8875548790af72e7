"""Clips: validated skeleton, EMG and video inputs, read from files and split into repetitions.

Sits below ``engine`` and ``models`` and imports nothing else of the project. Every bad input raises
``ClipError`` naming the field. Conventions: skeletons are (T, 21, D) on ``JOINTS`` with y up; EMG is
(samples, channels) with a sampling rate; video frames are (N, H, W, 3) uint8 RGB.
"""

from clips.clip import Clip, ClipMetadata
from clips.emg import EMG
from clips.errors import ClipError
from clips.layouts import JOINTS, LAYOUTS, map_to_internal
from clips.segmentation import Repetition, segment_emg, segment_skeleton
from clips.skeleton import UNRELIABLE_IN_2D, Skeleton
from clips.video import Video

__all__ = [
    "EMG",
    "JOINTS",
    "LAYOUTS",
    "UNRELIABLE_IN_2D",
    "Clip",
    "ClipError",
    "ClipMetadata",
    "Repetition",
    "Skeleton",
    "Video",
    "map_to_internal",
    "segment_emg",
    "segment_skeleton",
]

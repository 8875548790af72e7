"""Pose from video, with the optional extra ``pip install 'flexaqa[pose]'`` (MediaPipe 0.10.21).

That release bundles its full pose model, so estimation runs offline; newer MediaPipe releases download
models at run time, which flexaqa never does. Keypoints come out in the MediaPipe-33 layout in pixels
(x right, y down, as the layout mapper expects), with MediaPipe's visibility as confidence.
"""

from __future__ import annotations

import logging

import numpy as np

from flexaqa.clips.errors import ClipError
from flexaqa.clips.readers import skeleton_from_array
from flexaqa.clips.skeleton import Skeleton
from flexaqa.clips.video import Video

logger = logging.getLogger(__name__)

LANDMARKS = 33


def available() -> bool:
    """Whether the pose extra is installed."""
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        return False
    return True


def estimate_pose(video: Video, model_complexity: int = 1, min_confidence: float = 0.5) -> Skeleton:
    """A 2D skeleton, one pose per frame (NaN where no person is found)."""
    try:
        from mediapipe.python.solutions.pose import Pose
    except ImportError:
        raise ClipError("video", "pose estimation needs the optional extra: pip install 'flexaqa[pose]'") from None
    frames, height, width = video.frames.shape[0], video.frames.shape[1], video.frames.shape[2]
    points = np.full((frames, LANDMARKS, 3), np.nan)
    with Pose(static_image_mode=False, model_complexity=model_complexity, enable_segmentation=False,
              min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence) as pose:
        for t, frame in enumerate(video.frames):
            result = pose.process(np.ascontiguousarray(frame))
            if result.pose_landmarks is None:
                continue
            points[t] = [(lm.x * width, lm.y * height, lm.visibility) for lm in result.pose_landmarks.landmark]
    found = ~np.isnan(points[:, 0, 0])
    logger.info("pose found in %d of %d frames", int(found.sum()), frames)
    if not found.any():
        raise ClipError("video", "no person was found in any frame")
    points[~found, :, 2] = 0.0
    return skeleton_from_array(points, "MediaPipe-33", video.fps, has_confidence=True).skeleton

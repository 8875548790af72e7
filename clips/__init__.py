"""Clips: validated skeleton, EMG and video inputs, read from files and split into repetitions.

Sits below ``engine`` and ``models`` and imports nothing else of the project. Every bad input raises
``ClipError`` naming the field. Conventions: skeletons are (T, 21, D) on ``JOINTS`` with y up; EMG is
(samples, channels) with a sampling rate; video frames are (N, H, W, 3) uint8 RGB. Import the modules
themselves (``clips.skeleton``, ``clips.emg``, ...): the package does not load them all, so a command
that needs no signal processing starts without scipy.
"""

"""Penalty functions: features from a clip, detectors from Turtle, the compositional score, coaching."""

"""Synthetic lifts in the FLEX layout, driven by the FKG: each action's poses come from its Turtle, and
errors are injected through the same detectors that find them, so labels are exact."""

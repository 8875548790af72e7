"""Synthetic lifts in the FLEX layout with their labels (``clips.labels``), driven by the FKG: each action's
poses come from its Turtle, and errors are injected through the same detectors that find them.
``synth.evaluation`` measures detectors against labelled data. Data for training and testing, not part of
the penalty engine: ``engine`` never imports it."""

"""The Fitness Knowledge Graph as Turtle files: the single source of truth for actions, key steps,
error types, feedback and penalty rules. This package only locates the files; ``kg`` reads them."""

from pathlib import Path

ONTOLOGY_DIR = Path(__file__).resolve().parent

"""Load, validate, query and export the Fitness Knowledge Graph (FKG).

``kg`` imports nothing else of flexaqa: it turns the Turtle files under ``ontology/`` into a
validated, queryable :class:`KnowledgeGraph`, and :class:`LiveGraph` swaps a new one in atomically
only when the edited files are valid.
"""

from flexaqa.kg.entities import (
    Action,
    Comparator,
    Detector,
    EMGChannel,
    ErrorType,
    FaultMotion,
    Feedback,
    FKGChoice,
    KeyStep,
    MotionQuantity,
    PenaltyRule,
    SideSelection,
    SourceLocation,
    Statistic,
    in_language,
)
from flexaqa.kg.errors import KGError, ShapeViolation, ShapeViolationError, TurtleSyntaxError, UnknownIdError
from flexaqa.kg.graph import KnowledgeGraph
from flexaqa.kg.live import LiveGraph
from flexaqa.kg.namespace import FKG

__all__ = [
    "FKG",
    "Action",
    "Comparator",
    "Detector",
    "EMGChannel",
    "ErrorType",
    "FaultMotion",
    "FKGChoice",
    "Feedback",
    "KGError",
    "KeyStep",
    "KnowledgeGraph",
    "LiveGraph",
    "MotionQuantity",
    "PenaltyRule",
    "ShapeViolation",
    "ShapeViolationError",
    "SideSelection",
    "SourceLocation",
    "Statistic",
    "in_language",
    "TurtleSyntaxError",
    "UnknownIdError",
]

"""Load, validate, query and export the Fitness Knowledge Graph (FKG).

``kg`` imports nothing else of flexaqa: it turns the Turtle files under ``ontology/`` into a
validated, queryable :class:`KnowledgeGraph`, and :class:`LiveGraph` swaps a new one in atomically
only when the edited files are valid.

One graph goes by several identities; each changes with a different edit, so each cache keys by the one
that says what it depends on (in memory, :class:`kg.per_graph.PerGraph` keeps the last few):

==================  ===========================================  =============================================
identity            what it hashes (where)                       changes with; who keys by it
==================  ===========================================  =============================================
KG version          every Turtle file's path and text, shapes    any edit of any file; reports and checkpoints
                    included, 12 hex (``kg.loader``):            (``kg_version``), the SPARQL workers' copy,
                    ``KnowledgeGraph.version``                   synth's injection plans
live digest         one file's bytes, 32 hex                     an edit of that file; the HTTP ETag an editor
                    (``kg.live.content_digest``)                 names to replace it
export digest       what a model reads: node ids and kinds,      ids, English labels, weights, edges (not cues
                    English labels, rule weights, edges, 12 hex  or thresholds); checkpoints (``graph_digest``),
                    (``kg.export.digest``)                       the encoder's inputs and node embeddings
shape-cache key     KG version and the validator: its code and   an edit or a new validator; a marker file per
                    the pySHACL and pyoxigraph releases          user saying SHACL passed, so the next load
                    (``kg.shape_cache``)                         skips it
``.validated``      the KG version last validated by a process   a validated edit; the other processes serving
                    serving the folder (``kg.live.VALIDATED``)   the folder load it without SHACL
==================  ===========================================  =============================================
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

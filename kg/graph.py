"""The Fitness Knowledge Graph in force: a validated pyoxigraph store plus typed views of its nodes."""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from flexaqa.kg import queries, shape_cache
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
from flexaqa.kg.errors import ShapeViolation, ShapeViolationError, UnknownIdError
from flexaqa.kg.loader import ParsedOntology, parse_ontology
from flexaqa.kg.namespace import FKG, PREFIXES, after_where, iri, local_name
from flexaqa.kg.sandbox import written

log = logging.getLogger(__name__)


Binding = str | float | int | None
QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
Check = Callable[["KnowledgeGraph"], list[ShapeViolation]]


def default_root() -> Path:
    """The ontology folder shipped with the package."""
    from flexaqa.ontology import ONTOLOGY_DIR

    return ONTOLOGY_DIR


def python_value(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> Binding:
    """An FKG id for FKG nodes, a number for numeric literals, else the lexical form."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return local_name(term.value)
    if isinstance(term, ox.Literal):
        kind = term.datatype.value.rsplit("#", 1)[-1]
        if kind in {"integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger"}:
            return int(term.value)
        if kind in {"decimal", "double", "float"}:
            return float(term.value)
    return term.value


def _check_shapes(parsed: ParsedOntology, store: ox.Store) -> None:
    """Validate against the shapes: violations raise, warnings are logged, a clean pass is remembered."""
    from flexaqa.kg.validation import check_shapes, to_rdflib  # pySHACL and rdflib load only for files not seen before

    violations = check_shapes(to_rdflib(parsed.triples), store, to_rdflib(parsed.shapes), parsed.locations)
    errors = [v for v in violations if v.severity == "Violation"]
    for warning in set(violations) - set(errors):
        log.warning("%s", warning)
    if errors:
        raise ShapeViolationError(errors)
    if not violations:
        shape_cache.remember(parsed.version)


class KnowledgeGraph:
    """A parsed, SHACL-valid FKG. Immutable: an edit produces a new instance (see :class:`LiveGraph`)."""

    def __init__(self, root: Path, parsed: ParsedOntology, store: ox.Store, load_seconds: float) -> None:
        self.root = root
        self.version = parsed.version
        self.files = parsed.files
        self.locations = parsed.locations
        self.load_seconds = load_seconds
        self.triple_count = len(parsed.triples)
        self._store = store
        self.key_steps = self._read_key_steps()
        self.error_types = self._read_error_types()
        self.rules = self._read_rules()
        self.actions = self._read_actions()
        self.messages = {m: t.get("text", {}) for m, t in self._labels(queries.text("_messages")).items()}

    @classmethod
    def load(cls, root: Path | None = None, overrides: Mapping[str, str] | None = None,
             checks: Sequence[Check] = (), skip: Collection[str] = ()) -> KnowledgeGraph:
        """Parse and validate every Turtle file under ``root`` (default: the shipped ontology).

        ``overrides`` maps a path relative to ``root`` to new file text, so an edit can be checked
        against the rest of the graph before it is written. ``checks`` are further validations by the
        layers above (the engine checks that detectors name joints and features it knows); their
        findings are rejected like SHACL violations; ``skip`` names files left out. Raises :class:`TurtleSyntaxError` or
        :class:`ShapeViolationError`.
        """
        start = time.perf_counter()
        root = Path(root) if root is not None else default_root()
        parsed = parse_ontology(root, dict(overrides or {}), skip)
        store = ox.Store()
        store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in parsed.triples)
        if not shape_cache.passed(parsed.version):
            _check_shapes(parsed, store)
        graph = cls(root, parsed, store, time.perf_counter() - start)
        problems = [v for check in checks for v in check(graph)]
        if problems:
            raise ShapeViolationError(problems)
        log.info("loaded FKG %s from %s: %d triples in %.0f ms", graph.version, root,
                 graph.triple_count, graph.load_seconds * 1000)
        return graph

    # ------------------------------------------------------------------ SPARQL

    def query(self, sparql: str, **bindings: str | float) -> QueryResult:
        """Run a trusted SPARQL query in-process; FKG prefixes are predeclared; ``bindings`` pre-bind variables.

        User text goes through :mod:`kg.sparql`, which checks it and runs it with time and size limits.
        """
        return self._store.query(self.bind(sparql, **bindings) if bindings else sparql, prefixes=PREFIXES)

    def solutions(self, sparql: str, **bindings: str | float) -> ox.QuerySolutions:
        """:meth:`query` for a SELECT query: its solutions (an ASK or CONSTRUCT here is a programming error)."""
        return _solutions(self.query(sparql, **bindings))

    @staticmethod
    def bind(sparql: str, **bindings: str | float) -> str:
        """The query with ``bindings`` as a ``VALUES`` block at the start of its WHERE clause; a binding
        that starts with a capital letter is an FKG id (``A16``) and binds that node's IRI."""
        values = " ".join(f"VALUES ?{k} {{ {_term(v)} }}" for k, v in bindings.items())
        bound = after_where(sparql, values)
        if bound is None:
            raise SyntaxError("variables can only be bound in a query with an explicit WHERE clause")
        return bound

    def check_ids(self, bindings: Mapping[str, str | float]) -> None:
        """Every binding that :meth:`bind` takes for an FKG id names a node of this graph: an unknown one is an
        :class:`UnknownIdError` naming the nearest ids, not a query that quietly finds nothing."""
        for name, value in bindings.items():
            if isinstance(value, str) and value[:1].isupper() and value not in self.ids:
                near = difflib.get_close_matches(value, self.ids, n=5, cutoff=0.5)
                hint = f"; nearest: {', '.join(near)}" if near else ""
                raise UnknownIdError(f"binding {name}: {value!r} is no FKG id of the graph in force{hint}")

    @cached_property
    def ids(self) -> frozenset[str]:
        """The ids of every node the graph says something about (``A16``, ``ET005``, ``Eccentric``, ...)."""
        rows = self.solutions(f"SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), \"{FKG}\")) }}")
        return frozenset(local_name(_term_value(row["s"])) for row in rows)

    def select(self, sparql: str, **bindings: str | float) -> list[dict[str, Binding]]:
        """Rows of a SELECT query as plain Python values (FKG ids, numbers, strings)."""
        solutions = self.solutions(sparql, **bindings)
        names = [v.value for v in solutions.variables]
        return [{n: python_value(row[n]) for n in names} for row in solutions]

    def run_named(self, name: str, **bindings: str | float) -> list[dict[str, Binding]]:
        """Run a shipped competency query (``kg/queries/<name>.rq``)."""
        return self.select(queries.text(name), **bindings)

    def serialize(self, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> bytes:
        """The whole graph in one RDF serialisation."""
        prefixes = PREFIXES if fmt is ox.RdfFormat.TURTLE else None
        return written(ox.serialize((q.triple for q in self._store), format=fmt, prefixes=prefixes))

    # ------------------------------------------------------------------ typed access

    def action(self, action_id: str) -> Action:
        try:
            return self.actions[action_id]
        except KeyError:
            known = ", ".join(sorted(self.actions))
            raise UnknownIdError(f"unknown action {action_id!r}; known: {known}") from None

    def phases_of(self, action_id: str) -> list[str]:
        """The action's phases in the order they are performed (preparation, then the first moving phase)."""
        first = self.action(action_id).first_moving_phase
        return ["Preparation", first, "Concentric" if first == "Eccentric" else "Eccentric"]

    def key_steps_of(self, action_id: str) -> list[KeyStep]:
        """The action's key steps in the order they are performed (phase, then order in phase)."""
        phases = self.phases_of(action_id)
        steps = [self.key_steps[k] for k in self.action(action_id).key_steps]
        return sorted(steps, key=lambda s: (phases.index(s.phase), s.order_in_phase, s.id))

    def rules_of(self, action_id: str) -> list[PenaltyRule]:
        return [self.rules[r] for r in self.action(action_id).rules]

    def w_max(self, action_id: str) -> float:
        """Sum of the weights of every error the action's rules can produce (the score's denominator)."""
        return sum(r.weight for r in self.rules_of(action_id))

    def message(self, message_id: str, lang: str, **fields: object) -> str:
        """A coaching sentence from ``messages.ttl`` in ``lang`` (English when missing), filled in."""
        texts = self.messages[message_id]
        return in_language(texts, lang).format(**fields)

    def stats(self) -> dict[str, int | str]:
        return {
            "version": self.version,
            "files": len(self.files),
            "triples": self.triple_count,
            "actions": len(self.actions),
            "key_steps": len(self.key_steps),
            "error_types": len(self.error_types),
            "penalty_rules": len(self.rules),
        }

    # ------------------------------------------------------------------ reading entities

    def _loc(self, node_id: str) -> SourceLocation:
        return self.locations.get(iri(node_id), SourceLocation("<unknown>", None))

    def _labels(self, node_property: str) -> dict[str, dict[str, dict[str, str]]]:
        """``{node: {property: {lang: text}}}`` for language-tagged literals of one class."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for row in self.solutions(node_property):
            node, prop, text = row["n"], row["p"], row["t"]
            if not isinstance(text, ox.Literal):
                raise TypeError(f"{node_property!r} binds ?t to {text!r}, not a literal")
            out.setdefault(local_name(_term_value(node)), {}).setdefault(_term_value(prop).rsplit("#", 1)[-1], {})[
                text.language or "en"
            ] = text.value
        return out

    def _read_key_steps(self) -> dict[str, KeyStep]:
        labels = self._labels(queries.text("_key_step_labels"))
        return {
            _text(r, "k"): KeyStep(
                id=_text(r, "k"), label=labels.get(_text(r, "k"), {}).get("label", {}), phase=_text(r, "phase"),
                phase_order=_int(r, "po"), order_in_phase=_int(r, "o"), source=self._loc(_text(r, "k")),
            )
            for r in self.select(queries.text("_key_steps"))
        }

    def _read_error_types(self) -> dict[str, ErrorType]:
        texts = self._labels(queries.text("_error_texts"))
        out = {}
        for r in self.select(queries.text("_error_types")):
            error = _text(r, "e")
            t = texts.get(error, {})
            fb = texts.get(_text(r, "fb"), {})
            out[error] = ErrorType(
                id=error, label=t.get("label", {}), severity_class=_text(r, "c"),
                min_weight=_number(r, "lo"), max_weight=_number(r, "hi"),
                feedback=Feedback(cue=fb.get("cue", {}), explanation=fb.get("explanation", {})),
                source=self._loc(error),
            )
        return out

    def _read_rules(self) -> dict[str, PenaltyRule]:
        """Rules with their detectors and fault motions. SHACL's ``sh:class`` accepts any declared statistic,
        comparator, side selection or motion quantity; one the engine does not implement is rejected here, with
        the rule's file:line."""
        joints: dict[str, list[str]] = {}
        for j in self.select(queries.text("_detector_joints")):  # by rule, then place in the list
            joints.setdefault(str(j["r"]), []).append(str(j["name"]))
        motions, problems = self._read_fault_motions()
        rules = {}
        for r in self.select(queries.text("_rules")):
            rule = _text(r, "r")
            source = self._loc(rule)
            unknown = [_unknown_choice(rule, prop, kind, r[column], source) for column, prop, kind in _CHOICES
                       if r[column] is not None and r[column] not in {member.value for member in kind}]
            problems += unknown
            feature = _optional_text(r, "feature")
            rules[rule] = PenaltyRule(
                id=rule, action=_text(r, "a"), key_step=_text(r, "k"), error_type=_text(r, "e"),
                weight=_number(r, "w"), counting_mode=_optional_text(r, "mode") or "OncePerRepetition", source=source,
                detector=None if feature is None or unknown else Detector(
                    feature=feature, joints=tuple(joints.get(rule, ())), muscle=_optional_text(r, "muscle"),
                    statistic=Statistic(r["statistic"] or Statistic.EachFrame), comparator=Comparator(r["comparator"]),
                    threshold=_number(r, "threshold"), min_duration=_number(r, "minDuration", 0.0),
                    side_selection=SideSelection(r["sides"] or SideSelection.EitherSide),
                    min_duration_share=_number(r, "minDurationShare", 0.0),
                ),
                fault_motion=motions.get(rule),
            )
        if problems:
            raise ShapeViolationError(problems)
        return rules

    def _read_fault_motions(self) -> tuple[dict[str, FaultMotion], list[ShapeViolation]]:
        """Each rule's fault motion (SHACL has checked its shape), and the motion quantities the engine lacks."""
        motions: dict[str, FaultMotion] = {}
        problems: list[ShapeViolation] = []
        for r in self.select(queries.text("_fault_motions")):
            rule, quantity = _text(r, "r"), r["quantity"]
            if quantity is not None and quantity not in {member.value for member in MotionQuantity}:
                problems.append(_unknown_choice(rule, "changes", MotionQuantity, quantity, self._loc(rule),
                                                part="faultMotion"))
                continue
            motions[rule] = FaultMotion(
                amount=_number(r, "amount"), dof=None if quantity is not None else _optional_text(r, "dof"),
                quantity=None if quantity is None else MotionQuantity(quantity), muscle=_optional_text(r, "muscle"),
                side=None if r["side"] is None else str(r["side"]).lower(),
            )
        return motions, problems

    def _read_actions(self) -> dict[str, Action]:
        labels = self._labels(queries.text("_action_labels"))
        rows = self.select(queries.text("_actions"))
        poses = _poses(self.select(queries.text("_action_poses")))
        links = self.select(queries.text("_action_links"))
        channels = self.select(queries.text("_action_channels"))
        actions = {}
        for r in rows:
            a = _text(r, "a")
            linked = {
                rel: tuple(sorted(str(x["o"]) for x in links if x["a"] == a and x["rel"] == rel))
                for rel in ("primaryMuscle", "secondaryMuscle", "containsKeyStep")
            }
            actions[a] = Action(
                id=a, label=labels.get(a, {}).get("label", {}), equipment=_text(r, "eq"),
                primary_muscles=linked["primaryMuscle"], secondary_muscles=linked["secondaryMuscle"],
                key_steps=linked["containsKeyStep"],
                first_moving_phase=_optional_text(r, "first") or "Eccentric",
                start_pose=poses.get((a, "startPose"), {}), turn_pose=poses.get((a, "turnPose"), {}),
                emg_channels=tuple(EMGChannel(index=_int(c, "i"), muscle=_text(c, "m"), side=_text(c, "side"))
                                   for c in channels if c["a"] == a),
                source=self._loc(a),
                rules=tuple(sorted(rule.id for rule in self.rules.values() if rule.action == a)),
            )
        return actions


_CHOICES: tuple[tuple[str, str, type[FKGChoice]], ...] = (
    ("statistic", "statistic", Statistic),
    ("comparator", "comparator", Comparator),
    ("sides", "sideSelection", SideSelection),
)
"""Detector values read as enums: (column of ``_rules.rq``, FKG property, the values the engine implements)."""


def _unknown_choice(rule: str, prop: str, kind: type[FKGChoice], value: Binding, source: SourceLocation,
                    part: str = "detector") -> ShapeViolation:
    """A detector or fault-motion value that SHACL let through (a declared individual) but the engine cannot
    evaluate."""
    name = f"fkg:{value}" if "/" not in str(value) else f"<{value}>"
    known = ", ".join(f"fkg:{member}" for member in kind)
    return ShapeViolation(focus=f"{rule}/{part}", path=prop, severity="Violation", file=source.file,
                          line=source.line, message=f"fkg:{prop} {name} is not implemented by the engine ({known})")


def _poses(rows: list[dict[str, Binding]]) -> dict[tuple[str, str], dict[str, float]]:
    """``{(action, "startPose"): {"trunk": 10.0, ...}}`` from the rows of ``_action_poses.rq``."""
    poses: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        poses.setdefault((str(r["a"]), str(r["pose"])), {})[str(r["name"])] = _number(r, "value")
    return poses


def _term(value: str | float) -> ox.NamedNode | ox.Literal:
    """FKG ids (they start with a capital: ``A16``, ``Eccentric``) become IRIs; other strings, plain
    literals (``"en"``); numbers, numeric literals."""
    if isinstance(value, str):
        return ox.NamedNode(iri(value)) if value[:1].isupper() else ox.Literal(value)
    kind = "integer" if isinstance(value, int) else "decimal"
    return ox.Literal(str(value), datatype=ox.NamedNode(PREFIXES["xsd"] + kind))


def _solutions(result: QueryResult) -> ox.QuerySolutions:
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError(f"expected a SELECT query, got {type(result).__name__}")
    return result


def _term_value(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> str:
    """The IRI, blank node id or lexical form of a bound solution term (unbound is a query that does not fit)."""
    if term is None or isinstance(term, ox.Triple):
        raise TypeError(f"expected a bound node or literal, got {term!r}")
    return term.value


# Readers of the columns of the internal queries, whose shapes SHACL has checked: each says the type it needs.
def _text(row: Mapping[str, Binding], column: str) -> str:
    value = row[column]
    if not isinstance(value, str):
        raise TypeError(f"?{column} is {value!r}, not an id or a string")
    return value


def _optional_text(row: Mapping[str, Binding], column: str) -> str | None:
    return None if row[column] is None else _text(row, column)


def _int(row: Mapping[str, Binding], column: str) -> int:
    value = row[column]
    if not isinstance(value, int):
        raise TypeError(f"?{column} is {value!r}, not an integer")
    return value


def _number(row: Mapping[str, Binding], column: str, default: float | None = None) -> float:
    """``float`` of the column; ``default`` when it is unbound (``None``: it must be bound)."""
    value = row[column]
    if value is None:
        value = default
    if value is None:
        raise TypeError(f"?{column} is unbound")
    return float(value)

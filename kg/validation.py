"""SHACL validation of the parsed ontology, with every result located in a file and line.

Core constraints (counts, classes, datatypes, patterns) run in pySHACL (no inference, in place). The
SHACL-SPARQL constraints of ``shapes.ttl`` run set-at-a-time in pyoxigraph: ``$this`` becomes a
variable bound by the shape's target, so one query checks every focus node. pySHACL's rdflib engine
would run one query per focus node, ~10 ms each, which made a full validation take seconds.
"""

from __future__ import annotations

import re
from functools import partial

import pyoxigraph as ox
import rdflib
from pyshacl import validate
from rdflib.namespace import RDF, SH

from flexaqa.kg.entities import SourceLocation
from flexaqa.kg.errors import ShapeViolation
from flexaqa.kg.namespace import FKG, PREFIXES, after_where, local_name

_THIS = re.compile(r"\$this\b")
_FIELD = re.compile(r"\{\?(\w+)\}")


def to_rdflib(triples: list[ox.Triple]) -> rdflib.Graph:
    """Copy oxigraph triples into an rdflib graph, which is what pySHACL reads."""
    graph = rdflib.Graph()
    bnodes: dict[str, rdflib.BNode] = {}

    def term(t: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> rdflib.term.Node:
        if isinstance(t, ox.Triple):
            raise TypeError(f"quoted triples (RDF-star) are not checked by SHACL: {t}")
        if isinstance(t, ox.NamedNode):
            return rdflib.URIRef(t.value)
        if isinstance(t, ox.BlankNode):
            return bnodes.setdefault(t.value, rdflib.BNode())
        if t.language:
            return rdflib.Literal(t.value, lang=t.language)
        return rdflib.Literal(t.value, datatype=rdflib.URIRef(t.datatype.value))

    for t in triples:
        graph.add((term(t.subject), term(t.predicate), term(t.object)))
    return graph


def check_shapes(
    data: rdflib.Graph, store: ox.Store, shapes: rdflib.Graph, locations: dict[str, SourceLocation]
) -> list[ShapeViolation]:
    """Every SHACL result of the data (as ``data`` and as ``store``) against ``shapes``."""
    core, sparql = _split(shapes)
    _, report, _ = validate(
        data, shacl_graph=core, inference="none", advanced=True, allow_warnings=True, inplace=True
    )
    violations = list(_core_results(report, data, locations))  # warnings too, when the data conforms
    violations += _sparql_results(store, sparql, locations)
    return sorted(violations, key=lambda v: (v.file or "", v.line or 0, v.focus, v.message))


def _split(shapes: rdflib.Graph) -> tuple[rdflib.Graph, list[tuple[str, str, str]]]:
    """The shapes without their SPARQL constraints, and those constraints as (target pattern, select,
    message)."""
    core = rdflib.Graph()
    for triple in shapes:
        core.add(triple)
    constraints = []
    for shape, _, constraint in list(shapes.triples((None, SH.sparql, None))):
        core.remove((shape, SH.sparql, constraint))
        targets = [f"?this a <{c}> ." for c in shapes.objects(shape, SH.targetClass)]
        targets += [f"?_holder <{p}> ?this ." for p in shapes.objects(shape, SH.targetObjectsOf)]
        select = str(shapes.value(constraint, SH.select))
        message = str(shapes.value(constraint, SH.message) or "violates a SPARQL constraint")
        constraints += [(t, select, message) for t in targets]
    return core, constraints


def _sparql_results(
    store: ox.Store, constraints: list[tuple[str, str, str]], locations: dict[str, SourceLocation]
) -> list[ShapeViolation]:
    found = []
    for target, select, message in constraints:
        select = _THIS.sub("?this", select)
        query = after_where(select, target) or select
        solutions = store.query(query, prefixes=PREFIXES)
        if not isinstance(solutions, ox.QuerySolutions):
            raise TypeError(f"a sh:select constraint is no SELECT query: {select!r}")
        names = [v.value for v in solutions.variables]
        for row in solutions:
            values = {n: row[n] for n in names}
            focus = values["this"]
            holder = _holder(store, focus) if isinstance(focus, ox.BlankNode) else None
            name = f"{holder[0]}/{holder[1]}" if holder else focus.value
            loc = locations.get(holder[0] if holder else focus.value)
            path = values.get("path")
            text = _FIELD.sub(partial(_fill, values), message)
            found.append(ShapeViolation(
                focus=name.replace(FKG, ""), path=local_name(path.value) if path is not None else None,
                message=text.replace(FKG, "fkg:"), severity="Violation",
                file=loc.file if loc else None, line=loc.line if loc else None,
            ))
    return found


def _core_results(
    report: rdflib.Graph, data: rdflib.Graph, locations: dict[str, SourceLocation]
) -> list[ShapeViolation]:
    out = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        messages = sorted(str(m) for m in report.objects(result, SH.resultMessage))
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        holder = None
        if isinstance(focus, rdflib.BNode):
            holder = next(((str(s), local_name(str(p))) for s, p in data.subject_predicates(focus)), None)
        name = f"{holder[0]}/{holder[1]}" if holder else str(focus)
        loc = locations.get(holder[0] if holder else str(focus))
        out.append(ShapeViolation(
            focus=name.replace(FKG, ""),
            path=local_name(str(path)) if isinstance(path, rdflib.URIRef) else None,
            message=("; ".join(messages) or "violates a shape").replace(FKG, "fkg:"),
            severity=severity, file=loc.file if loc else None, line=loc.line if loc else None,
        ))
    return out


def _holder(store: ox.Store, node: ox.BlankNode) -> tuple[str, str] | None:
    """A blank node (a rule's detector) is named after the node holding it: (holder IRI, property)."""
    for quad in store.quads_for_pattern(None, None, node):
        if not isinstance(quad.subject, ox.Triple):
            return quad.subject.value, local_name(quad.predicate.value)
    return None


def _fill(values: dict[str, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None], field: re.Match[str]
          ) -> str:
    """A ``{$name}`` field of a constraint's message, filled with that solution's value."""
    return _show(values.get(field.group(1)))


def _show(term: ox.NamedNode | ox.Literal | ox.BlankNode | ox.Triple | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Triple):
        return str(term)
    return term.value.replace(FKG, "fkg:") if isinstance(term, ox.NamedNode) else term.value

"""Knowledge-graph commands: ``sparql``, ``rules check``, ``kg stats``, ``kg export``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import networkx as nx
import pyoxigraph as ox

from api.cli.common import load_graph, ontology_root
from kg import KGError, KnowledgeGraph
from kg import queries as named_queries
from kg.export import to_networkx
from kg.graph import default_root, python_value
from kg.loader import ontology_files
from kg.namespace import PREFIXES

log = logging.getLogger("flexaqa")

RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}


# ---------------------------------------------------------------------- sparql


def cmd_sparql(args: argparse.Namespace) -> int:
    if args.list:
        for name in named_queries.names():
            print(f"{name:28} {named_queries.describe(name)}")
        return 0
    if args.query is None:
        raise SystemExit("flexaqa sparql: give a query, a .rq file, or --named NAME (see --list)")
    text = args.query
    if text in named_queries.names():
        text = named_queries.text(text)
    elif text.endswith(".rq"):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as exc:
            raise SystemExit(f"flexaqa sparql: cannot read {args.query}: {exc.strerror}") from None
    bindings = dict(_parse_binding(b) for b in args.bind)
    graph = load_graph(args)
    try:
        result = graph.query(text, **bindings)
    except (SyntaxError, ValueError) as exc:
        raise SystemExit(f"flexaqa sparql: bad query: {exc}") from None
    if isinstance(result, ox.QueryBoolean):
        print("true" if bool(result) else "false")
    elif isinstance(result, ox.QueryTriples):
        sys.stdout.write(ox.serialize(result, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES).decode())
    elif args.format == "table":
        _print_table([v.value for v in result.variables], graph, result)
    else:
        sys.stdout.write(result.serialize(format=RESULT_FORMATS[args.format]).decode())
    return 0


def _parse_binding(text: str) -> tuple[str, str | float]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise SystemExit(f"flexaqa sparql: --bind wants NAME=VALUE, got {text!r}")
    try:
        return name.lstrip("?"), float(value) if "." in value else int(value)
    except ValueError:
        return name.lstrip("?"), value


def _print_table(columns: list[str], graph: KnowledgeGraph, result: ox.QuerySolutions) -> None:
    rows = [["" if (v := python_value(row[c])) is None else str(v) for c in columns] for row in result]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    print(f"({len(rows)} rows)")


# ---------------------------------------------------------------------- rules


def cmd_rules_check(args: argparse.Namespace) -> int:
    """Validate an ontology folder, or one Turtle file as it would be inside the ontology in force."""
    root = ontology_root(args) or default_root()
    path = Path(args.path) if args.path else root
    if not path.exists():
        raise SystemExit(f"flexaqa rules check: no such file or folder: {path}")
    try:
        if path.is_dir():
            graph = load_graph(args, root=path)
        else:
            rel = _relative_to(path, root)
            graph = load_graph(args, root=root, overrides={rel: path.read_text(encoding="utf-8")})
    except KGError as exc:
        print(f"INVALID\n{exc}", file=sys.stderr)
        return 1
    stats = graph.stats()
    print(f"OK {path}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


def _relative_to(path: Path, root: Path) -> str:
    """Where an edited file stands in the ontology: its own place, the file of the same name, or a new
    action file."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        namesakes = [f for f in ontology_files(root) if f.name == path.name]
        return namesakes[0].relative_to(root).as_posix() if namesakes else f"actions/{path.name}"


# ---------------------------------------------------------------------- kg


def cmd_kg_stats(args: argparse.Namespace) -> int:
    graph = load_graph(args)
    stats = {**graph.stats(), "load_ms": round(graph.load_seconds * 1000, 1)}
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key:14} {value}")
    return 0


def cmd_kg_export(args: argparse.Namespace) -> int:
    graph = load_graph(args)
    if args.format == "graphml":
        lines = nx.generate_graphml(to_networkx(graph))
        data = ("\n".join(lines) + "\n").encode()
    else:
        data = graph.serialize(ox.RdfFormat.TURTLE if args.format == "ttl" else ox.RdfFormat.N_TRIPLES)
    if args.out:
        Path(args.out).write_bytes(data)
        log.info("wrote %s (%d bytes)", args.out, len(data))
    else:
        sys.stdout.buffer.write(data)
    return 0


# ---------------------------------------------------------------------- parser


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sparql", help="run a SPARQL query over the FKG",
                       description="Run a SPARQL 1.1 query (text, a .rq file, or a shipped query's name). "
                       "Prefixes fkg:, rdfs:, rdf:, owl:, xsd: are predeclared.")
    p.add_argument("query", nargs="?", help="query text, path to a .rq file, or a shipped query name")
    p.add_argument("--format", choices=["table", *RESULT_FORMATS], default="table")
    p.add_argument("--bind", action="append", default=[], metavar="NAME=VALUE",
                   help="pre-bind a variable; capitalised values are FKG ids (--bind action=A16)")
    p.add_argument("--list", action="store_true", help="list the shipped competency queries")
    p.set_defaults(func=cmd_sparql)

    rules = sub.add_parser("rules", help="work with penalty-rule Turtle files").add_subparsers(
        dest="rules_command", required=True, metavar="SUBCOMMAND")
    p = rules.add_parser("check", help="validate an ontology folder or one edited Turtle file",
                         description="Strict Turtle parse (file:line:column) and SHACL validation. A single "
                         "file is checked in place of its namesake in the ontology (or as a new file).")
    p.add_argument("path", nargs="?", help="a .ttl file or an ontology folder (default: the ontology)")
    p.set_defaults(func=cmd_rules_check)

    kg = sub.add_parser("kg", help="inspect or export the knowledge graph").add_subparsers(
        dest="kg_command", required=True, metavar="SUBCOMMAND")
    p = kg.add_parser("stats", help="counts, version hash and load time")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_kg_stats)
    p = kg.add_parser("export", help="export the graph as GraphML (networkx view) or RDF")
    p.add_argument("--format", choices=["graphml", "ttl", "nt"], default="ttl")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(func=cmd_kg_export)

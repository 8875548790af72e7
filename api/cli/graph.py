"""Knowledge-graph commands: ``sparql``, ``rules check``, ``kg stats``, ``kg export``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import pyoxigraph as ox

from flexaqa.api import core
from flexaqa.api.cli.common import load_graph
from flexaqa.kg import KGError, sparql
from flexaqa.kg import queries as named_queries
from flexaqa.kg.namespace import PREFIXES

log = logging.getLogger("flexaqa")


# ---------------------------------------------------------------------- sparql


def cmd_sparql(args: argparse.Namespace) -> int:
    if args.list:
        for name in named_queries.names():
            print(f"{name:28} {named_queries.describe(name)}")
        return 0
    if args.query is None:
        raise SystemExit("flexaqa sparql: give a query, a .rq file, or a shipped query's name (see --list)")
    text = sparql.read_query_file(Path(args.query)) if args.query.endswith(".rq") else args.query
    query = sparql.resolve(text)
    bindings = dict(sparql.parse_binding(b) for b in args.bind)
    graph = load_graph(args)
    graph.check_ids(bindings)
    service = sparql.QueryService()
    try:
        if args.format == "table":
            _print(service.rows(graph, query, bindings))
        else:
            sys.stdout.buffer.write(service.answer(graph, query, bindings, results=args.format).body)
    finally:
        service.close()
    return 0


def _print(result: tuple[list[str], list[dict]] | bool | bytes) -> None:
    if isinstance(result, bytes):
        sys.stdout.buffer.write(result)
        return
    if isinstance(result, bool):
        print("true" if result else "false")
        return
    columns, found = result
    rows = [["" if row[c] is None else str(row[c]) for c in columns] for row in found]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    print(f"({len(rows)} rows)")


# ---------------------------------------------------------------------- rules


def cmd_rules_check(args: argparse.Namespace) -> int:
    """Validate an ontology folder, or one Turtle file as it would be inside the ontology in force."""
    path = Path(args.path) if args.path else core.ontology_root(args.ontology)
    if not path.exists():
        raise SystemExit(f"flexaqa rules check: no such file or folder: {path}")
    try:
        graph = load_graph(args, root=path) if path.is_dir() else core.check_rule_file(path, args.ontology)
    except KGError as exc:
        print(f"INVALID\n{exc}", file=sys.stderr)
        return 1
    stats = graph.stats()
    print(f"OK {path}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


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
        import networkx as nx  # only this export needs them: kept off every other command's start-up

        from flexaqa.kg.export import to_networkx

        lines = nx.generate_graphml(to_networkx(graph))
        data = ("\n".join(lines) + "\n").encode()
    else:
        data = graph.serialize(ox.RdfFormat.TURTLE if args.format == "ttl" else ox.RdfFormat.N_TRIPLES)
    if args.out:
        try:
            Path(args.out).write_bytes(data)
        except OSError as exc:
            raise SystemExit(f"flexaqa kg export: cannot write {args.out}: {exc.strerror}") from None
        log.info("wrote %s (%d bytes)", args.out, len(data))
    else:
        sys.stdout.buffer.write(data)
    return 0


# ---------------------------------------------------------------------- parser


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sparql", help="run a SPARQL query over the FKG",
                       description="Run a SPARQL 1.1 query (text, a .rq file, or a shipped query's name). "
                       "Prefixes " + ", ".join(f"{p}:" for p in PREFIXES) + " are predeclared.")
    p.add_argument("query", nargs="?", help="query text, path to a .rq file, or a shipped query name")
    p.add_argument("--format", choices=["table", *sparql.RESULT_MEDIA_TYPES], default="table",
                   help="table for reading; json, xml, csv or tsv (SPARQL 1.1 results) for tools. CONSTRUCT and "
                   "DESCRIBE print Turtle")
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

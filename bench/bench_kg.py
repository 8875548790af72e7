"""Benchmark the FKG: cold load + validation, and competency queries in pyoxigraph vs rdflib.

Run: python bench/bench_kg.py [--repeat N]. Prints a table; medians over repeats, measured side by side.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

import rdflib
from timing import median_ms  # bench/timing.py, beside this script

from flexaqa.kg import KnowledgeGraph
from flexaqa.kg import queries as named
from flexaqa.kg.graph import PREFIXES
from flexaqa.kg.loader import parse_ontology
from flexaqa.kg.validation import to_rdflib

COLD = """
import time; t0 = time.perf_counter()
from flexaqa.kg import KnowledgeGraph
t1 = time.perf_counter(); KnowledgeGraph.load(); t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""

CASES = {
    "errors_in_phase": {"action": "A16", "phase": "Eccentric", "lang": "en"},
    "actions_sharing_error": {"error": "ET001"},
    "action_muscles": {"action": "A16"},
    "action_key_steps": {"action": "A16"},
    "error_feedback": {"error": "ET001", "lang": "en"},
    "max_penalty_per_action": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()

    colds = [tuple(map(float, subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True,
                                             check=True).stdout.split())) for _ in range(args.cold_runs)]
    kg = KnowledgeGraph.load()
    parsed = parse_ontology(kg.root)
    rdf = to_rdflib(parsed.triples)
    ns = {k: rdflib.Namespace(v) for k, v in PREFIXES.items()}

    print(f"FKG {kg.version}: {kg.triple_count} triples, {len(kg.files)} files\n")
    print(f"{'step':44} {'median ms':>10}")
    print(f"{'cold import of kg (fresh process)':44} {statistics.median(c[0] for c in colds) * 1000:10.1f}")
    print(f"{'cold load + SHACL validate (fresh process)':44} {statistics.median(c[1] for c in colds) * 1000:10.1f}")
    print(f"{'warm load + SHACL validate':44} {median_ms(KnowledgeGraph.load, 5):10.1f}")
    print()
    print(f"{'competency query':26} {'pyoxigraph p50 ms':>18} {'rdflib p50 ms':>14} {'rdflib/oxigraph':>16}")
    for name, binds in CASES.items():
        text = named.text(name)
        ox_ms = median_ms(lambda t=text, b=binds: kg.select(t, **b), args.repeat)
        init = {k: rdflib.term.Literal(v) if not v[:1].isupper() else rdflib.URIRef(PREFIXES["fkg"] + v)
                for k, v in binds.items()}
        rdf_ms = median_ms(lambda t=text, i=init: list(rdf.query(t, initNs=ns, initBindings=i)),
                           max(10, args.repeat // 10))
        assert len(kg.select(text, **binds)) == len(list(rdf.query(text, initNs=ns, initBindings=init))), name
        print(f"{name:26} {ox_ms:18.3f} {rdf_ms:14.3f} {rdf_ms / ox_ms:15.1f}x")


if __name__ == "__main__":
    main()

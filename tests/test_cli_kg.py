"""The ``flexaqa`` command line, run as a user runs it: a real process."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def test_help_is_everywhere(flexaqa) -> None:
    for args in ([], ["sparql"], ["rules", "check"], ["kg", "stats"], ["kg", "export"]):
        out = flexaqa(*args, "--help")
        assert out.returncode == 0 and "usage: flexaqa" in out.stdout


def test_sparql_counts_actions_as_csv(flexaqa) -> None:
    out = flexaqa("sparql", "SELECT (COUNT(?a) AS ?n) WHERE { ?a a fkg:Action }", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert list(csv.reader(io.StringIO(out.stdout))) == [["n"], ["20"]]


def test_sparql_runs_a_named_query_with_a_binding_as_a_table(flexaqa) -> None:
    out = flexaqa("sparql", "action_key_steps", "--bind", "action=A16")
    assert out.returncode == 0, out.stderr
    assert "Preparation" in out.stdout and "Concentric" in out.stdout


def test_sparql_bad_query_is_a_clear_error(flexaqa) -> None:
    out = flexaqa("sparql", "SELECT WHERE {")
    assert out.returncode != 0 and "bad query" in out.stderr and "Traceback" not in out.stderr


def test_rules_check_accepts_the_shipped_ontology(flexaqa) -> None:
    out = flexaqa("rules", "check")
    assert out.returncode == 0 and out.stdout.startswith("OK")


def test_rules_check_rejects_a_broken_file_with_its_line(tmp_path: Path, ontology_copy: Path, flexaqa) -> None:
    target = next((ontology_copy / "actions").glob("A16_*.ttl"))
    target.write_text(target.read_text(encoding="utf-8") + "\nfkg:A16 fkg:weight .\n", encoding="utf-8")
    out = flexaqa("--ontology", str(ontology_copy), "rules", "check", str(target))
    assert out.returncode == 1
    last_line = len(target.read_text(encoding="utf-8").splitlines())
    assert f"actions/{target.name}:{last_line}:" in out.stderr


def test_kg_stats_as_json(flexaqa) -> None:
    out = flexaqa("kg", "stats", "--json")
    stats = json.loads(out.stdout)
    assert (stats["actions"], stats["key_steps"], stats["error_types"]) == (20, 56, 63)


def test_kg_export_graphml_is_readable_xml(tmp_path: Path, flexaqa) -> None:
    target = tmp_path / "fkg.graphml"
    assert flexaqa("kg", "export", "--format", "graphml", "--out", str(target)).returncode == 0
    nodes = ET.parse(target).getroot().iter("{http://graphml.graphdrawing.org/xmlns}node")
    assert sum(1 for _ in nodes) > 20 + 56 + 63


def test_kg_export_turtle_round_trips(tmp_path: Path) -> None:
    import pyoxigraph as ox

    out = subprocess.run([sys.executable, "-m", "flexaqa", "kg", "export", "--format", "ttl"],
                         capture_output=True, timeout=120)
    triples = list(ox.parse(out.stdout, format=ox.RdfFormat.TURTLE))
    assert len(triples) > 1000


def test_rules_check_rejects_a_detector_on_an_unknown_joint(ontology_copy: Path, flexaqa) -> None:
    target = next((ontology_copy / "actions").glob("A16_*.ttl"))
    text = target.read_text(encoding="utf-8")
    assert "( fkg:Knee fkg:Ankle )" in text
    target.write_text(text.replace("( fkg:Knee fkg:Ankle )", "( fkg:Knee fkg:Ankel )", 1), encoding="utf-8")
    out = flexaqa("--ontology", str(ontology_copy), "rules", "check", str(target))
    assert out.returncode == 1
    assert f"actions/{target.name}:" in out.stderr and "Ankel" in out.stderr


def test_sparql_bad_paths_and_bindings_are_clear_errors(flexaqa) -> None:
    out = flexaqa("sparql", "missing.rq")
    assert out.returncode != 0 and "cannot read missing.rq" in out.stderr and "Traceback" not in out.stderr
    out = flexaqa("sparql", "SELECT ?a { ?a a fkg:Action }", "--bind", "a=A16")
    assert out.returncode != 0 and "WHERE" in out.stderr and "Traceback" not in out.stderr
    long_query = "SELECT ?a WHERE { ?a a fkg:Action . " + "?a ?p ?o . " * 40 + "} LIMIT 1"
    assert flexaqa("sparql", long_query).returncode == 0


def test_rules_check_puts_an_edited_copy_in_place_of_its_namesake(tmp_path: Path, flexaqa) -> None:
    from flexaqa.ontology import ONTOLOGY_DIR

    copy = tmp_path / "errors.ttl"
    copy.write_text((ONTOLOGY_DIR / "errors.ttl").read_text(encoding="utf-8"), encoding="utf-8")
    out = flexaqa("rules", "check", str(copy))
    files = sum(1 for p in ONTOLOGY_DIR.rglob("*.ttl") if p.name != "shapes.ttl")  # the copy replaces one
    assert out.returncode == 0 and f"files {files}," in out.stdout
    assert flexaqa("rules", "check", str(tmp_path / "nope.ttl")).returncode != 0


def test_the_rule_path_does_not_import_torch() -> None:
    code = ("import sys; from flexaqa.api.cli import main; rc = main(['rules', 'check']); "
            "sys.exit(rc or ('torch' in sys.modules) * 3)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.returncode, out.stderr[-300:])

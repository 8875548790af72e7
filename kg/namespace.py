"""The one FKG namespace, documented in ``ontology/fkg.ttl``, and the prefixes every query may use."""

import re

FKG = "https://w3id.org/flexaqa/fkg#"

PREFIXES = {  # predeclared in every query and export
    "fkg": FKG,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
    "qudt": "http://qudt.org/schema/qudt/",
    "unit": "http://qudt.org/vocab/unit/",
}



def local_name(iri: str) -> str:
    """The stable id of an FKG node (``A16``, ``AK47``, ``ET005``) from its IRI."""
    return iri[len(FKG):] if iri.startswith(FKG) else iri


def iri(local: str) -> str:
    """The IRI of an FKG node from its stable id."""
    return FKG + local


SKIPPED = r"""\#[^\n]*|'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\x00-\x20]*>"""
"""What SPARQL text says that is not query structure: comments, strings and IRIs (regex alternatives)."""
_WHERE = re.compile(rf"(?P<skip>{SKIPPED})|(?P<where>\bWHERE\s*\{{)", re.IGNORECASE | re.DOTALL)


def after_where(query: str, text: str) -> str | None:
    """``query`` with ``text`` put at the start of its WHERE clause (where variable bindings and SHACL
    targets go), or ``None`` when it has no explicit WHERE; a "WHERE {" inside a comment, string or IRI is
    not the clause."""
    for match in _WHERE.finditer(query):
        if match.lastgroup == "where":
            return f"{query[:match.end()]} {text} {query[match.end():]}"
    return None

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


WHERE = re.compile(r"WHERE\s*\{", re.IGNORECASE)
"""The opening of a query's WHERE clause, where variable bindings and SHACL targets are inserted."""

"""The one FKG namespace, documented in ``ontology/fkg.ttl``."""

FKG = "https://w3id.org/flexaqa/fkg#"


def local_name(iri: str) -> str:
    """The stable id of an FKG node (``A16``, ``AK47``, ``ET005``) from its IRI."""
    return iri[len(FKG):] if iri.startswith(FKG) else iri


def iri(local: str) -> str:
    """The IRI of an FKG node from its stable id."""
    return FKG + local

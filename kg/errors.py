"""Errors that say which file, line and node a Turtle edit must fix."""

from __future__ import annotations

from dataclasses import dataclass


class KGError(Exception):
    """Base class: the Turtle files cannot become the graph in force, or the graph lacks what was asked."""


class UnknownIdError(KGError, KeyError):
    """An FKG id (an action, a rule, ...) that the graph in force does not define."""

    def __str__(self) -> str:
        return str(self.args[0])


class OntologyFolderError(KGError):
    """The folder given as the ontology does not exist or is not an ontology folder."""


class TurtleSyntaxError(KGError):
    """A Turtle file that does not parse; carries its file, line and column."""

    def __init__(self, file: str, line: int | None, column: int | None, message: str) -> None:
        self.file, self.line, self.column, self.message = file, line, column, message
        where = file if line is None else f"{file}:{line}:{column or 0}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ShapeViolation:
    """One SHACL result, located in the file (and line) that defines the offending node."""

    focus: str
    path: str | None
    message: str
    severity: str
    file: str | None
    line: int | None

    def __str__(self) -> str:
        where = self.file or "<unknown file>"
        if self.line is not None:
            where += f":{self.line}"
        prop = f" {self.path}" if self.path else ""
        return f"{where}: {self.focus}{prop}: {self.message}"


class ShapeViolationError(KGError):
    """The files parse but break the FKG shapes (``ontology/shapes.ttl``)."""

    def __init__(self, violations: list[ShapeViolation]) -> None:
        self.violations = violations
        lines = "\n".join(f"  {v}" for v in violations)
        super().__init__(f"{len(violations)} SHACL violation(s):\n{lines}")


class QueryError(KGError):
    """A SPARQL query that cannot be answered: bad syntax, a missing or unknown binding, an unknown name."""


class QueryRefusedError(QueryError):
    """A query the read-only endpoint does not run: an update, LOAD, SERVICE, or one too long or deep."""


class QueryLimitError(QueryError):
    """A query stopped by a limit: time, result size, memory, or every worker busy."""


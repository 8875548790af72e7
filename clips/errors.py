"""One error type for every bad clip input, so callers catch one thing and can point at the field."""

from __future__ import annotations

from pydantic import ValidationError


class ClipError(ValueError):
    """A clip input that cannot be used: ``field`` names where (dotted), ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")

    def __reduce__(self) -> tuple[type[ClipError], tuple[str, str]]:
        return type(self), (self.field, self.problem)


def from_validation_error(exc: ValidationError, prefix: str) -> ClipError:
    """Turn pydantic's report into a ClipError: our own raised ClipError wins, else the first error's loc."""
    errors = exc.errors()
    for err in errors:
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, ClipError):
            return cause
    first = errors[0]
    loc = ".".join(str(part) for part in first["loc"])
    field = f"{prefix}.{loc}" if loc else prefix
    problem = "required" if first["type"] == "missing" else first["msg"]
    return ClipError(field, problem)


class ClipTooLarge(ClipError):
    """A clip input larger than a limit allows, refused from its declared size before it is read; ``limit``
    names the limit (a field of :class:`clips.files.BundleLimits`), so a caller can say how to raise it."""

    def __init__(self, field: str, problem: str, limit: str) -> None:
        super().__init__(field, problem)
        self.limit = limit

    def __reduce__(self) -> tuple[type[ClipTooLarge], tuple[str, str, str]]:  # type: ignore[override]
        return type(self), (self.field, self.problem, self.limit)

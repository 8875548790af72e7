"""Service settings in one place: a plain pydantic model filled from ``FLEXAQA_*`` variables and flags.

Every field ``name`` is read from ``FLEXAQA_<NAME>`` (so ``FLEXAQA_ONTOLOGY`` means the same folder to
the service as to the command line); flags given to ``flexaqa serve`` win over the environment.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "FLEXAQA_"
log = logging.getLogger(__name__)


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and the problem."""


class Settings(BaseModel):
    """What an operator may tune; the defaults serve one lifter's phone on a laptop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", description="interface to listen on")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0: any free port)")
    ontology: Path | None = Field(default=None, description="ontology folder (default: the shipped one)")
    assess_workers: int = Field(default=2, ge=1, le=64, description="assessments computed at once")
    assess_queue: int = Field(default=8, ge=0, le=1024,
                              description="assessments allowed to wait for a worker before 503")
    retry_after_s: int = Field(default=2, ge=1, le=3600, description="Retry-After sent with a 503")
    max_body_mb: float = Field(default=64.0, gt=0, le=4096, description="largest request body accepted")
    max_clip_s: float = Field(default=600.0, gt=0, le=86_400,
                              description="longest skeleton or sEMG recording one request may carry, in seconds")
    max_bundle_mb: float = Field(default=256.0, gt=0, le=65_536,
                                 description="most an uploaded clip bundle may unpack to, in MB (checked on its "
                                 "members' declared sizes, before decompressing)")
    sparql_workers: int = Field(default=2, ge=1, le=32, description="sandboxed SPARQL worker processes")
    sparql_timeout_s: float = Field(default=5.0, gt=0, le=600, description="time limit of one user query")
    sparql_max_results: int = Field(default=10_000, ge=1, le=10_000_000, description="rows or triples per query")
    workers: int = Field(default=1, ge=1, le=64, description="server processes sharing port and ontology folder")
    rules_token: SecretStr | None = Field(default=None, description="bearer token for PUT /rules (none: editing off)")
    watch_rules: bool = Field(default=True, description="apply Turtle files edited on disk while serving")
    cors_origins: tuple[str, ...] = Field(default=(), description="origins allowed cross-site (comma-separated; "
                                          "none: CORS off)")
    access_log: bool = Field(default=True, description="one JSON line per request on stderr")
    model: bool = Field(default=True, description="let the shipped learned scorer speak for the rules whose "
                        "detectors abstained (false: the Turtle rules alone)")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return tuple(o.strip() for o in value.split(",") if o.strip()) if isinstance(value, str) else value

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def max_bundle_bytes(self) -> int:
        return int(self.max_bundle_mb * 1024 * 1024)

    def to_env(self) -> dict[str, str]:
        """These settings as ``FLEXAQA_*`` variables: how worker processes started by uvicorn receive them."""
        env = {}
        for name, value in self:
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, tuple):
                value = ",".join(value)
            env[ENV_PREFIX + name.upper()] = str(value)
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``FLEXAQA_*`` variables, then ``overrides`` (flags; ``None`` means not given)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if env.get(key, "") != "":
                values[name] = env[key]
        values |= {k: v for k, v in overrides.items() if v is not None}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "settings"
            source = "flag" if name in overrides and overrides[name] is not None else ENV_PREFIX + name.upper()
            raise SettingsError(f"{source} ({name}): {first['msg']}") from None


OTHER_VARIABLES = ("CACHE_DIR",)
"""``FLEXAQA_*`` variables that are no service setting but are read elsewhere (kg.shape_cache's folder)."""


def warn_unknown_variables(env: Mapping[str, str] | None = None) -> None:
    """Log a warning for each ``FLEXAQA_*`` variable nothing reads, naming the nearest setting: a misspelt
    ``FLEXAQA_RULE_TOKEN`` would otherwise leave rule editing off without a word."""
    env = os.environ if env is None else env
    known = [name.upper() for name in (*Settings.model_fields, *OTHER_VARIABLES)]
    for key in sorted(k for k in env if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX):] not in known):
        near = difflib.get_close_matches(key[len(ENV_PREFIX):], known, n=1, cutoff=0.6)
        log.warning("%s is no flexaqa setting and is ignored%s", key,
                    f"; did you mean {ENV_PREFIX}{near[0]}?" if near else "")

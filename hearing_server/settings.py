"""Settings: defaults in code, a TOML file over them, ``HEARING_*`` variables over both.

Nothing secret lives in the repository: the signing key is read from the environment or
generated on first run and kept in the data directory, readable only by its owner.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rooms.policy import JurisdictionPolicy

CONFIG_ENV = "HEARING_CONFIG"
DEFAULT_CONFIG = Path("config/hearing-server.toml")
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("hearing_config_file", default=None)


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class CourtDefaults(BaseModel):
    code: str = "TAND-DEMO"
    name: str = "Tòa án nhân dân (máy chủ mới cài đặt)"
    time_zone: str = "Asia/Ho_Chi_Minh"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HEARING_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_base_url: str = ""
    """How browsers reach the server; join links start with it. Empty: from host and port."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/24``) of reverse proxies whose
    ``X-Forwarded-For/-Proto/-Host`` headers are believed; from anyone else they are ignored."""
    data_dir: Path = Path("var")
    database_url: str = ""
    """Empty: an SQLite file in the data directory. PostgreSQL: ``postgresql+asyncpg://…``."""
    redis_url: str | None = None
    """Unset: embedded mode (in-process bus). Set: cluster mode through Redis."""
    secret_key: SecretStr | None = None
    recordings_dir: Path | None = None
    recording_segment_seconds: float = Field(default=4, ge=1, le=60)
    """Length of a recorded segment: a crash loses at most the open one of each track."""
    recording_min_free_mb: int = Field(default=1024, ge=0)
    """Recording is refused to start when less space than this is free for it."""
    recording_warn_free_mb: int = Field(default=8192, ge=0)
    """Below this much free space for recordings IT staff are warned (0: never), well before
    ``recording_min_free_mb``, under which recording is refused."""
    recording_court_pkcs12: Path | None = None
    """The court's own certificate and key (PKCS#12 from its CA): recordings' manifests are
    then also signed with it (CMS), beside the server's Ed25519 key."""
    recording_court_pkcs12_password: SecretStr | None = None
    document_font_dir: Path = Path("/usr/share/fonts/truetype/dejavu")
    """Where DejaVu Serif is (Debian's ``fonts-dejavu-core``): the minutes' PDF embeds it, for
    its Vietnamese letters."""
    export_recording_max_mb: int = Field(default=512, ge=0)
    """A composed recording up to this size goes into a hearing's case-file bundle; a larger
    one is named there by its hash and the address of its staff page."""
    recording_retention_days: dict[str, int] = Field(default_factory=dict)
    """Days a recording is kept after it ends, per case type (``criminal``, ``civil``, …);
    a case type left out is kept for ever. Deletion runs only when asked (CLI or API)."""
    staff_token_hours: float = Field(default=12, gt=0, le=24 * 30)
    join_link_grace_hours: float = Field(default=12, ge=0, le=24 * 30)
    """A join link works until the session's planned end plus this margin."""
    ice_servers: list[IceServer] = Field(default_factory=list)
    """STUN servers handed to browsers: none by default. A court network may not reach the
    internet and must not tell a third party its participants' addresses; browsers and the
    server pair over their own host candidates, and ``turn_urls`` add the court's TURN."""
    turn_urls: list[str] = Field(default_factory=list)
    turn_secret: SecretStr | None = None
    """coturn's ``static-auth-secret``: TURN credentials are derived from it per user."""
    turn_credential_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    media_enabled: bool = True
    """Forward audio and video between participants; off: signalling and control only."""
    video_codec: Literal["VP8", "H264"] = "VP8"
    """The one video codec every participant of a session sends and receives."""
    media_forwarding: Literal["rtp", "frame"] = "rtp"
    """``rtp``: packets rewritten per receiver; ``frame``: the older frame-level path, kept
    runnable to compare against (benchmarks) until it is removed."""
    media_loop: Literal["shared", "own"] = "shared"
    """``own``: the forwarder runs on an event loop of its own, in a thread of the server
    process, so that signalling (an ``admit`` and its database round trips) does not wait
    behind the fan-out of a large meeting; ``shared``: one loop for both. Experimental: it
    did not lower ``admit`` latency clearly (docs/benchmarks.md), and a recording stopped by
    a shutdown can leave a database connection unclosed."""
    media_connect_seconds: float = Field(default=30, ge=1, le=300)
    """How long a page waits for its media link to connect before it starts again (with
    back-off, telling the person); slow networks with TURN over TCP may need longer."""
    media_silence_seconds: float = Field(default=10, gt=0, le=600)
    """A connected participant that sends no media for this long is marked disconnected."""
    link_report_seconds: float = Field(default=2, gt=0, le=60)
    """How often connection quality is measured and sent to participants and monitors."""
    loop_lag_alert_ms: float = Field(default=250, gt=0, le=60_000)
    """IT staff are told the server is overloaded when its event loop runs later than this…"""
    loop_lag_alert_seconds: float = Field(default=3, gt=0, le=600)
    """…for this many seconds of twice as many (a single stall that long counts too)."""
    media_silence_lag_grace_seconds: float = Field(default=10, gt=0, le=600)
    """A silence found while the server itself lagged counts only once it has lasted this
    long on a steady loop, unless the link shows its own loss first (failed connection, no
    RTCP reports)."""
    node_heartbeat_seconds: float = Field(default=2, gt=0, le=60)
    """Cluster mode: how often a server process tells the others it lives; its heartbeat
    expires after three times this, and then the connections it held are swept as lost."""
    lost_connection_sweep_seconds: float = Field(default=5, gt=0, le=600)
    """Cluster mode: how often each process looks for connections no live process holds."""
    unheld_connection_grace_seconds: float = Field(default=30, ge=0, le=3600)
    """Cluster mode: how long someone shown connected may have no holding process at all
    (between their join and its record, or after Redis lost its data) before being swept."""
    court: CourtDefaults = Field(default_factory=CourtDefaults)
    policy: dict[str, Any] = Field(default_factory=dict)
    """Overrides of the Vietnamese jurisdiction defaults, see ``rooms.policy``."""
    webhook_poll_seconds: float = Field(default=2, gt=0, le=600)
    """How often due webhook notifications are looked for and sent."""
    log_level: str = "INFO"
    """The server's own events (joins, admissions, drops, suspensions, alerts, refusals)."""
    library_log_level: str = "WARNING"
    """aioice, aiortc, socket.io and aiohttp: their per-packet chatter drowns the server's own
    events; ``INFO`` or ``DEBUG`` when diagnosing a connection."""

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry.strip(), strict=False)  # a ValueError names the entry
        return value

    @field_validator("database_url", "redis_url")
    @classmethod
    def _known_engine(cls, value: str | None) -> str | None:
        if value and not value.startswith(
            ("sqlite+aiosqlite://", "postgresql+asyncpg://", "redis://", "rediss://")
        ):
            raise ValueError(
                "use sqlite+aiosqlite:// or postgresql+asyncpg:// for the database, "
                "redis:// for Redis"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_FILE.get() or Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # ------------------------------------------------------------------ derived values

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'hearing.db'}"

    @property
    def effective_recordings_dir(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_embedded(self) -> bool:
        return not self.redis_url

    def jurisdiction(self) -> JurisdictionPolicy:
        return JurisdictionPolicy.from_mapping(self.policy)

    def signing_key(self) -> str:
        """The configured key, or one made on first run and kept beside the database."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings; an explicit file wins over ``HEARING_CONFIG`` and the default path."""
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"configuration file not found: {config_file}")
    token = _CONFIG_FILE.set(config_file)
    try:
        return Settings(**overrides)
    finally:
        _CONFIG_FILE.reset(token)

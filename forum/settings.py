"""Settings read from the environment, each with a default that works on a bare machine."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "asyncpg"}
BROKER_SCHEMES = {"memory", "redis", "rediss"}
SMTP_SCHEMES = {"file", "smtp", "smtps"}


class SettingsError(Exception):
    """A setting that cannot work; the message is one line meant for an operator."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://var/forum.sqlite3"
    broker_url: str = "memory://"
    smtp_url: str = "file://var/outbox"
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    # False when FORUM_BASE_URL was not set and base_url follows HOST/PORT (`forum serve
    # --host/--port`): a WebSocket from a page of whatever host reached this server is then
    # accepted (forum/origins.py), since nobody said which name members use.
    base_url_configured: bool = True
    var_dir: Path = field(default=Path("var"))
    max_body_bytes: int = 1024 * 1024
    # Run the outbox's sender in this process (off: only `forum send-mail` sends; tests).
    mail_sender: bool = True
    # Addresses of reverse proxies whose X-Forwarded-For / -Proto are believed (none: the
    # socket's peer is the client, whatever a local process claims).
    trusted_proxies: tuple[str, ...] = ()
    # Knowledge documents: the largest file, and what one member's files may add up to.
    document_max_bytes: int = 25 * 1024 * 1024
    document_quota_bytes: int = 200 * 1024 * 1024
    # Posts' attachments (forum/actions/attachments.py): the same two bounds, their own.
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_quota_bytes: int = 100 * 1024 * 1024
    # A request's head (request line and headers): its largest size, and how long it may take
    # to arrive (forum/serving.py).
    max_header_bytes: int = 32 * 1024
    header_timeout_seconds: float = 10.0
    # A request's body: the longest pause between two of its chunks, and how long it may take
    # in all (forum/serving.py).
    body_idle_seconds: float = 10.0
    body_timeout_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(env.get("FORUM_VAR_DIR", "var"))
        settings = cls(
            database_url=env.get("FORUM_DATABASE_URL", f"sqlite://{var_dir}/forum.sqlite3"),
            broker_url=env.get("FORUM_BROKER_URL", "memory://"),
            smtp_url=env.get("FORUM_SMTP_URL", f"file://{var_dir}/outbox"),
            secret_key=env.get("FORUM_SECRET_KEY", ""),
            base_url=(env.get("FORUM_BASE_URL") or listening_url(env)).rstrip("/"),
            base_url_configured=bool(env.get("FORUM_BASE_URL")),
            var_dir=var_dir,
            trusted_proxies=tuple(
                part.strip()
                for part in env.get("FORUM_TRUSTED_PROXIES", "").split(",")
                if part.strip()
            ),
            document_quota_bytes=_megabytes(env, "FORUM_DOCUMENT_QUOTA_MB", 200),
            attachment_quota_bytes=_megabytes(env, "FORUM_ATTACHMENT_QUOTA_MB", 100),
            max_header_bytes=_whole(env, "FORUM_MAX_HEADER_BYTES", 32 * 1024, 1024, 1 << 24),
            header_timeout_seconds=_seconds(env, "FORUM_HEADER_TIMEOUT_SECONDS", 10.0),
            body_idle_seconds=_seconds(env, "FORUM_BODY_IDLE_SECONDS", 10.0),
            body_timeout_seconds=_seconds(env, "FORUM_BODY_TIMEOUT_SECONDS", 60.0),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        _check_scheme("FORUM_DATABASE_URL", self.database_url, DATABASE_SCHEMES)
        _check_scheme("FORUM_BROKER_URL", self.broker_url, BROKER_SCHEMES)
        _check_scheme("FORUM_SMTP_URL", self.smtp_url, SMTP_SCHEMES)
        _check_scheme("FORUM_BASE_URL", self.base_url, {"http", "https"})

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def origin(self) -> str:
        """`scheme://host[:port]`, lower case, without the scheme's default port: what a
        browser sends as `Origin` from a page of the forum."""
        from forum.origins import normalized

        return normalized(self.base_url)

    def resolved_secret_key(self) -> str:
        """The explicit key, or one generated once into var/ and reused on later starts."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def listening_url(env: Mapping[str, str]) -> str:
    """`http://HOST:PORT`, where `forum serve` listens (it exports both for its workers and for
    this); a wildcard address (0.0.0.0, ::) becomes 127.0.0.1, this machine's own name."""
    host = env.get("HOST", "").strip() or "127.0.0.1"
    port = env.get("PORT", "").strip() or "8000"
    if host in ("0.0.0.0", "::", "[::]", "*"):  # noqa: S104 - a name for the listener
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if not port.isdigit():
        raise SettingsError(f"PORT={port!r}: a port number")
    return f"http://{host}:{port}"


def _megabytes(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default * 1024 * 1024
    if not raw.isdigit() or not 0 < int(raw) <= 1_000_000:
        raise SettingsError(f"{name}={raw!r}: a whole number of MiB between 1 and 1000000")
    return int(raw) * 1024 * 1024


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise SettingsError(f"{name}={raw!r}: a whole number between {low} and {high}")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:
        raise SettingsError(f"{name}={raw!r}: a number of seconds above 0, at most 3600")
    return seconds


def _check_scheme(name: str, url: str, allowed: set[str]) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in allowed:
        known = ", ".join(f"{s}://" for s in sorted(allowed))
        raise SettingsError(f"{name}={url!r}: unknown URL scheme {scheme!r} (use one of {known})")

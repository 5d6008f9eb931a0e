"""Backup files on disk: names that never collide, the manifest beside each dump, checksums.

A dump is written under a ``.partial`` name opened exclusively and linked
to its final name only when it is complete, so two runs at the same moment
never write into one file, and a half-written dump never looks like a
backup.
"""

import hashlib
import json
import os
import secrets
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = 1
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup could not be made, verified or restored; the message says why, for a person."""


@dataclass
class Manifest:
    name: str
    engine: str
    file_name: str
    taken_at: str  # ISO 8601, UTC
    size_bytes: int
    sha256: str
    app_version: str
    duration_seconds: float
    migrations: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT


def backup_dir() -> Path:
    folder = Path(settings.BACKUP_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def backup_name(*, engine: str, at: datetime) -> str:
    """``pilotops-<engine>-<UTC time>-<random>``: unique even for two runs in one microsecond."""
    return f"pilotops-{engine}-{at:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"


def dump_suffix(engine: str) -> str:
    return ".dump" if engine == "postgresql" else ".sqlite3"


def partial_path(final: Path) -> Path:
    """Create (exclusively) and return the file a dump is written to before it is complete."""
    partial = final.with_name(final.name + ".partial")
    descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(descriptor)
    return partial


def publish(partial: Path, final: Path) -> None:
    """Give a complete dump its final name; fails rather than replace an existing file."""
    os.link(partial, final)
    partial.unlink()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as dump:
        while chunk := dump.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name.split(".")[0] + MANIFEST_SUFFIX)


def manifest_write(dump: Path, manifest: Manifest) -> Path:
    path = manifest_path(dump)
    with path.open("x", encoding="utf-8") as out:
        json.dump(asdict(manifest), out, indent=2, sort_keys=True)
    return path


def manifest_read(dump: Path) -> Manifest:
    path = manifest_path(dump)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except FileNotFoundError:
        raise BackupError(f"{dump.name} has no manifest ({path.name} is missing).") from None
    except (ValueError, TypeError) as error:
        raise BackupError(f"The manifest {path.name} is unreadable: {error}.") from None


def dump_find(name_or_path: str) -> Path:
    """A backup by its name (in BACKUP_DIR) or by the path of its dump file."""
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    for suffix in (".dump", ".sqlite3"):
        path = backup_dir() / f"{name_or_path}{suffix}"
        if path.is_file():
            return path
    raise BackupError(f"No backup named {name_or_path!r} in {backup_dir()}.")


def app_version() -> str:
    """APP_VERSION, else the git commit of the code, else "unknown"."""
    if settings.APP_VERSION:
        return settings.APP_VERSION
    try:
        answer = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return answer.stdout.strip() or "unknown"

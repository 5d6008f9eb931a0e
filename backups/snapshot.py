"""What a dump holds, as the manifest records it and a restore is checked against."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Snapshot:
    row_counts: dict[str, int]
    migrations: list[str]

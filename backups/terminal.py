"""What the backup commands share: progress lines on a terminal, and figures for people."""

from collections.abc import Callable


def progress_printer(command, *, verbosity: int) -> Callable[[str], None] | None:
    """Print each step of a dump or restore when a person watches (a terminal, or -v 2)."""
    if verbosity < 1:
        return None
    if verbosity < 2 and not command.stdout.isatty():
        return None

    def show(line: str) -> None:
        command.stdout.write(f"  … {line}")
        command.stdout.flush()

    return show


def size_text(size_bytes: int) -> str:
    size = float(size_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size_bytes} bytes"

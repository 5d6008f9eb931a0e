"""A scratch folder for a benchmark's embedded database and broker, removed when it ends."""

import atexit
import shutil
import tempfile


def scratch_dir() -> str:
    path = tempfile.mkdtemp(prefix="pilotops-bench-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path

"""Core knows no app: apps register what core runs for them, so adding one never edits core."""

import ast

from django.conf import settings

from tests.conftest import PROJECT_DIR

PROJECT_APPS = {"pilots", "support", "rollouts", "billing", "privacy", "backups"}


def _imported_apps(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found & PROJECT_APPS


def test_core_imports_no_app():
    assert set(settings.INSTALLED_APPS) >= PROJECT_APPS
    importing = {
        str(path.relative_to(PROJECT_DIR)): sorted(_imported_apps(path))
        for path in (PROJECT_DIR / "core").rglob("*.py")
        if "migrations" not in path.parts and _imported_apps(path)
    }

    assert importing == {}


def test_core_runs_what_the_apps_registered():
    """Each app's jobs, gauges, status block and demo data reach core through its registries."""
    from core.maintenance import JOB_STEPS, JOBS
    from core.metrics import GAUGE_READERS
    from core.selectors import STATUS_PARTS
    from core.services import DEMO_SEEDS

    assert {"payout_run", "sla_sweep", "rollouts_guard", "billing_dunning", "backup"} <= set(JOBS)
    assert [step.__module__ for step in JOB_STEPS["retention_sweep"]] == [
        "pilots.jobs",
        "support.jobs",
        "privacy.jobs",
    ]
    assert {read.__module__ for read in GAUGE_READERS} >= {
        "pilots.metrics",
        "support.metrics",
        "backups.selectors",
    }
    assert set(STATUS_PARTS) == {"backup"}
    assert [seed.__module__ for seed in DEMO_SEEDS] == ["pilots.demo", "support.demo"]

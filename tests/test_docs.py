"""The README and docs/ ship with the code: what they point at exists."""

import re

import pytest

from tests.conftest import PROJECT_DIR

DOCS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
COMPOSE = (PROJECT_DIR / "deploy" / "compose.yaml").read_text()


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_docs_link_only_to_files_in_the_repository(doc):
    links = LINK.findall(doc.read_text())

    for target in links:
        assert not target.startswith(("http://", "https://", "..")), f"{doc.name}: {target}"
        assert (doc.parent / target).exists(), f"{doc.name} links to a missing {target}"


def test_readme_production_section_names_the_compose_services_and_files():
    readme = (PROJECT_DIR / "README.md").read_text()
    production = readme.split("## How production runs", 1)[1].split("\n## ", 1)[0]
    first_cells = re.findall(r"^\| ((?:`[a-z]+`(?:, )?)+) \|", production, re.M)
    services = {name for cell in first_cells for name in re.findall(r"`([a-z]+)`", cell)}
    declared = set(re.findall(r"^  ([a-z]+):\n", COMPOSE.split("\nservices:\n", 1)[1], re.M))

    assert (
        services
        == declared
        == {
            "migrate",
            "web",
            "worker",
            "beat",
            "postgres",
            "redis",
            "prometheus",
            "alertmanager",
            "grafana",
        }
    )
    for path in re.findall(r"`((?:deploy|docs)/[\w./-]+|Dockerfile)`", production):
        assert (PROJECT_DIR / path).exists(), path


def test_compose_runs_two_workers_and_exactly_one_beat():
    blocks = dict(re.findall(r"^  ([a-z]+):\n((?:    .*\n|\n)+)", COMPOSE, re.M))

    assert "replicas: 2" in blocks["worker"]
    assert "replicas: 1" in blocks["beat"]
    assert "deploy/gunicorn.conf.py" in blocks["web"]

"""Dependency files of every supported kind, read into one inventory (real file layouts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.advisories.inventory import InventoryError, collect, discover, read_file
from app.advisories.inventory.base import Dependency
from app.advisories.inventory.requirements import parse_requirements
from app.advisories.inventory.sbom import parse_purl

PROJECTS = Path(__file__).parent / "fixtures" / "advisories" / "projects"


def _by_name(deps: list[Dependency], source: str | None = None) -> dict[str, Dependency]:
    return {d.name: d for d in deps if source is None or d.source == source}


def test_requirements_includes_constraints_markers_extras_hashes() -> None:
    deps, files, problems = parse_requirements(PROJECTS / "reqs" / "requirements.txt", PROJECTS / "reqs")
    assert problems == []
    assert files == ["requirements.txt", "requirements/base.txt", "constraints.txt"]  # cycle read once
    found = _by_name(deps)
    assert found["django"].version == "4.2.0" and found["django"].hashes and found["django"].line == 6
    assert found["flask"].markers == 'python_version >= "3.8"'
    assert found["requests"].extras == ("socks",)
    assert found["cryptography"].version == "42.0.0rc1" and found["cryptography"].note == "constraint"
    assert found["urllib3"].version is None and found["urllib3"].specifier == "<3,>=1.26"
    assert found["internal-lib"].note == "editable" and found["internal-lib"].version is None
    assert found["protobuf"].source == "requirements/base.txt"
    assert "pytest" not in found


def test_dev_requirements_file_marks_development_dependencies() -> None:
    deps, _, _ = parse_requirements(PROJECTS / "reqs" / "requirements-dev.txt", PROJECTS / "reqs")
    assert _by_name(deps)["pytest"].dev is True


def test_pip_compile_via_annotations_tell_transitive_from_direct(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "django==4.2.0\n    # via -r requirements.in\nasgiref==3.7.2\n    # via django\n"
        "sqlparse==0.4.4\n    # via\n    #   django\n    #   other\n"
    )
    deps, _, _ = parse_requirements(tmp_path / "requirements.txt", tmp_path)
    assert {d.name: d.direct for d in deps} == {"django": True, "asgiref": False, "sqlparse": False}


def test_include_outside_the_repository_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "secret.txt").write_text("leak==1.0\n")
    (repo / "requirements.txt").write_text("-r ../secret.txt\n")
    with pytest.raises(InventoryError, match="leaves the repository"):
        parse_requirements(repo / "requirements.txt", repo)
    (repo / "requirements.txt").write_text("-r link.txt\n")
    (repo / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(InventoryError, match="leaves the repository"):
        parse_requirements(repo / "requirements.txt", repo)


def test_bad_lines_become_problems_and_the_rest_is_kept(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("django==4.2.0\nthis is not ( a requirement\n")
    deps, _, problems = parse_requirements(tmp_path / "requirements.txt", tmp_path)
    assert [d.name for d in deps] == ["django"]
    assert problems and problems[0].startswith("requirements.txt:2: not a valid requirement")


def test_uv_lock_direct_transitive_runtime_dev() -> None:
    deps, _, _ = read_file(PROJECTS / "uv", "uv.lock")
    found = _by_name(deps)
    assert "shop-api" not in found  # the project itself
    assert (found["django"].version, found["django"].direct, found["django"].dev) == ("4.1.7", True, False)
    assert (found["urllib3"].direct, found["urllib3"].dev) == (False, False)
    assert (found["pytest"].direct, found["pytest"].dev) == (True, True)
    assert (found["pluggy"].direct, found["pluggy"].dev) == (False, True)


def test_poetry_lock_and_pyproject_sections() -> None:
    deps, _, _ = read_file(PROJECTS / "poetry", "poetry.lock")
    found = _by_name(deps)
    assert (found["django"].version, found["django"].direct) == ("4.2.0", True)
    assert found["asgiref"].direct is False
    assert found["pytest"].dev is True
    assert found["internal-lib"].note == "vcs" and found["internal-lib"].version is None
    declared, _, _ = read_file(PROJECTS / "poetry", "pyproject.toml")
    names = _by_name(declared)
    assert "python" not in names
    assert names["django"].version == "4.2.0"  # a bare Poetry version is an exact pin
    assert names["requests"].version is None and names["requests"].extras == ("socks",)
    assert names["pytest"].dev is True and names["pytest"].group == "dev"


def test_pep621_optional_groups_and_dependency_groups(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["Flask==2.2.2", "requests>=2"]\n'
        '[project.optional-dependencies]\ns3 = ["boto3==1.28.0"]\ntest = ["pytest==7.4.0"]\n'
        '[dependency-groups]\nlint = ["ruff==0.1.0"]\n'
    )
    deps, _, problems = read_file(tmp_path, "pyproject.toml")
    assert problems == []
    found = _by_name(deps)
    assert found["flask"].version == "2.2.2" and not found["flask"].dev
    assert found["boto3"].group == "s3" and not found["boto3"].dev
    assert found["pytest"].dev and found["ruff"].dev


def test_pipfile_lock_sections_and_manifest() -> None:
    deps, _, _ = read_file(PROJECTS / "pipenv", "Pipfile.lock")
    found = _by_name(deps)
    assert (found["flask"].version, found["flask"].direct, found["flask"].dev) == ("2.2.2", True, False)
    assert found["urllib3"].direct is False
    assert found["pytest"].dev is True


def test_cyclonedx_takes_pypi_components_only() -> None:
    deps, _, _ = read_file(PROJECTS / "sbom", "bom.json")
    found = _by_name(deps)
    assert set(found) == {"django", "asgiref", "jinja2", "pytest"}
    assert found["django"].direct is True and found["asgiref"].direct is False
    assert found["pytest"].dev is True
    assert parse_purl("pkg:pypi/Zope.Interface@5.0?file_name=x.whl") == ("zope-interface", "5.0")
    assert parse_purl("pkg:npm/lodash@4") is None


def test_freeze_output_direct_is_unknown() -> None:
    deps, _, _ = read_file(PROJECTS / "freeze", "requirements-freeze.txt")
    found = _by_name(deps)
    assert all(d.direct is None for d in deps)
    assert found["internal-lib"].note == "url" and found["internal-lib"].version is None
    assert found["shop-tools"].note == "editable"


def test_discovery_and_configured_files(tmp_path: Path) -> None:
    assert discover(PROJECTS / "reqs") == [
        "requirements.txt",
        "requirements/base.txt",
        "requirements-dev.txt",
    ]
    inventory = collect(PROJECTS / "uv", ["uv.lock"])
    assert inventory.files == ["uv.lock"]
    broken = collect(PROJECTS / "uv", ["../reqs/requirements.txt", "missing.lock"])
    assert broken.dependencies == []
    assert len(broken.problems) == 2 and "inside the repository" in broken.problems[0]


def test_discovery_skips_the_projects_excluded_paths() -> None:
    """A deliberately vulnerable sample folder excluded from the project is not read for osv either."""
    everything = discover(PROJECTS)
    assert "reqs/requirements.txt" in everything and "uv/pyproject.toml" in everything
    kept = discover(PROJECTS, ["reqs", "uv/*.lock"])
    assert not any(rel.startswith("reqs/") for rel in kept) and "uv/uv.lock" not in kept
    assert "uv/pyproject.toml" in kept
    assert collect(PROJECTS, exclude_paths=["*"]).files == []


def test_broken_lock_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("version = [\n")
    (tmp_path / "requirements.txt").write_text("flask==2.2.2\n")
    inventory = collect(tmp_path)
    assert [d.name for d in inventory.dependencies] == ["flask"]
    assert len(inventory.problems) == 1 and inventory.problems[0].startswith("uv.lock: not valid TOML (")


def test_poetry_multiple_constraints_pin_only_when_they_agree(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.poetry.dependencies]\npython = "^3.11"\n'
        'numpy = [{version = "1.24.0", python = "<3.12"}, {version = "1.26.0", python = ">=3.12"}]\n'
        'scipy = [{version = "1.11.0", python = "<3.12"}, {version = "==1.11.0", python = ">=3.12"}]\n'
    )
    deps, _, _ = read_file(tmp_path, "pyproject.toml")
    assert [(d.name, d.version) for d in deps] == [("numpy", None), ("scipy", "1.11.0")]

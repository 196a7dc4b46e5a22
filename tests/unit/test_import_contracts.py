"""importlinter.ini is really read and really enforced.

The first test runs lint-imports on the project itself. The second copies src/
into a temporary tree, plants two forbidden imports and proves lint-imports,
reading the same importlinter.ini, analyses that tree and reports the breaks.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
CONFIG = ROOT / "importlinter.ini"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
ROOT_PACKAGES = ("domain", "application", "adapters", "entrypoints")


def contract_names() -> dict[str, str]:
    """Contract id -> name, as written in importlinter.ini."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    prefix = "importlinter:contract:"
    return {
        section.removeprefix(prefix): parser[section]["name"]
        for section in parser.sections()
        if section.startswith(prefix)
    }


def environment(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("PYTHONSAFEPATH", None)
    return env


def lint_imports(cwd: Path, src: Path) -> subprocess.CompletedProcess[str]:
    # --no-cache: nothing is written into the working tree, and every run analyses afresh.
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "importlinter.ini", "--no-cache", "--no-logo"],
        cwd=cwd, env=environment(src), capture_output=True, text=True, timeout=240,
        check=False,
    )


def summary(output: str) -> tuple[int, int]:
    match = re.search(r"Contracts: (\d+) kept, (\d+) broken\.", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def status_of(output: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)} (KEPT|BROKEN)$", output, re.MULTILINE)
    assert match, f"{name!r} not reported:\n{output}"
    return match.group(1)


def where_packages_resolve(src: Path) -> dict[str, Path]:
    """Where the interpreter lint-imports runs on finds each root package."""
    code = (
        "import importlib.util, json, sys; "
        f"print(json.dumps({{n: importlib.util.find_spec(n).origin for n in {ROOT_PACKAGES!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=src.parent, env=environment(src),
        capture_output=True, text=True, timeout=60, check=True,
    )
    return {name: Path(origin).parent for name, origin in json.loads(result.stdout).items()}


def test_the_config_declares_the_expected_contracts() -> None:
    contracts = contract_names()
    assert len(contracts) >= 5
    assert {"layers", "pure-domain", "framework-free-application"} <= contracts.keys()


def test_lint_imports_reads_the_config_and_keeps_every_contract() -> None:
    assert LINT_IMPORTS.exists(), LINT_IMPORTS
    result = lint_imports(ROOT, SRC)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    kept, broken = summary(output)
    assert broken == 0, output
    assert kept >= 5
    # Every contract of importlinter.ini, by its name, and nothing else, was checked.
    contracts = contract_names()
    assert kept == len(contracts), output
    for name in contracts.values():
        assert status_of(output, name) == "KEPT"


def test_lint_imports_reads_the_file_it_is_given(tmp_path: Path) -> None:
    """A contract renamed in a copy of the config is reported under its new name."""
    text = CONFIG.read_text()
    original = contract_names()["layers"]
    renamed = f"Renamed layers contract {tmp_path.name}"
    assert f"name = {original}\n" in text
    (tmp_path / "importlinter.ini").write_text(
        text.replace(f"name = {original}\n", f"name = {renamed}\n")
    )
    result = lint_imports(tmp_path, SRC)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert status_of(output, renamed) == "KEPT"
    assert original not in output


@pytest.fixture
def leaky_tree(tmp_path: Path) -> Path:
    """A copy of the project with a domain and an application module that break the rules."""
    tree = tmp_path / "project"
    src = tree / "src"
    shutil.copytree(
        SRC, src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    )
    shutil.copy2(CONFIG, tree / "importlinter.ini")
    (src / "domain" / "leak.py").write_text(
        '"""A deliberate violation: the domain reaches for a driver."""\n\n'
        "import sqlalchemy  # noqa: F401\n"
    )
    (src / "application" / "leak.py").write_text(
        '"""A deliberate violation: the application reaches into an adapter."""\n\n'
        "from adapters.sqlalchemy import tables  # noqa: F401\n"
    )
    return tree


def test_the_temporary_tree_shadows_the_installed_packages(leaky_tree: Path) -> None:
    src = leaky_tree / "src"
    resolved = where_packages_resolve(src)
    for name in ROOT_PACKAGES:
        assert resolved[name] == src / name, (name, resolved[name])


def test_lint_imports_reports_the_planted_violations(leaky_tree: Path) -> None:
    result = lint_imports(leaky_tree, leaky_tree / "src")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    kept, broken = summary(output)
    contracts = contract_names()
    assert kept + broken == len(contracts)
    assert broken >= 2

    assert status_of(output, contracts["layers"]) == "BROKEN"
    assert status_of(output, contracts["pure-domain"]) == "BROKEN"
    # The application now reaches sqlalchemy through the adapter, which is forbidden too.
    assert status_of(output, contracts["framework-free-application"]) == "BROKEN"
    # Untouched contracts still hold.
    assert status_of(output, contracts["independent-adapters"]) == "KEPT"
    assert status_of(output, contracts["independent-edges"]) == "KEPT"

    # The breaks are the planted modules: grimp analysed the temporary tree.
    assert "domain.leak -> sqlalchemy" in output
    assert re.search(r"application\.leak -> adapters\.sqlalchemy(\.tables)?\b", output)


def test_the_real_tree_has_no_leak_modules() -> None:
    # The planted modules must only ever exist in the temporary copy.
    assert not (SRC / "domain" / "leak.py").exists()
    assert not (SRC / "application" / "leak.py").exists()

"""Programs that import the core get its annotations: each package carries PEP 561's marker."""

from importlib.resources import files

import pytest


@pytest.mark.parametrize("package", ["domain", "application", "adapters", "entrypoints"])
def test_package_is_marked_typed(package: str) -> None:
    assert (files(package) / "py.typed").is_file()

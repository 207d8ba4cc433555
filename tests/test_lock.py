"""Installs come from requirements/*.lock: every dependency pyproject.toml declares is
pinned there, at a version its range admits. A new or changed dependency fails here
until `make lock` is run."""

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(lock: str) -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, rest = line.partition("==")
            pins[canonicalize_name(name.split("[")[0])] = Version(rest.split()[0].rstrip("\\;"))
    return pins


@pytest.mark.parametrize(
    ("lock", "declared"),
    [
        ("main.lock", PROJECT["dependencies"]),
        ("dev.lock", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]),
    ],
)
def test_every_declared_dependency_is_pinned_within_its_range(
    lock: str, declared: list[str]
) -> None:
    pins = _pins(lock)
    for spec in map(Requirement, declared):
        name = canonicalize_name(spec.name)
        assert name in pins, f"{spec.name} is not in requirements/{lock}: run `make lock`"
        assert spec.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {spec.name}=={pins[name]}, outside {spec.specifier}"
        )


def test_the_locks_carry_hashes() -> None:
    for lock in ("main.lock", "dev.lock"):
        text = (ROOT / "requirements" / lock).read_text()
        assert text.count("==") <= text.count("--hash=sha256:")

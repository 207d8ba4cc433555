"""Every setting of the Settings class is documented where a newcomer looks: in README's
configuration table and in `.env.example`, each at its real default."""

import re
from enum import Enum
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
ENV_NAMES = sorted(name.upper() for name in Settings.model_fields)


def default_text(env_name: str) -> str | None:
    default = Settings.model_fields[env_name.lower()].default
    if default is None:
        return None
    if isinstance(default, SecretStr):
        return default.get_secret_value()
    return str(default.value if isinstance(default, Enum) else default)


def readme_table() -> dict[str, str]:
    """Each variable of README's configuration table, with its default cell."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            _, variables, default, *_ = line.split("|")
            for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", variables):
                rows[name] = default.strip()
    return rows


def env_example() -> dict[str, str]:
    """Each `# NAME=value` line of .env.example."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    found = (re.fullmatch(r"# ([A-Z][A-Z0-9_]*)=(.*)", line) for line in lines)
    return {match[1]: match[2] for match in found if match}


def test_every_setting_is_in_the_readme_table_with_its_default() -> None:
    table = readme_table()
    assert [name for name in ENV_NAMES if name not in table] == []
    for name in ENV_NAMES:
        expected = default_text(name)
        assert table[name] == (f"`{expected}`" if expected is not None else "unset"), name


def test_every_setting_is_in_env_example() -> None:
    assert [name for name in ENV_NAMES if name not in env_example()] == []


def test_env_example_uncommented_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    lines = [
        f"{name}={value}\n"
        for name, value in env_example().items()
        if default_text(name) is not None  # an unset default has an example value instead
    ]
    env_file = tmp_path / ".env"
    env_file.write_text("".join(lines))
    from_file = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert from_file == Settings(_env_file=None)  # type: ignore[call-arg]
    assert {name: env_example()[name] for name in ENV_NAMES if default_text(name)} == {
        name: default_text(name) for name in ENV_NAMES if default_text(name)
    }

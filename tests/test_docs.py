"""Every command has help and is documented in README.md (as sqlite-utils does for its CLI)."""

from pathlib import Path

import click
import pytest

from kg.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "kg") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found.extend(commands(command, f"{prefix} {name}"))
    return found


@pytest.mark.parametrize(("name", "command"), commands(main), ids=[n for n, _ in commands(main)])
def test_command_has_help_and_is_in_the_readme(name, command):
    assert command.help and len(command.help.strip()) > 20
    assert name in README, f"README.md does not mention `{name}`"


def test_readme_opens_with_the_two_commands():
    block = README.split("```")[1].strip().splitlines()
    assert block == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/kg build seeds --out seeds.ttl",
        "bash .ci/run",
    ]

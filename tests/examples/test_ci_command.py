"""The README's test command is the one CI runs, and it needs no ``pip install`` outside a
virtual environment (which Debian's and Ubuntu's system Python refuse)."""

from __future__ import annotations

from pathlib import Path

from .test_readme_examples import section_code

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    """The command lines of the README's "Two commands" block, comments left out."""
    block = section_code("Two commands", language="sh")
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_ci_runs_the_readmes_test_command_as_written() -> None:
    _, checks = readme_commands()
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert checks in script


def test_both_readme_commands_install_only_into_a_virtual_environment() -> None:
    for command in readme_commands():
        steps = [step.strip() for step in command.split("&&")]
        assert steps[:2] == ["python3 -m venv .venv", ". .venv/bin/activate"], command
        # Nothing runs through the system interpreter once the environment is active.
        assert not any(step.startswith("python3 ") for step in steps[2:]), command

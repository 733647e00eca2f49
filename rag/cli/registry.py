"""The commands of ``rag``: a registry that built-in command groups and installed plugins add to.

Like ``llm`` registers its commands, each command group is one module that
offers ``Command`` records; other packages (the chat's ``rag serve`` in
``ui.cli``) add theirs through the ``rag.commands`` entry point group of their
distribution, so no module here names them and no import runs upward.
A plugin entry point names an object (usually a module) with
``add_arguments(parser)`` and ``run(args, settings) -> int``; its help line is
its ``HELP`` or the first line of its docstring.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from rag.core.config import Settings

PLUGIN_GROUP = "rag.commands"


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, help line, its own arguments and what it runs."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], int]


def plugin_commands(group: str = PLUGIN_GROUP) -> list[Command]:
    """Commands that installed distributions declare under ``[project.entry-points."rag.commands"]``."""
    return [from_object(point.name, point.load()) for point in entry_points(group=group)]


def from_object(name: str, target: Any) -> Command:
    """A ``Command`` from an object with ``add_arguments`` and ``run`` (help from ``HELP`` or the docstring)."""
    help_text = getattr(target, "HELP", None) or _first_line(getattr(target, "__doc__", None) or "")
    return Command(name, help_text, target.add_arguments, target.run)


def _first_line(doc: str) -> str:
    """The help line in a docstring: "`rag serve`: start the browser chat." gives "start the browser chat"."""
    line = doc.strip().splitlines()[0] if doc.strip() else ""
    return line.split(": ", 1)[-1].rstrip(".") if line.startswith("`") else line.rstrip(".")


def by_name(commands: Iterable[Command]) -> dict[str, Command]:
    """The commands by name; a name registered twice is a packaging mistake, said at once."""
    found: dict[str, Command] = {}
    for command in commands:
        if command.name in found:
            raise ValueError(f"two commands are called '{command.name}'")
        found[command.name] = command
    return found

"""The ``rag`` command is put together from command groups and plugins, and never imports a plugin by name."""

from __future__ import annotations

import argparse
import sys
import types

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import rag.cli.registry as registry
from rag.cli import BUILTIN, build_parser, commands
from rag.core.config import PROJECT_ROOT


def _plugin(doc: str, **extra) -> types.ModuleType:
    module = types.ModuleType("plugin", doc)
    module.add_arguments = lambda parser: parser.add_argument("--colour")
    module.run = lambda args, settings: 7
    for name, value in extra.items():
        setattr(module, name, value)
    return module


class _Point:
    def __init__(self, name: str, target: object):
        self.name, self._target = name, target

    def load(self) -> object:
        return self._target


def test_a_plugin_command_is_parsed_and_run(monkeypatch):
    plugin = _plugin("`rag paint`: paint the index.\n\nMore words.")
    points = {"rag.commands": [_Point("paint", plugin)]}
    monkeypatch.setattr(registry, "entry_points", lambda group: points.get(group, []))
    known = commands()
    assert known["paint"].help == "paint the index"
    args = build_parser(known).parse_args(["paint", "--colour", "red"])
    assert args.colour == "red" and known[args.command].run(args, None) == 7


def test_help_comes_from_HELP_before_the_docstring():
    assert registry.from_object("x", _plugin("Whatever it does.", HELP="the short help")).help == "the short help"
    assert registry.from_object("x", _plugin("Draws a map.")).help == "Draws a map"


def test_two_commands_of_one_name_are_refused(monkeypatch):
    monkeypatch.setattr(registry, "entry_points", lambda group: [_Point("ask", _plugin("`rag ask`: again."))])
    with pytest.raises(ValueError, match="two commands are called 'ask'"):
        commands()


def test_serve_is_a_plugin_declared_by_the_distribution():
    """`rag serve` lives above rag (the chat in ui, the open API in api); rag.cli finds it through the entry point."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    target = project["entry-points"]["rag.commands"]["serve"]
    assert target == "api.serve" and "serve" not in {c.name for c in BUILTIN}
    module = __import__(target, fromlist=["run"])
    parser = argparse.ArgumentParser()
    registry.from_object("serve", module).add_arguments(parser)
    assert {"--host", "--port", "--auth-file"} <= {o for a in parser._actions for o in a.option_strings}

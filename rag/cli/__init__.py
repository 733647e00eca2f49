"""The ``rag`` command: one module per command group, each offering ``Command`` records.

``library`` (ingest, info, restore), ``ask`` (search, ask), ``evaluate`` (eval),
``export`` (verify) and ``check`` are built in; other packages add commands
through the ``rag.commands`` entry point group (``rag serve`` comes from
``ui.cli`` that way), see ``rag.cli.registry``.
"""

from __future__ import annotations

import argparse
import os
import sys

from rag.cli import ask, check, evaluate, export, library
from rag.cli.common import settings_from_args, settings_parser
from rag.cli.registry import Command, by_name, plugin_commands
from rag.core.errors import BadQuestion, GeneratorError, IndexUnusable, StoreUnreachable

BUILTIN = (*library.COMMANDS, *ask.COMMANDS, *evaluate.COMMANDS, *export.COMMANDS, *check.COMMANDS)


def commands() -> dict[str, Command]:
    """Every command, built-in first, then those of installed plugins."""
    return by_name([*BUILTIN, *plugin_commands()])


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading progress bars on stderr
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    known = commands()
    parser = build_parser(known)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        settings = settings_from_args(args)  # a bad RAG_CONFIG file is one line, like any other error
        return known[args.command].run(args, settings)
    except (BadQuestion, IndexUnusable, GeneratorError, FileNotFoundError, ValueError, StoreUnreachable) as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130


def build_parser(known: dict[str, Command] | None = None) -> argparse.ArgumentParser:
    common = settings_parser()
    parser = argparse.ArgumentParser(prog="rag", description="Cited answers from your documents, on your laptop.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (commands() if known is None else known).values():
        command.add_arguments(sub.add_parser(command.name, parents=[common], help=command.help))
    return parser

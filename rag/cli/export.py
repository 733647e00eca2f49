"""`rag verify`: re-check every quote of a JSON export against the library."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.cli.registry import Command
from rag.core.config import Settings
from rag.export.verify import verify_export


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export", type=Path, metavar="EXPORT", help="a JSON export written by `rag ask --export`")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Re-check the export's quotes against the library: 0 all match, 1 some do not, 2 unreadable export."""
    try:
        data = json.loads(Path(args.export).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"rag: cannot read {args.export}: {exc}", file=sys.stderr)
        return 2
    library = settings.library
    recorded = data.get("index", {}).get("library") if isinstance(data, dict) and isinstance(data.get("index"), dict) else None
    if recorded and Path(recorded).resolve() != library.resolve():
        print(f"note: the export was made from {recorded}; checking {library} (choose with --home or --library)",
              file=sys.stderr)
    problems = verify_export(data, library)
    for problem in problems:
        print(problem)
    checked = sum(len(t.get("citations") or []) for t in data.get("turns") or [] if isinstance(t, dict)) \
        if isinstance(data, dict) else 0
    print(f"checked {checked} quotes against {library}: "
          f"{'all match' if not problems else f'{len(problems)} problem(s)'}", file=sys.stderr)
    return 1 if problems else 0


COMMANDS = (Command("verify", "re-check every quote of a JSON export against the corpus", add_arguments, run),)

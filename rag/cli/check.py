"""`rag check`: fact-check a text sentence by sentence, printed or exported."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.assistant.check import MAX_CHECK_CHARS, check_record, check_text, format_results, write_check
from rag.cli.common import open_assistant
from rag.cli.registry import Command
from rag.core.config import Settings
from rag.core.errors import BadQuestion


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="the text to check, or a path to a UTF-8 text file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--export", type=Path, help="also write the result to FILE (.json or .md)")


def read_input(value: str) -> str:
    """The text itself, or the contents of the file it names."""
    path = Path(value)
    try:
        is_file = len(value) < 4096 and "\n" not in value and path.is_file()
    except OSError:
        is_file = False
    if not is_file:
        return value
    if path.stat().st_size > MAX_CHECK_CHARS * 4:
        raise BadQuestion(f"{path} is too large to check (limit {MAX_CHECK_CHARS} characters)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadQuestion(f"{path} is not UTF-8 text") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    text = read_input(args.text)
    if not any(ch.isalnum() for ch in text):
        raise BadQuestion("the text to check is empty")
    if len(text) > MAX_CHECK_CHARS:
        raise BadQuestion(f"the text is too long to check ({len(text)} characters, limit {MAX_CHECK_CHARS})")
    assistant = open_assistant(settings)
    results = check_text(assistant, text, k=args.top_k)
    if args.json:
        print(json.dumps(check_record(text, results, assistant), ensure_ascii=False, indent=2))
    else:
        print(format_results(results))
    if args.export:
        write_check(args.export, text, results, assistant)
        print(f"exported to {args.export}", file=sys.stderr)
    return 0


COMMANDS = (Command("check", "fact-check a text sentence by sentence: supported, contradicted or not found",
                    add_arguments, run),)

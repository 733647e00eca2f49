"""`rag eval`: answer a file of questions with the real pipeline and score it, or compare two runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rag.assistant.pipeline import open_assistant
from rag.cli.registry import Command
from rag.core.config import Settings
from rag.evaluation.evaluate import RunFiles, evaluate_file, format_summary, mismatched_settings, run_compare


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("questions", nargs="?", type=Path, help="questions file (.jsonl, or .csv)")
    parser.add_argument("--out", type=Path, help="run folder (eval), or compare.json path/folder (--compare)")
    parser.add_argument("--limit", type=int, help="only the first N questions, for a quick run")
    parser.add_argument("--restart", action="store_true", help="discard earlier results in --out instead of resuming")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("RUN_A", "RUN_B"),
                        help="compare two run folders: flipped questions and metric changes")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.compare:
        return run_compare(*args.compare, out=args.out)
    if args.questions is None or args.out is None:
        print("rag eval: give a questions file and --out DIR (or --compare RUN_A RUN_B)", file=sys.stderr)
        return 2
    files = RunFiles(args.out)
    if args.restart and files.results.exists():
        files.results.unlink()
    mixed = mismatched_settings(files, settings)
    if mixed:
        print(f"rag eval: {files.results} was made with other settings ({mixed}); "
              "use another --out, or --restart to discard it", file=sys.stderr)
        return 2
    if not args.questions.exists():
        raise FileNotFoundError(f"no questions file at {args.questions}")
    assistant = open_assistant(settings, on_report=_print_report)
    summary = evaluate_file(assistant, args.questions, args.out, limit=args.limit, progress=not args.quiet)
    if summary is None:
        return 2
    print(format_summary(summary["overall"]))
    print(f"wrote {files.results}, {files.summary}, {files.report}")
    return 0


def _print_report(report: Any) -> None:
    """One line on stderr when the index had to be built before the run."""
    print(f"rag eval: indexed the library first: {len(report.added)} documents, {report.chunks} chunks "
          f"({len(report.skipped)} skipped)", file=sys.stderr)


COMMANDS = (Command("eval", "evaluate answers to a file of questions (JSONL or CSV)", add_arguments, run),)

"""`rag search` and `rag ask`: passages for a question, and a cited answer streamed to the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.cli.common import check_question, open_assistant
from rag.cli.registry import Command
from rag.core.config import Settings
from rag.core.records import Answer
from rag.core.statements import quote_lines, titled
from rag.export.write import export_answers


def search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    check_question(args.question)
    assistant = open_assistant(settings)
    hits = assistant.search(args.question, k=settings.top_k)
    if args.json:
        keys = ("doc_id", "chunk_id", "score", "start", "end", "text")
        print(json.dumps([{k: h.to_dict()[k] for k in keys} for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no passages found")
    for rank, hit in enumerate(hits, start=1):
        c = hit.chunk
        print(f"{rank}. {c.doc_id} [{c.start}:{c.end}] {hit.date or 'undated'}  score {hit.score:.4f}"
              f"  cosine {hit.dense if hit.dense is not None else float('nan'):.2f}")
        print(f"   {hit.title}")
        print("   " + " ".join(c.text.split())[:400])
        if c.text_en:
            print("   (English) " + c.text_en[:400])
        print()
    return 0


def ask_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer as JSON (the `rag eval` shape)")
    p.add_argument("--export", type=Path, help="also write the answer to FILE (.md, .html, .json or .pdf)")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    check_question(args.question)
    assistant = open_assistant(settings)
    answer: Answer | None = None
    for event in assistant.stream(args.question):
        if isinstance(event, Answer):
            answer = event
        elif not args.json:
            print(event, end="", flush=True)
    assert answer is not None
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n")
        print(format_citations(answer))
    if args.export:
        export_answers([answer], args.export, assistant)
        print(f"exported to {args.export}", file=sys.stderr)
    return 0


def format_citations(answer: Answer) -> str:
    if answer.refused:
        return f"(refused: {answer.reason})"
    lines = []
    for c in answer.citations:
        lines.append(f"[{c.n}] {titled(c.title, c.section)} — {c.doc_id} [{c.start}:{c.end}]"
                     f"{' · ' + c.date if c.date else ''}")
        lines += quote_lines(c, "    ")
    return "\n".join(lines)


COMMANDS = (
    Command("search", "show the best passages for a question", search_arguments, cmd_search),
    Command("ask", "answer a question with citations", ask_arguments, cmd_ask),
)

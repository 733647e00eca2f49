"""The ``rag`` command: ingest, search, ask, info, plus eval, verify and serve.

Commands owned by other modules (``eval`` in ``rag.evaluation.evaluate``, ``verify`` in
``rag.export.write``, ``serve`` in ``ui.cli``) register their own arguments through
``add_arguments(parser)`` and run through ``run(args, settings) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from rag.core.config import ANSWER_MODES, OPENAI_APIS, Settings
from rag.models.generate import GeneratorError
from rag.core.records import Answer
from rag.core.statements import quote_lines, titled
from rag.retrieval.retrieve import BadQuestion
from rag.store.protocol import StoreUnreachable
from rag.store.sqlite import IndexUnusable

EXTERNAL_COMMANDS = {
    "eval": ("rag.evaluation.evaluate", "evaluate answers to a file of questions (JSONL or CSV)"),
    "verify": ("rag.export.write", "re-check every quote of a JSON export against the corpus"),
    "serve": ("ui.cli", "start the browser chat"),
    "check": ("rag.assistant.check", "fact-check a text sentence by sentence: supported, contradicted or not found"),
    "restore": ("rag.retrieval.trash", "bring a removed document back from the trash (no DOC: list the trash)"),
}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading progress bars on stderr
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        settings = settings_from_args(args)  # a bad RAG_CONFIG file is one line, like any other error
        if args.command in EXTERNAL_COMMANDS:
            return importlib.import_module(EXTERNAL_COMMANDS[args.command][0]).run(args, settings)
        return COMMANDS[args.command](args, settings)
    except (BadQuestion, IndexUnusable, GeneratorError, FileNotFoundError, ValueError, StoreUnreachable) as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings (also RAG_<NAME> environment variables)")
    group.add_argument("--home", type=Path, help="folder for the library and index (default: ./var)")
    group.add_argument("--library", dest="corpus_dir", type=Path, help="corpus folder (default: HOME/library)")
    group.add_argument("--index", dest="index_dir", type=Path, help="index folder (default: HOME/index)")
    group.add_argument("--store", help="postgresql://USER:PASSWORD@HOST:PORT/DB: one index shared by several "
                       "servers (default: SQLite + FAISS in the index folder)")
    group.add_argument("--generator", choices=["llama", "transformers", "openai", "none"], help="answer backend")
    group.add_argument("--model", help="GGUF path, transformers model, or model name on the server")
    group.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1")
    group.add_argument("--embedding-model", help="sentence-transformers model name or path")
    group.add_argument("-k", "--top-k", type=int, help="passages to retrieve")
    group.add_argument("--temperature", type=float)
    group.add_argument("--no-strict", dest="strict", action="store_false", default=None,
                       help="show model sentences that fail verification, marked (unverified)")
    group.add_argument("--mode", dest="answer_mode", choices=ANSWER_MODES,
                       help="extractive (quotes and a checked short answer), generative (the model writes a cited "
                            "answer, every sentence verified) or auto (generative for chat models; default)")
    group.add_argument("--openai-api", choices=OPENAI_APIS,
                       help="with --generator openai: the completions (default) or chat endpoint")

    parser = argparse.ArgumentParser(prog="rag", description="Cited answers from your documents, on your laptop.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ingest", parents=[common], help="add files and update the index")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders to add (default: just sync the library)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch")
    p.add_argument("--profile", action="store_true", help="print the seconds spent in each ingestion stage")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="extract, chunk and embed on Ray: the cluster at ADDRESS (HOST:PORT), or a local one")
    p.add_argument("--ray-workers", type=int, default=2, metavar="N", help="Ray actors, one encoder each (default 2)")

    p = sub.add_parser("search", parents=[common], help="show the best passages for a question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("ask", parents=[common], help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the answer as JSON (the `rag eval` shape)")
    p.add_argument("--export", type=Path, help="also write the answer to FILE (.md, .html, .json or .pdf)")

    sub.add_parser("info", parents=[common], help="documents, chunks, models and index size")

    for name, (module, help_text) in EXTERNAL_COMMANDS.items():
        p = sub.add_parser(name, parents=[common], help=help_text)
        importlib.import_module(module).add_arguments(p)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    fields = ("home", "corpus_dir", "index_dir", "store", "generator", "model", "base_url", "embedding_model",
              "top_k", "temperature", "strict", "answer_mode", "openai_api")
    return Settings.from_env().replace(**{f: getattr(args, f, None) for f in fields})


def check_question(question: str) -> None:
    """Reject an unusable question before any model is loaded."""
    from rag.assistant.pipeline import check_question as check

    check(question)


def open_assistant(settings: Settings, build: bool = True):
    """An assistant on an index that exists, with a progress bar and a report if it is built now."""
    from rag.assistant.pipeline import open_assistant as open_with

    return open_with(settings, build=build, progress=progress_bar(), on_report=print_report)


def progress_bar():
    """A tqdm progress callback for ingestion (silent when stderr is not a terminal)."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int, current: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="doc", desc="indexing", file=sys.stderr, disable=None)
            if bar.disable and total:  # not a terminal: one line per file instead of a bar
                print(f"indexing {total} files", file=sys.stderr)
        if bar.disable and current and " · " not in current:  # one line per file; stages go to the bar
            print(f"  [{done + 1}/{total}] {current}", file=sys.stderr, flush=True)
        bar.set_postfix_str(current[-40:])
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def print_report(report) -> None:
    for skipped in report.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    print(
        f"added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}; {report.chunks} chunks in the index"
    )


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    if args.ray:
        return _ingest_on_ray(args, settings)
    assistant = open_assistant(settings, build=False)
    report = assistant.ingest(args.paths, rebuild=args.rebuild, progress=progress_bar())
    print_report(report)
    if args.profile:
        print(assistant.index.profile.table())
    return 0


def _ingest_on_ray(args: argparse.Namespace, settings: Settings) -> int:
    """``rag ingest --ray``: the same sync, with files prepared by Ray actors (``rag.retrieval.distributed``)."""
    from rag.retrieval.distributed import RayUnavailable, check_address, ray_sync

    if args.ray_workers < 1:
        raise ValueError("--ray-workers must be at least 1")
    try:
        if args.ray not in {"local", "auto"}:
            check_address(args.ray)  # before anything is copied or written
        assistant = open_assistant(settings, build=False)
        if args.paths:
            _added, skipped = assistant.index.add_files(args.paths)
        else:
            skipped = []
        report = ray_sync(assistant.index, None if args.ray == "local" else args.ray, args.ray_workers,
                          rebuild=args.rebuild, progress=progress_bar())
    except RayUnavailable as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return 2
    report.skipped = skipped + report.skipped
    print_report(report)
    return 0


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
        from rag.export.write import export_answers

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


def cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    assistant = open_assistant(settings, build=False)
    info = assistant.info()
    for key, value in info.items():
        print(f"{key:16} {value}")
    for doc in assistant.documents():
        print(f"  {doc['doc_id']:32} {doc['lang']:3} {doc['date'] or '-':10} {doc['chunks']:4} chunks  {doc['title'][:60]}")
    return 0


COMMANDS = {"ingest": cmd_ingest, "search": cmd_search, "ask": cmd_ask, "info": cmd_info}

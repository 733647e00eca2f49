"""What every command shares: the settings flags, opening the assistant, progress on stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from rag.assistant.pipeline import check_question as check, open_assistant as open_with
from rag.core.config import ANSWER_MODES, OPENAI_APIS, Settings
from rag.core.records import IngestReport

SETTING_FIELDS = ("home", "corpus_dir", "index_dir", "store", "generator", "model", "base_url", "embedding_model",
                  "top_k", "temperature", "strict", "answer_mode", "openai_api")


def settings_parser() -> argparse.ArgumentParser:
    """The flags every command takes (also RAG_<NAME> environment variables), as a parent parser."""
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
    return common


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings.from_env().replace(**{f: getattr(args, f, None) for f in SETTING_FIELDS})


def check_question(question: str) -> None:
    """Reject an unusable question before any model is loaded."""
    check(question)


def open_assistant(settings: Settings, build: bool = True):
    """An assistant on an index that exists, with a progress bar and a report if it is built now."""
    return open_with(settings, build=build, progress=progress_bar(), on_report=print_report)


def progress_bar():
    """A tqdm progress callback for ingestion (silent when stderr is not a terminal)."""
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


def print_report(report: IngestReport) -> None:
    for skipped in report.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    print(
        f"added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
        f"unchanged {len(report.unchanged)}, skipped {len(report.skipped)}; {report.chunks} chunks in the index"
    )

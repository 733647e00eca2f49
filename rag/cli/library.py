"""`rag ingest`, `rag info`, `rag remove` and `rag restore`: the library's files, its index and its trash."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.assistant.pipeline import Assistant
from rag.cli.common import open_assistant, print_report, progress_bar
from rag.cli.registry import Command
from rag.core.config import Settings
from rag.retrieval.distributed import RayUnavailable, check_address, ray_sync
from rag.retrieval.trash import TrashError


def ingest_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", type=Path, help="files or folders to add (default: just sync the library)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the index from scratch")
    p.add_argument("--profile", action="store_true", help="print the seconds spent in each ingestion stage")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="extract, chunk and embed on Ray: the cluster at ADDRESS (HOST:PORT), or a local one")
    p.add_argument("--ray-workers", type=int, default=2, metavar="N", help="Ray actors, one encoder each (default 2)")


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


def cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    assistant = open_assistant(settings, build=False)
    info = assistant.info()
    for key, value in info.items():
        print(f"{key:16} {value}")
    for doc in assistant.documents():
        print(f"  {doc['doc_id']:32} {doc['lang']:3} {doc['date'] or '-':10} {doc['chunks']:4} chunks  {doc['title'][:60]}")
    return 0


def restore_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("doc_id", nargs="?", help="the document to bring back (without it: list the trash)")


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """List the trash, or restore one document and index it again."""
    assistant = Assistant(settings)
    try:
        if not args.doc_id:
            entries = assistant.trash()
            if not entries:
                print("the trash is empty")
            for entry in entries:
                print(f"{entry['removed_at']}  {entry['doc_id']}")
            return 0
        try:
            report = assistant.restore(args.doc_id)
        except TrashError as exc:
            print(f"rag restore: {exc}", file=sys.stderr)
            return 1
        print(f"restored {args.doc_id}; {report.chunks} chunks in the index")
        return 0
    finally:
        assistant.close()


def remove_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("doc_ids", nargs="+", metavar="DOC", help="documents to move to the trash (as `rag info` lists them)")


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Move documents (and every copy of their content in the library) to the trash and out of the index."""
    assistant = Assistant(settings)
    try:
        status = 0
        for doc_id in args.doc_ids:
            if assistant.remove(doc_id):
                print(f"removed {doc_id} to the trash (rag restore {doc_id} brings it back)")
            else:
                print(f"rag remove: no document {doc_id} in the library (rag info lists them)", file=sys.stderr)
                status = 1
        return status
    finally:
        assistant.close()


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """`rag info` takes the settings flags only."""


COMMANDS = (
    Command("ingest", "add files and update the index", ingest_arguments, cmd_ingest),
    Command("info", "documents, chunks, models and index size", _no_arguments, cmd_info),
    Command("remove", "move documents to the trash and out of the index (rag restore brings them back)",
            remove_arguments, cmd_remove),
    Command("restore", "bring a removed document back from the trash (no DOC: list the trash)",
            restore_arguments, cmd_restore),
)

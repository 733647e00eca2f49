"""The documents API: list, read, upload, remove, restore, search, and fact-check a text.

Readers may list, read, search and check; only admins upload, remove and
restore, as in the chat. A document's ``text`` is what every citation's offsets
point into, so a client can check ``text[start:end] == quote`` itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Request, UploadFile
from pydantic import BaseModel, Field

from api.access import Caller, admin, caller, context
from api.errors import ApiError, model_errors, refused_as
from rag import CancelToken
from rag.assistant.check import MAX_CHECK_CHARS, iter_check, summary
from rag.core.config import TOP_K_RANGE
from rag.retrieval.trash import TrashError

router = APIRouter(prefix="/v1", tags=["documents"])
UPLOAD_TYPES = (".txt", ".md", ".html", ".htm", ".pdf")
MAX_FILES = 20


class SearchRequest(BaseModel):
    query: str = Field(max_length=2000)
    k: int | None = Field(None, ge=TOP_K_RANGE[0], le=TOP_K_RANGE[1],
                          description="passages to return (default: the server's top-k)")
    doc_ids: list[str] | None = Field(None, max_length=500, description="search only these documents")


class CheckRequest(BaseModel):
    text: str = Field(max_length=MAX_CHECK_CHARS, description=f"up to {MAX_CHECK_CHARS:,} characters")


@router.get("/documents")
def list_documents(request: Request, _who: Caller = Depends(caller)) -> dict:
    """Every indexed document: doc_id, title, date, lang, chars, chunks."""
    return {"object": "list", "data": context(request).models.base.documents()}


@router.get("/documents/{doc_id:path}")
def read_document(doc_id: str, request: Request, _who: Caller = Depends(caller)) -> dict:
    """One document with its full extracted text: every citation's start and end point into ``text``."""
    doc = context(request).models.base.document(doc_id)
    if doc is None:
        raise ApiError(404, f"no document {doc_id!r} in the library", "document_not_found")
    return {"doc_id": doc.doc_id, "title": doc.title, "date": doc.date, "lang": doc.lang, "text": doc.text}


@router.post("/documents")
async def upload_documents(request: Request, files: list[UploadFile] = File(..., description="the files to add"),
                           _who: Caller = Depends(admin)) -> dict:
    """Add files (.txt, .md, .html, .pdf) to the library and index them; searchable when this returns."""
    if len(files) > MAX_FILES:
        raise ApiError(400, f"files: at most {MAX_FILES} per request", "too_many_files")
    ctx = context(request)
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as folder:
        paths = []
        for upload in files:
            name = Path(upload.filename or "").name
            if not name or Path(name).suffix.lower() not in UPLOAD_TYPES:
                raise ApiError(400, f"files: {name or 'a file without a name'} is not one of "
                                    f"{', '.join(UPLOAD_TYPES)}", "unsupported_file")
            path = Path(folder) / name
            path.write_bytes(await upload.read())
            paths.append(path)
        report = await ctx.run(ctx.models.base.ingest, paths)
    return {"added": report.added, "updated": report.updated, "chunks": report.chunks,
            "skipped": [{"file": Path(s.path).name, "reason": s.reason} for s in report.skipped]}


@router.delete("/documents/{doc_id:path}")
def remove_document(doc_id: str, request: Request, _who: Caller = Depends(admin)) -> dict:
    """Move a document to the trash (it leaves the library and the index; restore brings it back)."""
    with refused_as(400, "invalid_document", ValueError):  # a path outside the library
        removed = context(request).models.base.remove(doc_id)
    if not removed:
        raise ApiError(404, f"no document {doc_id!r} in the library", "document_not_found")
    return {"doc_id": doc_id, "removed": True}


@router.get("/trash")
def list_trash(request: Request, _who: Caller = Depends(admin)) -> dict:
    """What can be restored: doc_id and removed_at, newest first."""
    return {"object": "list", "data": context(request).models.base.trash()}


@router.post("/documents/{doc_id:path}/restore")
def restore_document(doc_id: str, request: Request, _who: Caller = Depends(admin)) -> dict:
    """Bring a removed document back from the trash and index it again."""
    with refused_as(404, "not_in_trash", TrashError):
        report = context(request).models.base.restore(doc_id)
    return {"doc_id": doc_id, "restored": True, "chunks": report.chunks}


@router.post("/search")
async def search(body: SearchRequest, request: Request, _who: Caller = Depends(caller)) -> dict:
    """The best passages for a query, with their scores and offsets (no answer is made)."""
    ctx = context(request)
    base = ctx.models.base
    known = {d["doc_id"] for d in base.documents()} if body.doc_ids else set()
    if body.doc_ids and not set(body.doc_ids) <= known:
        raise ApiError(400, "doc_ids: some are not in the library", "unknown_document")
    with model_errors("invalid_question"):
        hits = await ctx.run(lambda: base.search(body.query, body.k, doc_ids=body.doc_ids or None))
    return {"object": "list", "data": [hit.to_dict() for hit in hits]}


@router.post("/check")
async def check(body: CheckRequest, request: Request, _who: Caller = Depends(caller)) -> dict:
    """Fact-check a text sentence by sentence: supported, contradicted or not found, with the evidence."""
    ctx = context(request)
    token = CancelToken()
    if not ctx.check_slot.claim(token):
        raise ApiError(429, "another text is being checked on this server right now; try again when it has "
                            "finished", "check_busy", {"Retry-After": "10"})
    try:
        with model_errors("invalid_text"):
            results = await ctx.run(lambda: list(iter_check(ctx.models.base, body.text, cancel=token)))
    finally:
        token.cancel()
        ctx.check_slot.release(token)
    return {"summary": summary(results), "results": [r.to_dict() for r in results]}


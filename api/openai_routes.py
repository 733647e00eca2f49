"""OpenAI-compatible ``/v1/models`` and ``/v1/chat/completions``, with the citations a client can check.

The last user message is the question; earlier user/assistant pairs are the
conversation, read for follow-ups exactly as in the chat. System messages are
accepted and ignored: nothing a caller writes changes how an answer is checked.
The reply text carries ``[n]`` markers; the response adds ``citations`` (each
``quote == document.text[start:end]``), ``refused``, ``reason`` and
``resolved_question``. A stream sends the text as it is verified, then one chunk
with ``finish_reason: "stop"`` and those fields, then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.access import ApiContext, Caller, caller, context
from api.errors import ApiError, error_body, model_errors, refused_as
from rag import Answer, Assistant, CancelToken, Turn
from rag.core.config import AskOptions

router = APIRouter(prefix="/v1", tags=["chat (OpenAI-compatible)"])
MAX_MESSAGES = 200
MAX_DOC_IDS = 500


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content if part.type == "text" and part.text)
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's request; other OpenAI fields (max_tokens, user, stream_options, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=300, description="one of the ids /v1/models lists")
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    temperature: float | None = Field(None, description="0 to 1.5")
    n: int | None = Field(None, description="only 1 is supported")
    top_k: int | None = Field(None, description="extension: passages to retrieve, 1 to 15")
    strict: bool | None = Field(None, description="extension: drop sentences the sources do not support")
    doc_ids: list[str] | None = Field(None, max_length=MAX_DOC_IDS,
                                      description="extension: answer only from these documents")


@router.get("/models")
def list_models(request: Request, _who: Caller = Depends(caller)) -> dict:
    """The models the operator configured (and what their model servers list); nothing else can be picked."""
    names = context(request).models.listing().names
    return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "operator"}
                                       for name in names]}


@router.post("/chat/completions", response_model=None)
async def chat_completions(body: ChatRequest, request: Request,
                           _who: Caller = Depends(caller)) -> dict | StreamingResponse:
    """Answer the last user message from the documents, with citations; ``stream: true`` for SSE."""
    ctx = context(request)
    assistant = pick_model(ctx, body.model)
    if body.n not in (None, 1):
        raise ApiError(400, "n: only one answer per request is supported", "invalid_n")
    with refused_as(400, "invalid_option", ValueError):
        options = AskOptions.checked(top_k=body.top_k, temperature=body.temperature, strict=body.strict)
    question, turns = conversation(body.messages)
    doc_ids = scope(body.doc_ids, assistant)
    reply = Reply(body.model)
    token = CancelToken()
    events = assistant.stream(question, turns, options=options, doc_ids=doc_ids, cancel=token)
    first = await answering(ctx, events)  # a bad question is a 400 here, before any stream starts
    if not body.stream:
        answer = first
        while not isinstance(answer, Answer):
            answer = await answering(ctx, events)
        return reply.completion(answer)
    return StreamingResponse(sse(ctx, reply, first, events, token), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def pick_model(ctx: ApiContext, name: str) -> Assistant:
    try:
        return ctx.models.get(name)
    except ValueError:
        raise ApiError(404, f"the model {name!r} is not offered here: GET /v1/models lists them",
                       "model_not_found") from None


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last message, the user's) and the earlier question/answer pairs."""
    if messages[-1].role != "user":
        raise ApiError(400, "messages: the last message must be the user's question", "invalid_messages")
    turns: list[Turn] = []
    asked: str | None = None
    for message in messages[:-1]:
        if message.role == "user":
            asked = message.text()
        elif message.role == "assistant" and asked is not None:
            turns.append(Turn(asked, message.text()))
            asked = None
    return messages[-1].text(), turns


def scope(doc_ids: list[str] | None, assistant: Assistant) -> list[str] | None:
    """Only documents of the library; none given means the whole library."""
    if not doc_ids:
        return None
    known = {d["doc_id"] for d in assistant.documents()}
    unknown = [d for d in doc_ids if d not in known]
    if unknown:
        raise ApiError(400, f"doc_ids: not in the library: {', '.join(unknown[:5])}", "unknown_document")
    return doc_ids


async def answering(ctx: ApiContext, events: Iterator[object]) -> object:
    """The next event of an answer stream (worked out in a thread); a client's bad question is a 400."""
    with model_errors("invalid_question"):
        return await ctx.run(next, events)


class Reply:
    """The OpenAI shapes of one answer: the whole completion, or the chunks of a stream."""

    def __init__(self, model: str):
        self.model = model
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _head(self, kind: str) -> dict:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def completion(self, answer: Answer) -> dict:
        message = {"role": "assistant", "content": answer.answer}
        return {**self._head("chat.completion"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                **cited(answer)}

    def chunk(self, delta: dict, finish: str | None = None, extra: dict | None = None) -> str:
        data = {**self._head("chat.completion.chunk"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **(extra or {})}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def cited(answer: Answer) -> dict:
    """The fields this API adds to OpenAI's response."""
    return {"citations": [c.to_dict() for c in answer.citations], "refused": answer.refused,
            "reason": answer.reason, "resolved_question": answer.resolved_question}


async def sse(ctx: ApiContext, reply: Reply, first: object, events: Iterator[object],
              token: CancelToken) -> AsyncIterator[str]:
    """Text deltas as they are verified, a last chunk with the citations, then [DONE].

    A client that goes away cancels the answer (the model stops at its next token).
    """
    try:
        yield reply.chunk({"role": "assistant", "content": ""})
        event = first
        while not isinstance(event, Answer):
            if isinstance(event, str) and event:
                yield reply.chunk({"content": event})
            event = await answering(ctx, events)
        yield reply.chunk({}, "stop", cited(event))
    except ApiError as exc:
        yield f"data: {json.dumps(error_body(exc.status, exc.message, exc.code))}\n\n"
    finally:
        token.cancel()
        try:
            events.close()  # frees the model now if the client left mid-answer
        except ValueError:
            pass  # still running in its thread: the token stops it at its next step
    yield "data: [DONE]\n\n"

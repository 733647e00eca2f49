"""Every error the API sends is one JSON line in OpenAI's shape, and no request body is read without a limit.

``{"error": {"message": ..., "type": ..., "code": ...}}`` is what OpenAI clients
parse, so a client's mistake shows up as a readable message there, never as a
traceback or a 500. ``BodyLimit`` refuses a body over the limit with 413 before
the route reads it (Content-Length first, then counted while it streams in).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag import BadQuestion, GeneratorError, IndexUnusable
from rag.core.errors import one_line

LOG = logging.getLogger("rag.api")
MAX_JSON_BYTES = 1_000_000  # a chat request or a text to check; the check itself stops at 20,000 characters
UPLOAD_PATH = "/v1/documents"
TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error",
         415: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error"}


class ApiError(Exception):
    """A refusal with the status, the one-line message and the machine-readable code a client gets."""

    def __init__(self, status: int, message: str, code: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


@contextmanager
def refused_as(status: int, code: str, *kinds: type[Exception]) -> Iterator[None]:
    """The assistant's one-line refusals of these ``kinds`` become an ``ApiError`` with this status and code."""
    try:
        yield
    except kinds as exc:
        raise ApiError(status, str(exc), code) from None


@contextmanager
def model_errors(bad_input_code: str) -> Iterator[None]:
    """Around model work: a bad question or text is the client's 400; a failing index or model is a 503."""
    with refused_as(503, "index_unusable", IndexUnusable), refused_as(503, "model_failed", GeneratorError), \
            refused_as(400, bad_input_code, BadQuestion):
        yield


def error_body(status: int, message: str, code: str | None) -> dict:
    return {"error": {"message": one_line(message), "type": TYPES.get(status, "server_error"), "code": code}}


def error_response(status: int, message: str, code: str | None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)


def install_handlers(app: FastAPI) -> None:
    """Route every error, expected or not, to the one-line shape."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, validation_message(exc.errors()), "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, str(exc.detail), code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        LOG.warning("rag api: %s %s failed: %s", request.method, request.url.path, one_line(exc))
        return error_response(500, "the server failed to answer this request", "server_error")


def validation_message(errors: list[dict]) -> str:
    """The first thing wrong with a request, said once: where, and what."""
    if not errors:
        return "the request is not valid"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the body is not valid JSON"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "is not valid"))
    return f"{where}: {message}" if where else message


class BodyLimit:
    """ASGI wrapper: refuse /v1 request bodies over the limit with 413, before a route reads them.

    It wraps the whole app (outside FastAPI's error middleware), so a body cut off here
    reaches the client as 413 whatever the route's parser made of it.

    JSON bodies may be ``MAX_JSON_BYTES``; an upload to ``/v1/documents`` may be ``upload_bytes``.
    Paths outside /v1 (the chat's own routes) are left to Gradio's limits.
    """

    def __init__(self, app, upload_bytes: int):
        self.app = app
        self.upload_bytes = upload_bytes

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if path.rstrip("/") == UPLOAD_PATH else MAX_JSON_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_too_large(send, limit)
            return
        state = {"received": 0, "over": False, "started": False}

        async def counted():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    raise _TooLarge()
            return message

        async def watch(message):
            if state["over"]:
                return  # whatever the app made of the cut body, the client gets the 413 below
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await _send_too_large(send, limit)


class _TooLarge(Exception):
    """Raised inside the app when a streamed body passes the limit."""


async def _send_too_large(send, limit: int) -> None:
    body = json.dumps(error_body(413, f"the request body is over the limit of {limit:,} bytes",
                                 "body_too_large")).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

"""The FastAPI app of the open API: the routes over the shared assistant, with OpenAPI docs at /docs.

``api.server`` mounts the Gradio chat beside these routes on one port.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from api.access import ApiContext
from api.documents import router as documents_router
from api.errors import ApiError, install_handlers
from api.openai_routes import router as chat_router

DESCRIPTION = """Cited answers from your documents, for programs.

* `/v1/models`, `/v1/chat/completions`: OpenAI-compatible chat. Every reply carries `[n]` markers; the
  response adds `citations` (doc_id, start, end, quote, title, ...; `quote == text[start:end]` of the
  document) and `refused`. Streaming ends with one chunk carrying them, before `data: [DONE]`.
* `/v1/documents`, `/v1/search`, `/v1/check`: the library, passages, and a fact-check of a text.

Authentication: `Authorization: Bearer KEY` when the server has users (keys: `rag users key create USER`).
Errors: `{"error": {"message", "type", "code"}}`. See docs/api.md.
"""


def create_app(ctx: ApiContext) -> FastAPI:
    """The API routes with their OpenAPI docs at /docs; the chat is mounted beside them by ``api.server``."""
    app = FastAPI(title="Cited answers API", version="1", description=DESCRIPTION, docs_url="/docs",
                  redoc_url=None, openapi_url="/openapi.json")
    app.state.rag = ctx
    install_handlers(app)
    app.include_router(chat_router)
    app.include_router(documents_router)

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(path: str, request: Request) -> None:
        """Any other /v1 path: an API 404, not the chat's page (which is mounted at / for everything else)."""
        raise ApiError(404, f"no route {request.method} /v1/{path}", "unknown_route")

    return app

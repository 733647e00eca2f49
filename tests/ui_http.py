"""Raw HTTP to a running chat, as a hostile client would send it: login, config, queue/join.

No gradio_client here: it only offers the public API, while the queue accepts any
handler's ``fn_index``; these helpers reach every handler the page can reach.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar


class Browserless:
    """One client session (its own cookies) against the app at ``url``."""

    def __init__(self, url: str):
        self.url = url.rstrip("/") + "/"
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def login(self, user: str, password: str) -> int:
        """POST the login form; the HTTP status (200 ok, 400 wrong, 429 slowed down)."""
        body = urllib.parse.urlencode({"username": user, "password": password}).encode()
        try:
            with self.opener.open(urllib.request.Request(self.url + "login", data=body), timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def config(self) -> dict:
        with self.opener.open(self.url + "config", timeout=30) as response:
            return json.loads(response.read())

    def fn_index(self, elem_id: str, event: str = "click") -> int:
        """The dependency id of the handler fired by ``event`` on the component with ``elem_id``."""
        config = self.config()
        component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
        for dependency in config["dependencies"]:
            if [component, event] in [list(t) for t in dependency["targets"]]:
                return dependency["id"]
        raise LookupError(f"no {event} handler on #{elem_id}")

    def dependency(self, fn_index: int) -> dict:
        return next(d for d in self.config()["dependencies"] if d["id"] == fn_index)

    def call(self, fn_index: object, data: object, session_hash: str | None = None, timeout: float = 120,
             event_data: object = None) -> dict:
        """Join the queue with ``data`` and read the event stream to its end; the last message."""
        session_hash = session_hash or uuid.uuid4().hex
        return self.send({"data": data, "fn_index": fn_index, "session_hash": session_hash,
                          "event_data": event_data, "trigger_id": None}, timeout)

    def join(self, body: dict) -> dict:
        """POST ``body`` (any shape) to queue/join without reading the answers: the join reply or the refusal."""
        request = urllib.request.Request(self.url + "gradio_api/queue/join", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return {"msg": "rejected", "status": exc.code, "detail": exc.read().decode(errors="replace")}

    def send(self, body: dict, timeout: float = 120) -> dict:
        """``call`` with the whole request body as given: the last message of this event, or the refusal.

        The session's stream carries every event of the session; reading stops at this
        event's completion, so another event of the same session (a Stop) does not end it.
        """
        joined = self.join(body)
        if joined.get("msg") == "rejected":
            return joined
        session_hash = body.get("session_hash") if isinstance(body.get("session_hash"), str) else ""
        if not session_hash:
            return {"msg": "joined without a session to read from"}
        return self.read(session_hash, joined.get("event_id"), timeout)

    def read(self, session_hash: str, event_id: str | None = None, timeout: float = 120) -> dict:
        """Read a session's event stream until ``event_id`` completes (or the stream closes); the last message."""
        last: dict = {}
        query = urllib.parse.urlencode({"session_hash": session_hash})
        with self.opener.open(self.url + f"gradio_api/queue/data?{query}", timeout=timeout) as stream:
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").strip()
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") not in (None, event_id):
                    continue  # another event of this session
                last = message
                if message.get("msg") in {"process_completed", "close_stream", "unexpected_error"}:
                    break
        return last

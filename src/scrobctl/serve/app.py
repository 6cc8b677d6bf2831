"""The Starlette application: one route per source format, each authenticated by its source's
own token, each request answered only after its plays are committed.

Starlette (with python-multipart for Plex's multipart bodies) does the HTTP: routing, form and
multipart parsing, query strings. Token checks come first, so a request without a valid token is
answered 401 before its body is read, and nothing of it is recorded or logged but its path.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scrobctl import __version__
from scrobctl.scrobble.rules import in_future
from scrobctl.serve import emby, jellyfin, lastfm, listenbrainz, plex
from scrobctl.serve.common import BadBody, Parsed, Source, load_json_object
from scrobctl.serve.receiver import Log, Outcome, Receiver
from scrobctl.serve.tokens import ServeTokens

MAX_WEBHOOK_BYTES = 16 << 20  # Plex attaches a poster JPEG to media.play and media.rate
MAX_JSON_BYTES = 1 << 20


class TooLarge(Exception):
    pass


def token_of(request: Request) -> str | None:
    """`Authorization: Token …` (scrobblers) or `?token=` (webhooks, which set no headers)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "token" and value.strip():
        return value.strip()
    return request.query_params.get("token") or None


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


def build_app(
    receiver: Receiver, tokens: ServeTokens, log: Log, *, log_arrivals: bool = False
) -> Starlette:
    """`log_arrivals` (`scrobctl -v serve`) also logs each authenticated request as it arrives,
    before its body is read, so one that never gets an answer is still seen."""

    def arrived(request: Request, source: Source) -> None:
        if log_arrivals:
            log(f"{source.name} {request.method} {request.url.path}: received")

    def authenticate(request: Request) -> Source | None:
        source = tokens.current().source(token_of(request))
        if source is None:
            log(f"401 {request.method} {request.url.path}: no valid token")
        else:
            arrived(request, source)
        return source

    def done(request: Request, source: Source, outcome: Outcome | None, note: str) -> None:
        counts = outcome.summary.counts() if outcome else {}
        shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v)
        log(f"{source.name} {request.url.path}: {shown or note}")

    def webhook(
        kind: str, parse: Callable[[Request, Source], Awaitable[Parsed]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            source = authenticate(request)
            if source is None:
                return JSONResponse({"error": "a valid ?token= is required"}, 401)
            try:
                parsed = await parse(request, source)
                if parsed.ignored is not None:
                    done(request, source, None, f"ignored: {parsed.ignored}")
                    return JSONResponse({"ignored": parsed.ignored})
                outcome = await receiver.ingest(parsed.events, source, kind)
            except TooLarge:
                return JSONResponse({"error": "the body is too large"}, 413)
            except BadBody as exc:
                log(f"400 {request.url.path} from {source.name}: {exc}")
                return JSONResponse({"error": str(exc)}, 400)
            done(request, source, outcome, "nothing to record")
            return JSONResponse(outcome.summary.counts())

        return endpoint

    async def plex_body(request: Request, source: Source) -> Parsed:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
                raise TooLarge
            try:
                form = await request.form(max_files=4, max_fields=16)
            except HTTPException as exc:
                raise BadBody(f"the form cannot be read ({exc.detail})") from None
            value: Any = form.get("payload")
            if isinstance(value, UploadFile):  # some Plex versions send it as a file part
                value = await value.read(MAX_JSON_BYTES + 1)
            if value is None:
                raise BadBody("no 'payload' part (Plex sends its JSON in a part named payload)")
            if len(value) > MAX_JSON_BYTES:
                raise TooLarge
            payload = load_json_object(value, "payload")
        else:  # raw JSON, as some proxies and tools re-send it
            payload = load_json_object(await read_body(request, MAX_JSON_BYTES), "body")
        return plex.parse(payload, source)

    async def emby_body(request: Request, source: Source) -> Parsed:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            try:
                form = await request.form(max_files=2, max_fields=16)
            except HTTPException as exc:
                raise BadBody(f"the form cannot be read ({exc.detail})") from None
            value: Any = form.get("data")
            if isinstance(value, UploadFile):
                value = await value.read(MAX_JSON_BYTES + 1)
            if value is None:
                raise BadBody("no 'data' part")
            return emby.parse(load_json_object(value, "data part"), source)
        return emby.parse(load_json_object(await read_body(request, MAX_JSON_BYTES)), source)

    async def jellyfin_body(request: Request, source: Source) -> Parsed:
        # The plugin's Generic destination sends text/plain; the JSON is read whatever the type.
        return jellyfin.parse(load_json_object(await read_body(request, MAX_JSON_BYTES)), source)

    async def submit_listens(request: Request) -> Response:
        """ListenBrainz's POST /1/submit-listens (api.py submit_listen l.57-150)."""
        # As validate_auth_header (api_tools.py l.521-577): the word after the first space is
        # the token, whatever the scheme before it.
        header = request.headers.get("authorization")
        if not header:
            return _lb_error(401, "You need to provide an Authorization header.")
        parts = header.split(" ")
        if len(parts) < 2:
            return _lb_error(401, "Provided Authorization header is invalid.")
        source = tokens.current().source(parts[1])
        if source is None:
            log(f"401 {request.method} {request.url.path}: no valid token")
            return _lb_error(401, "Invalid authorization token.")
        arrived(request, source)
        try:
            raw = await read_body(request, listenbrainz.MAX_PAYLOAD_SIZE)
            parsed = listenbrainz.parse(raw, source)
            outcome = await receiver.ingest(
                parsed.events, source, "listenbrainz", listenbrainz.listen_rule
            )
        except TooLarge:
            return _lb_error(
                400,
                f"Payload too large. Payload cannot exceed {listenbrainz.MAX_PAYLOAD_SIZE} bytes",
            )
        except BadBody as exc:
            log(f"400 {request.url.path} from {source.name}: {exc}")
            return _lb_error(400, str(exc))
        done(request, source, outcome, "playing now")
        return JSONResponse({"status": "ok"})

    async def validate_token(request: Request) -> Response:
        """ListenBrainz answers 200 either way, with `valid` saying which (api.py l.473-530);
        no token at all is 400."""
        token = token_of(request)
        if not token:
            return _lb_error(400, "You need to provide an Authorization token.")
        source = tokens.current().source(token)
        if source is None:
            return JSONResponse({"code": 200, "message": "Token invalid.", "valid": False})
        return JSONResponse(
            {"code": 200, "message": "Token valid.", "valid": True, "user_name": source.name}
        )

    async def audioscrobbler(request: Request) -> Response:
        """The Last.fm 2.0 endpoint: parameters in the form body (POST) or the query (GET)."""
        params: dict[str, str] = dict(request.query_params)
        if request.method == "POST":
            try:
                form = await request.form(max_files=0, max_fields=1000)
            except HTTPException as exc:
                return _lfm_reply(
                    lastfm.LastfmError(6, f"Invalid parameters ({exc.detail})"), params
                )
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        method = lastfm.method_of(params)
        try:
            if method == "auth.getmobilesession":
                source = tokens.current().source(params.get("password"))
                if source is None:
                    log(f"401 {request.url.path} auth.getMobileSession: wrong password")
                    raise lastfm.LastfmError(*lastfm.AUTH_FAILED, status=401)
                log(f"{source.name} {request.url.path}: session given")
                name = params.get("username") or source.name
                return _lfm_ok(lastfm.session_answer(name, params["password"], _json(params)))
            if method not in ("track.scrobble", "track.updatenowplaying"):
                raise lastfm.LastfmError(*lastfm.INVALID_METHOD)
            if request.method != "POST":
                raise lastfm.LastfmError(6, "Invalid parameters - scrobbles must be POSTed")
            source = tokens.current().source(params.get("sk"))
            if source is None:
                log(f"401 {request.url.path} {method}: no valid session key")
                raise lastfm.LastfmError(*lastfm.INVALID_SESSION, status=401)
            arrived(request, source)
            if method == "track.updatenowplaying":
                parsed = lastfm.parse_now_playing(params, source)
                outcome = await receiver.ingest(parsed.events, source, "lastfm")
                done(request, source, outcome, "playing now")
                return _lfm_ok(lastfm.now_playing_answer(parsed.events[0], _json(params)))
            parsed = lastfm.parse_scrobbles(params, source)
            # Last.fm ignores, rather than refuses, a scrobble from the future (code 4): the
            # others in the batch still count, and the ingest never sees it.
            now = time.time()
            ignored = {
                i: lastfm.TIMESTAMP_TOO_NEW
                for i, e in enumerate(parsed.events)
                if in_future(e["watched_at"], now)
            }
            kept = [e for i, e in enumerate(parsed.events) if i not in ignored]
            outcome = None
            if kept:
                outcome = await receiver.ingest(kept, source, "lastfm", listenbrainz.listen_rule)
                positions = [i for i in range(len(parsed.events)) if i not in ignored]
                for i, event in zip(positions, outcome.events, strict=True):
                    if listenbrainz.listen_rule(event) is not None:
                        ignored[i] = lastfm.TRACK_IGNORED
            done(request, source, outcome, "nothing recorded")
            return _lfm_ok(lastfm.scrobbles_answer(parsed.events, ignored, _json(params)))
        except BadBody as exc:
            return _lfm_reply(lastfm.LastfmError(6, f"Invalid parameters - {exc}"), params)
        except lastfm.LastfmError as exc:
            return _lfm_reply(exc, params)

    async def health(request: Request) -> Response:
        return JSONResponse({"name": "scrobctl", "version": __version__, "ok": True})

    routes = [
        Route("/", health, methods=["GET"]),
        Route("/plex", webhook("plex", plex_body), methods=["POST"]),
        Route("/jellyfin", webhook("jellyfin", jellyfin_body), methods=["POST"]),
        Route("/emby", webhook("emby", emby_body), methods=["POST"]),
        Route("/1/submit-listens", submit_listens, methods=["POST"]),
        Route("/1/validate-token", validate_token, methods=["GET"]),
        Route("/2.0/", audioscrobbler, methods=["GET", "POST"]),
        Route("/2.0", audioscrobbler, methods=["GET", "POST"]),
    ]
    # Browser scrobblers (web-scrobbler posts from its extension with fetch) may need CORS, which
    # ListenBrainz answers too (its @crossdomain on submit-listens and validate-token). The token
    # still decides; a page that lacks one gets the same 401.
    cors = Middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
    )
    return Starlette(routes=routes, middleware=[cors])


def _lb_error(code: int, message: str) -> Response:
    """ListenBrainz's error shape (webserver/errors.py APIError.to_dict): code and error."""
    return JSONResponse({"code": code, "error": message}, code)


def _json(params: dict[str, str]) -> bool:
    return params.get("format", "").lower() == "json"


def _lfm_ok(body: str) -> Response:
    if body.startswith("<?xml"):
        return Response(body, media_type="application/xml; charset=utf-8")
    return Response(body, media_type="application/json; charset=utf-8")


def _lfm_reply(error: lastfm.LastfmError, params: dict[str, str]) -> Response:
    json_form = _json(params)
    return Response(
        lastfm.error_answer(error, json_form),
        error.status,
        media_type=("application/json" if json_form else "application/xml") + "; charset=utf-8",
    )

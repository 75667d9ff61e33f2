"""The web server of ``camfx serve``: routes, viewers and the push channel (aiohttp).

Frames come from a :class:`~camfx.serve.stream.StreamSink` that the live loop feeds like any
other output; every change goes through the loop's :class:`~camfx.live.commands.Commands`, so a
bad request gets the command line's message and leaves the chain as it was. Routes:

=====================================  ===============================================================
``GET /``                              the control page (``/app.js``, ``/style.css``)
``GET /stream.mjpg``                   the filtered stream, ``multipart/x-mixed-replace`` JPEG
``GET /snapshot.jpg``                  the newest filtered frame as JPEG (nothing is saved)
``POST /api/webrtc``                   an SDP offer in, the answer out (the page's default view)
``GET /api/filters``                   every installed filter with its parameters, types, defaults
``GET /api/chain``, ``PUT /api/chain``  the running chain; ``{"filters": "blur(ksize=9),edge"}``
``POST /api/chain/{i}/toggle``         switch step ``i`` (from 0) off or on
``PUT /api/chain/{i}/params/{name}``   ``{"value": 9}``: set one parameter of step ``i``
``GET /api/stats``                     the loop's figures, the source's state, the viewers
``POST /api/snapshot``                 save the newest frame as PNG in the output folder
``POST /api/record``                   ``{"on": true}`` / ``{"on": false}``: start or stop recording
``POST /api/pause``                    ``{"paused": true}`` / ``{"paused": false}``
``GET /api/events``                    WebSocket: ``{"type": "stats"|"chain", ...}`` as they change
=====================================  ===============================================================

The server reads no file at request time (the page is loaded into memory when it starts) and
writes none: snapshots and recordings are made by the loop, in its output folder, under names it
chooses.
"""
import asyncio
import contextlib
import importlib.resources
import json

from aiohttp import WSMsgType, web

from ..engine.chain import parse_spec
from ..outputs.sink import note
from ..text import plural
from .describe import describe_chain, describe_filters, jsonable
from .guard import Guard
from .stream import BOUNDARY

PAGE_FILES = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
              "/style.css": ("style.css", "text/css")}
# The page loads nothing from elsewhere and may not be framed by another site (clickjacking).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
NO_STORE = {"Cache-Control": "no-store, private", "Pragma": "no-cache", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}


class ApiError(Exception):
    """A request refused with ``status`` and a one-line ``message`` (sent as ``{"error": ...}``)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Server:
    """The routes of ``camfx serve`` over one live loop.

    Parameters
    ----------
    loop
        The live loop: ``loop.chain`` (the running :class:`~camfx.engine.chain.Chain`) and
        ``loop.status()`` (a dict of its figures, JSON-able).
    commands : camfx.live.commands.Commands
        The loop's commands: the one way this server changes anything.
    stream : camfx.serve.stream.StreamSink
        The sink the loop feeds with filtered frames.
    registry : camfx.engine.registry.Registry
        The installed filters (for ``/api/filters``).
    guard : camfx.serve.guard.Guard
        Token, Host and Origin checks.
    max_viewers : int
        MJPEG streams and WebRTC peers served at once; one more gets 503. The push channel has
        its own cap of the same number.
    write_timeout : float
        Seconds an MJPEG viewer may take to accept one frame before it is disconnected (a
        viewer that stopped reading).
    command_timeout : float
        Seconds to wait for the loop to make a change before answering 503.
    tick : float
        Seconds between two stats messages on the push channel.
    """

    def __init__(self, loop, commands, stream, registry, guard, *, max_viewers=8, write_timeout=10.0,
                 command_timeout=10.0, tick=0.5):
        if isinstance(max_viewers, bool) or not isinstance(max_viewers, int) or max_viewers < 1:
            raise ValueError(f"max_viewers must be a whole number from 1, got {max_viewers!r}")
        self.loop, self.commands, self.stream, self.registry, self.guard = loop, commands, stream, registry, guard
        self.max_viewers = max_viewers
        self.write_timeout, self.command_timeout, self.tick = write_timeout, command_timeout, tick
        self.mjpeg_viewers = 0
        self._slots = 0               # viewers' places taken by requests in progress
        self._streams = {}            # id -> request, of the MJPEG viewers
        self.peers = set()
        self.sockets = set()
        self.skipped = 0              # frames MJPEG viewers skipped because they were not ready
        self._page = {route: importlib.resources.files(__package__).joinpath("page", name).read_bytes()
                      for route, (name, _) in PAGE_FILES.items()}
        self._filters = None
        self._chain_seen = None       # the chain's description every open page has been sent
        self._ticker = None
        self._closing = False
        self._encoder = None          # the WebRTC viewers' shared VP8 encoder, made for the first one

    # -- assembly ------------------------------------------------------------------------------

    def app(self):
        """The aiohttp application (run it with ``handler_cancellation=True``, as :func:`run`
        does, so that a viewer who leaves is let go at once)."""
        app = web.Application(middlewares=[self._errors, self._guard], client_max_size=1024 ** 2)
        for route in PAGE_FILES:
            app.router.add_get(route, self.page)
        app.router.add_get("/stream.mjpg", self.mjpeg, allow_head=False)
        app.router.add_get("/snapshot.jpg", self.snapshot_jpeg)
        app.router.add_post("/api/webrtc", self.webrtc)
        app.router.add_get("/api/filters", self.filters)
        app.router.add_get("/api/chain", self.chain)
        app.router.add_put("/api/chain", self.replace_chain)
        app.router.add_post(r"/api/chain/{index:\d+}/toggle", self.toggle)
        app.router.add_put(r"/api/chain/{index:\d+}/params/{name}", self.set_parameter)
        app.router.add_get("/api/stats", self.stats)
        app.router.add_post("/api/snapshot", self.save_snapshot)
        app.router.add_post("/api/record", self.record)
        app.router.add_post("/api/pause", self.pause)
        app.router.add_get("/api/events", self.events)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._shutdown)
        return app

    @web.middleware
    async def _errors(self, request, handler):
        """Every refusal as ``{"error": message}`` JSON with its status."""
        try:
            return await handler(request)
        except ApiError as error:
            return web.json_response({"error": error.message}, status=error.status, headers=NO_STORE)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            return web.json_response({"error": error.reason}, status=error.status, headers=NO_STORE)

    @web.middleware
    async def _guard(self, request, handler):
        refusal = self.guard.refuse(request)
        if refusal is not None:
            raise ApiError(*refusal)
        response = await handler(request)
        self.guard.remember(request, response)
        return response

    async def _start(self, app):
        self._ticker = asyncio.create_task(self._push_stats())

    async def _shutdown(self, app):
        self._closing = True
        self.stream.signal().wake()  # MJPEG viewers waiting for a frame see that it is over
        if self._ticker is not None:
            self._ticker.cancel()
        with contextlib.suppress(Exception):  # the pages' last word: the loop's final state
            await self._broadcast({"type": "stats", "stats": self.status()})
        for socket in list(self.sockets):
            await socket.close(code=1001, message=b"camfx is stopping")
        await asyncio.gather(*(peer.close() for peer in list(self.peers)), return_exceptions=True)
        self.stream.forget(asyncio.get_running_loop())

    # -- the page and the pictures ---------------------------------------------------------------

    async def page(self, request):
        route = request.path
        return web.Response(body=self._page[route], content_type=PAGE_FILES[route][1],
                            charset="utf-8", headers=PAGE_HEADERS)

    async def mjpeg(self, request):
        """The filtered stream as MJPEG. Each viewer sends the newest frame when its last one
        went out: a slow viewer skips frames, and one that stops reading for ``write_timeout``
        is disconnected."""
        with self._viewer():
            response = web.StreamResponse(headers={
                **NO_STORE, "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"})
            await response.prepare(request)
            signal = self.stream.signal()
            self.mjpeg_viewers += 1
            self._streams[id(request)] = request
            last = None
            try:
                while True:
                    frame = await signal.next_frame(last, timeout=1.0)
                    if self._closing:
                        break
                    if frame is None:
                        if self.stream.closed or _gone(request):
                            break
                        continue
                    index, part = self.stream.mjpeg_part(frame, encode=False)
                    if part is None:  # the first viewer to want this frame encodes it, off the event loop
                        index, part = await asyncio.to_thread(self.stream.mjpeg_part, frame)
                    if last is not None:
                        self.skipped += max(0, index - last - 1)
                    last = index
                    async with asyncio.timeout(self.write_timeout):
                        await response.write(part)
            except TimeoutError:
                note(f"an MJPEG viewer ({request.remote}) took no frame for {self.write_timeout:g} s; disconnected")
                if request.transport is not None:
                    request.transport.abort()
            except ConnectionError:
                pass  # the viewer left
            finally:
                self.mjpeg_viewers -= 1
                self._streams.pop(id(request), None)
            return response

    def transports(self):
        """The connections of the MJPEG viewers (to see what each one holds buffered)."""
        return [r.transport for r in self._streams.values() if r.transport is not None]

    async def snapshot_jpeg(self, request):
        frame = self.stream.frame
        if frame is None:
            raise ApiError(503, "no frame yet: the source has not delivered one")
        _, data = await asyncio.to_thread(self.stream.jpeg, frame)
        return web.Response(body=data, content_type="image/jpeg", headers=NO_STORE)

    async def webrtc(self, request):
        from . import webrtc  # aiortc loads only when a browser asks for WebRTC
        offer = await _json_body(request)
        with self._viewer():
            if self._encoder is None:
                self._encoder = webrtc.SharedEncoder(self.stream)
            try:
                peer, answer = await webrtc.answer(offer, self._encoder, self.peers.discard)
            except ValueError as error:
                raise ApiError(400, str(error)) from None
            self.peers.add(peer)
        return web.json_response(answer, headers=NO_STORE)

    @contextlib.contextmanager
    def _viewer(self):
        """Refuse a viewer past the cap (503); a slot is held while the block runs (an MJPEG
        stream, a WebRTC negotiation: then the peer holds it)."""
        if self._slots + len(self.peers) >= self.max_viewers:
            raise ApiError(503, f"too many viewers: this camfx serves at most {self.max_viewers} at once "
                                "(serve.max_viewers)")
        self._slots += 1
        try:
            yield
        finally:
            self._slots -= 1

    # -- the JSON API ------------------------------------------------------------------------

    async def filters(self, request):
        if self._filters is None:  # loading the plugins imports them: once, off the event loop
            self._filters = await asyncio.to_thread(describe_filters, self.registry)
        return _json({"filters": self._filters})

    async def chain(self, request):
        return _json(describe_chain(self.loop.chain))

    async def replace_chain(self, request):
        body = await _json_body(request)
        if not isinstance(body, dict) or "filters" not in body:
            raise ApiError(400, 'expected {"filters": "blur(ksize=9),edge"} (a spec string, or a list of steps)')
        enabled = body.get("enabled")
        if enabled is not None and not (isinstance(enabled, list) and all(isinstance(e, bool) for e in enabled)):
            raise ApiError(400, f"enabled must be a list of true/false, one per step, got {enabled!r}")
        if enabled is not None:
            try:
                steps = len(parse_spec(body["filters"]))
            except ValueError as error:
                raise ApiError(400, str(error)) from None
            if len(enabled) != steps:
                raise ApiError(400, f"enabled has {plural(len(enabled), 'value')} for {plural(steps, 'step')}")
        await self._command(self.commands.replace_chain, body["filters"])
        # The steps to switch off are queued right behind the new chain, so the loop makes them
        # between the same two frames.
        for i in [i for i, on in enumerate(enabled or []) if not on]:
            await self._command(self.commands.toggle, i)
        return await self._chain_now()

    async def toggle(self, request):
        await self._command(self.commands.toggle, int(request.match_info["index"]))
        return await self._chain_now()

    async def set_parameter(self, request):
        body = await _json_body(request)
        if not isinstance(body, dict) or "value" not in body:
            raise ApiError(400, 'expected {"value": ...}: the parameter\'s new value')
        await self._command(self.commands.set_parameter, int(request.match_info["index"]),
                            request.match_info["name"], body["value"])
        return await self._chain_now()

    async def stats(self, request):
        return _json(self.status())

    async def save_snapshot(self, request):
        path = await self._command(self.commands.snapshot)
        return _json({"path": None if path is None else str(path)})

    async def record(self, request):
        on = (await _json_object(request)).get("on")
        if on is not None and not isinstance(on, bool):
            raise ApiError(400, f"on must be true or false, got {on!r}")
        path = await self._command(self.commands.record, on)
        return _json({"recording": None if path is None else str(path)})

    async def pause(self, request):
        paused = (await _json_object(request)).get("paused")
        if paused is not None and not isinstance(paused, bool):
            raise ApiError(400, f"paused must be true or false, got {paused!r}")
        return _json({"paused": await self._command(self.commands.pause, paused)})

    def status(self):
        """The loop's figures plus this server's: viewers and what the stream skipped."""
        status = dict(self.loop.status())
        status["viewers"] = {"mjpeg": self.mjpeg_viewers, "webrtc": len(self.peers), "events": len(self.sockets),
                             "max": self.max_viewers}
        status["stream"] = {"jpeg_encodes": self.stream.encodes, "mjpeg_skipped": self.skipped,
                            "webrtc_encodes": self._encoder.encoded if self._encoder else 0,
                            "webrtc_skipped": sum(p.track.skipped for p in self.peers if p.track)}
        return jsonable(status)

    async def _command(self, command, *args):
        """Run a command: checked now (ValueError: 400 with its message), then made by the loop
        between two frames. Checks and new filters' preparation run off the event loop."""
        try:
            future = await asyncio.to_thread(command, *args)
            return await asyncio.wait_for(asyncio.wrap_future(future), self.command_timeout)
        except ValueError as error:
            raise ApiError(400, str(error)) from None
        except RuntimeError as error:  # the loop has ended
            raise ApiError(503, str(error)) from None
        except TimeoutError:
            raise ApiError(503, f"the live loop did not take the command within {self.command_timeout:g} s") from None

    async def _chain_now(self):
        """The chain as it is now, also pushed to every page."""
        description = describe_chain(self.loop.chain)
        await self._broadcast({"type": "chain", "chain": description}, chain=description)
        return _json(description)

    # -- the push channel --------------------------------------------------------------------

    async def events(self, request):
        if len(self.sockets) >= self.max_viewers:
            raise ApiError(503, f"too many pages open: this camfx serves at most {self.max_viewers} at once")
        socket = web.WebSocketResponse(heartbeat=20)
        await socket.prepare(request)
        self.sockets.add(socket)
        try:
            description = describe_chain(self.loop.chain)
            if description != self._chain_seen:  # a change not pushed yet: to every page, this one too
                await self._broadcast({"type": "chain", "chain": description}, chain=description)
            else:
                await socket.send_json({"type": "chain", "chain": description})
            await socket.send_json({"type": "stats", "stats": self.status()})
            async for message in socket:  # nothing to receive; this waits until the page leaves
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            self.sockets.discard(socket)
        return socket

    async def _push_stats(self):
        """Every ``tick``: the stats to every page, and the chain when it changed (by a command
        from anywhere)."""
        while True:
            await asyncio.sleep(self.tick)
            if not self.sockets:
                continue
            try:
                description = describe_chain(self.loop.chain)
                if description != self._chain_seen:
                    await self._broadcast({"type": "chain", "chain": description}, chain=description)
                await self._broadcast({"type": "stats", "stats": self.status()})
            except Exception as error:  # a bad figure must not end the push channel for good
                note(f"the push channel skipped an update: {type(error).__name__}: {error}")

    async def _broadcast(self, message, chain=None):
        if chain is not None:
            self._chain_seen = chain
        text = json.dumps(message)

        async def send(socket):
            try:
                await asyncio.wait_for(socket.send_str(text), self.write_timeout)
            except (ConnectionError, TimeoutError, RuntimeError):
                self.sockets.discard(socket)
                await socket.close()

        await asyncio.gather(*(send(s) for s in list(self.sockets)))


async def _json_object(request):
    """The body as a JSON object; ``{}`` for an empty body."""
    if not await request.read():
        return {}
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, f"expected a JSON object in the request body, got {type(body).__name__}")
    return body


async def _json_body(request):
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(400, f"malformed JSON in the request body: {error}") from None


def _json(data):
    return web.json_response(data, headers=NO_STORE)


def _gone(request):
    return request.transport is None or request.transport.is_closing()


async def start(server, host="127.0.0.1", port=0, sock=None):
    """Start serving ``server`` on ``host``:``port`` (0: any free port), or on the listening
    socket ``sock``, in the running event loop; return the aiohttp runner (``await
    runner.cleanup()`` stops it) and the port."""
    runner = web.AppRunner(server.app(), handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.SockSite(runner, sock) if sock is not None else web.TCPSite(runner, host, port)
    await site.start()
    return runner, runner.addresses[0][1]

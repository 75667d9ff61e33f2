"""Who may use a running ``camfx serve``: the token, the Host and the Origin of every request.

- **Token.** Bound to a loopback address, camfx needs none (only this machine can connect). Bound
  to anything else it needs one (made up and printed when the user gave none). Every route checks
  it: an ``Authorization: Bearer`` header, the cookie the page sets on the first visit, or
  ``?token=`` in the address (for ``<img>`` tags, VLC, ffmpeg and OpenCV).
- **Host** (DNS rebinding: a site whose name is made to resolve to 127.0.0.1 would otherwise be
  "same-origin" with camfx): the Host header must be an IP address, ``localhost``, one of this
  machine's own names, or a name the user allowed. A rebinding attack always comes under a name
  of the attacker's, never as an IP literal.
- **Origin** (cross-site requests): a request that says where it comes from must come from this
  server's own origin; a browser's ``Sec-Fetch-Site: cross-site`` is refused except for a
  top-level page load, so another site can neither drive camfx nor embed its picture.
"""
import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from ..errors import CamfxError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host):
    """Whether binding to ``host`` (a name or an address) only accepts this machine's connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token():
    """A fresh random token (24 bytes, URL-safe base64: 32 characters)."""
    return secrets.token_urlsafe(24)


def machine_names():
    """This machine's own host names, lower case (``pi``, ``pi.local``, ``pi.example.org``)."""
    names = set()
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            name = name.lower().rstrip(".")
            names.update((name, f"{name.split('.')[0]}.local"))
    return names


class Guard:
    """Checks every request against the token and the Host and Origin rules.

    Parameters
    ----------
    host : str
        The address the server binds to.
    port : int
        Its port (names the cookie, so two servers on one machine keep their own).
    token : str or None
        Required from every request when given. Must be given when ``host`` is not loopback.
    allowed_hosts : iterable of str
        Extra names this server may be reached under (besides IP addresses, ``localhost`` and
        the machine's own names), e.g. a DNS name pointing at it.
    """

    def __init__(self, host, port, token=None, allowed_hosts=()):
        if token is None and not is_loopback(host):
            raise CamfxError(f"serving on {host} (not a loopback address) needs a token")
        if token is not None and (not token or not token.isascii() or not token.isprintable() or " " in token):
            raise CamfxError("the token must be printable ASCII without spaces")
        self.token = token
        self.cookie = f"camfx_token_{port}"
        self.hosts = {h.lower().rstrip(".") for h in allowed_hosts} | {"localhost"}
        if not is_loopback(host):
            self.hosts |= machine_names()

    def refuse(self, request):
        """None when ``request`` may go on, else ``(HTTP status, reason)``."""
        host = request.headers.get("Host")
        if host is not None and not self.host_allowed(host):
            return 403, (f"camfx does not answer to the host name {_host_name(host)!r} (DNS rebinding "
                         "guard); use its IP address, or add the name to serve.allowed_hosts")
        origin = request.headers.get("Origin")
        if origin is not None and not _same_origin(origin, host):
            return 403, f"requests from {origin} are refused: only camfx's own page may use this server"
        site = request.headers.get("Sec-Fetch-Site")
        top_level = request.headers.get("Sec-Fetch-Dest") == "document" and request.method == "GET"
        if site in ("cross-site", "same-site") and not top_level:
            return 403, "requests from other sites are refused: only camfx's own page may use this server"
        if self.token is not None and not self.token_given(request):
            return 401, ("this camfx needs its token: open the address it printed at start "
                         "(…/?token=...) or send 'Authorization: Bearer TOKEN'")
        return None

    def host_allowed(self, host):
        name = _host_name(host)
        if name in self.hosts or name.endswith(".localhost"):
            return True
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            return False

    def token_given(self, request):
        """Whether the request carries the token, by header, cookie or ``?token=``."""
        header = request.headers.get("Authorization", "")
        offered = [header[7:].strip()] if header[:7].lower() == "bearer " else []
        offered += [request.cookies.get(self.cookie, ""), request.query.get("token", "")]
        expected = self.token.encode()
        return any(hmac.compare_digest(t.encode(), expected) for t in offered if t)

    def remember(self, request, response):
        """Set the token cookie on ``response`` when the token came in the address, so the page's
        own requests carry it from then on. SameSite=Strict: other sites never send it."""
        if self.token is not None and request.query.get("token") and not response.prepared:
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")


def _host_name(host):
    """``"[::1]:8080"`` -> ``"::1"``, ``"Pi.local:80"`` -> ``"pi.local"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")


def _same_origin(origin, host):
    if host is None or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()

"""Request-level defences: CSRF, cross-origin refusal, rate limits and the trusted-proxy client IP.

CSRF tokens come from Flask-WTF and are checked on every state-changing browser request; a
cross-site request is refused even before that (``Sec-Fetch-Site`` or a foreign Origin/Referer),
so a leaked token alone is not enough. The Bearer-key API is exempt: it ignores cookies, so a
forged cross-site request carries no credential.

The client IP is the socket peer unless ``VIGIL_TRUSTED_PROXIES`` says how many proxies in front of
Vigil append to ``X-Forwarded-For``: otherwise anyone could rotate that header to dodge the limits.
Rate limits use Redis when ``VIGIL_REDIS_URL`` is set, shared by every web worker and namespaced
per database (like the RQ queue), so two installations sharing a Redis never share counters; if
Redis is down, sign-in fails closed (503).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from limits.errors import StorageError
from redis.exceptions import RedisError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.security.rate_limits import limit_key_prefix
from app.web.access import API_POLICY_ATTR
from app.web.database import SAFE_METHODS
from app.web.errors import error_response

log = logging.getLogger("vigil.web")
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
LIMITER_KEY = "vigil.limiter"


def _client_address() -> str:
    return request.remote_addr or "unknown"


def limiter_of(app: Flask | None = None) -> Limiter:
    limiter: Limiter = (app or current_app).extensions[LIMITER_KEY]
    return limiter


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _cross_origin_reason() -> str | None:
    site = request.headers.get("Sec-Fetch-Site", "").lower()
    if site and site not in ALLOWED_FETCH_SITES:
        return f"Sec-Fetch-Site {site}"
    own = f"{request.scheme}://{request.host}".lower()
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and _origin_of(origin) != own:
        return "foreign Origin"
    if origin == "null":
        return "opaque Origin"
    referer = request.headers.get("Referer")
    if referer and _origin_of(referer) not in (own, None):
        return "foreign Referer"
    return None


def init_app(app: Flask) -> None:
    settings = app.config["VIGIL"]
    if settings.trusted_proxies > 0:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives exactly as long as the session
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked below, after the API exemption
    app.config["WTF_CSRF_SSL_STRICT"] = False  # the Origin/Referer check below covers it for all schemes
    csrf = CSRFProtect(app)

    limiter = Limiter(
        key_func=_client_address,
        storage_uri=settings.redis_url or "memory://",
        strategy="moving-window",
        headers_enabled=True,
        swallow_errors=False,
        in_memory_fallback_enabled=False,
        key_prefix=limit_key_prefix(settings.database_url),
    )
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter

    @app.before_request
    def _csrf_and_origin() -> Response | None:
        if request.method in SAFE_METHODS:
            return None
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and hasattr(view, API_POLICY_ATTR):
            return None
        reason = _cross_origin_reason()
        if reason is not None:
            log.warning("cross-origin request refused", extra={"reason": reason, "path": request.path})
            return error_response(403, "Forbidden", "Cross-site requests are refused.")
        csrf.protect()
        return None

    @app.errorhandler(StorageError)
    @app.errorhandler(RedisError)
    def _limiter_down(_exc: Exception) -> Response:
        log.error("rate-limit storage unavailable; refusing the request (fail closed)")
        response = error_response(503, "Service Unavailable", "Please try again in a minute.")
        response.headers["Retry-After"] = "60"
        return response

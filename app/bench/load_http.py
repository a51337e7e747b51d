"""A small HTTP/1.1 client for the load benchmark: keep-alive, cookies, a chosen source address.

``http.client`` is enough and adds nothing to install. Each connection is bound to its own loopback
address (all of 127.0.0.0/8 is loopback on Linux) so the server's per-IP sign-in limit sees one
client per signed-in user, as it would in production, instead of every user sharing 127.0.0.1.
"""

from __future__ import annotations

import html
import http.client
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TypeVar
from urllib.parse import urlencode

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT_LINK = re.compile(r'<a href="([^"]*cursor=[^"]*)"[^>]*rel="next"')
# What a server may do to an idle keep-alive connection: close it. The request is sent again once
# on a fresh connection (as browsers do); anything else is an error.
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
T = TypeVar("T")


class SignInFailed(RuntimeError):
    """The real sign-in form did not sign the user in."""


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def user_address(n: int) -> str:
    """The loopback address of the n-th simulated client (127.1.0.1, 127.1.0.2, ...)."""
    return f"127.1.{n // 250}.{n % 250 + 1}"


class Client:
    """One browser-like client: a persistent connection, a cookie jar and a source address."""

    def __init__(self, host: str, port: int, source: str, timeout: float = 60.0) -> None:
        self.host, self.port, self.source, self.timeout = host, port, source, timeout
        self.cookies: dict[str, str] = {}
        self.reconnects = 0
        self._conn: http.client.HTTPConnection | None = None
        self._used = False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._used = None, False

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout, source_address=(self.source, 0)
            )
        return self._conn

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        cookies: bool = True,
    ) -> Answer:
        sent = dict(headers or {})
        if cookies and self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        reused = self._used
        try:
            return self._exchange(method, path, sent, body)
        except STALE_CONNECTION:
            if not reused:
                raise
            self.reconnects += 1
            return self._exchange(method, path, sent, body)

    def _exchange(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Answer:
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            self.close()
            raise
        self._used = True
        for raw in response.headers.get_all("Set-Cookie") or []:
            self._store_cookie(raw)
        if response.will_close:
            self.close()
        return Answer(response.status, response.headers.get("Location", ""), data)

    def _store_cookie(self, raw: str) -> None:
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(raw)
        for name, morsel in parsed.items():
            if morsel["max-age"] == "0" or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def get(self, path: str, headers: dict[str, str] | None = None, cookies: bool = True) -> Answer:
        return self.request("GET", path, headers=headers, cookies=cookies)

    def post_form(self, path: str, fields: dict[str, str]) -> Answer:
        body = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, headers=headers, body=body)

    def form_token(self, path: str = "/login") -> str:
        """Load a form page (which also sets the pre-sign-in session cookie) and read its CSRF token."""
        page = self.get(path)
        found = CSRF_FIELD.search(page.text)
        if page.status != 200 or found is None:
            raise SignInFailed(f"GET {path} answered {page.status} without a CSRF token")
        return html.unescape(found.group(1))

    def try_sign_in(self, username: str, password: str) -> Answer:
        """One attempt through the real sign-in form, CSRF token included."""
        token = self.form_token()
        return self.post_form("/login", {"username": username, "password": password, "csrf_token": token})

    def sign_in(self, username: str, password: str) -> None:
        answer = self.try_sign_in(username, password)
        if answer.status != 302 or "/login" in answer.location or "/account/password" in answer.location:
            raise SignInFailed(f"{username}: sign-in answered {answer.status} -> {answer.location or '-'}")


def next_page(page: Answer) -> str | None:
    """The "Next page" link of a findings list page, if any."""
    found = NEXT_LINK.search(page.text)
    return html.unescape(found.group(1)) if found else None


def in_threads(target: Callable[[T], None], items: Iterable[T]) -> None:
    """Run ``target(item)`` for every item, each in its own thread, and wait for all of them."""
    threads = [threading.Thread(target=target, args=(item,), daemon=True) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

"""The one HTTP path of the client: urllib with a bearer token, an optional CA file, JSON both ways and the
API's error body turned into ``APIError``. Only the standard library, so the SDK installs anywhere."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping, Optional

from llmops.errors import APIError, ConfigurationError

# 64 MiB: the largest JSON answer read (a page of 1,000 log lines of at most 16 KiB each is ~16 MiB).
MAX_RESPONSE_BYTES = 64 << 20


class Transport:
    """Sends one request and decodes the JSON answer; ``timeout_seconds`` bounds each request."""

    def __init__(self, server: str, token: Optional[str], ca_file: Optional[str], timeout_seconds: float) -> None:
        parsed = urllib.parse.urlparse(server)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigurationError(
                f"server: expected http://HOST:PORT or https://HOST:PORT, got {server!r} (set OPS_SERVER or pass server=)"
            )
        if timeout_seconds <= 0:
            raise ConfigurationError(f"timeout_seconds: must be > 0, got {timeout_seconds}")
        self.server = server.rstrip("/")
        self.token = token
        self.timeout_seconds = timeout_seconds
        self.context: Optional[ssl.SSLContext] = None
        if parsed.scheme == "https":
            try:
                self.context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as error:
                raise ConfigurationError(
                    f"ca_file: cannot read the CA certificates in {ca_file!r}: {error} (OPS_CA_FILE or ca_file=)"
                ) from error

    def url(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        pairs = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        return self.server + path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")

    def request(
        self,
        method: str,
        path: str,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        timeout_seconds: Optional[float] = None,
    ) -> Any:
        """The decoded JSON answer of ``method path?query`` (``None`` for an empty body)."""
        # default=str: a YAML date or timestamp goes as its text, as opsctl sends it.
        data = None if body is None else json.dumps(body, default=str).encode("utf-8")
        request = urllib.request.Request(self.url(path, query), data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        timeout = timeout_seconds if timeout_seconds is not None else self.timeout_seconds
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.context) as response:
                payload = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read(MAX_RESPONSE_BYTES)) from None
        except urllib.error.URLError as error:
            raise ConfigurationError(
                f"cannot reach the control plane at {self.server}: {error.reason} (is it running? OPS_SERVER)"
            ) from error
        if len(payload) > MAX_RESPONSE_BYTES:
            raise APIError(200, "response_too_large", f"{method} {path} answered more than {MAX_RESPONSE_BYTES} bytes")
        return json.loads(payload) if payload else None


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _api_error(status: int, payload: bytes) -> APIError:
    try:
        detail = json.loads(payload)["error"]
        return APIError(status, str(detail["code"]), str(detail["message"]), detail.get("details"))
    except (ValueError, KeyError, TypeError):
        text = payload.decode("utf-8", "replace").strip()[:500]
        return APIError(status, "http_error", text or f"HTTP {status}")

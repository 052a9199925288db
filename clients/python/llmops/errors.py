"""Typed errors of the SDK: each says what was wrong and what to do."""

from __future__ import annotations

from typing import List, Optional


class LLMOpsError(Exception):
    """The base of every error the SDK raises."""


class ConfigurationError(LLMOpsError):
    """The client cannot be set up: no server, an unreadable token or CA file."""


class ManifestError(LLMOpsError):
    """A manifest could not be read before it was sent (a file that does not exist, YAML without PyYAML)."""


class APIError(LLMOpsError):
    """The control plane answered with an error (``{"error": {"code", "message", "details"}}``).

    ``status`` is the HTTP status, ``code`` the API's error code (``invalid_manifest``, ``not_found``, ...),
    ``details`` the field-by-field problems of a refused manifest.
    """

    def __init__(self, status: int, code: str, message: str, details: Optional[List[str]] = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details or [])
        text = f"{status} {code}: {message}"
        if self.details:
            text += "\n  " + "\n  ".join(self.details)
        super().__init__(text)


class WaitTimeoutError(LLMOpsError):
    """``Client.wait`` gave up before the job finished; the job goes on."""


class JobFailedError(LLMOpsError):
    """The job ended failed or cancelled (``Client.wait(..., raise_on_failure=True)``); ``job`` is its last view."""

    def __init__(self, job: "object") -> None:
        self.job = job
        name = getattr(job, "name", "?")
        state = getattr(job, "state", "?")
        reason = getattr(job, "failure_message", None) or "no reason recorded"
        super().__init__(f"job {name} ended {state}: {reason} (see Client.logs({name!r}))")

"""``Client``: the control plane's REST API (docs/api.md; the routes are ``Sources/APITypes/Wire/Routes.swift``)."""

from __future__ import annotations

import os
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from llmops import manifests
from llmops._http import Transport
from llmops.errors import ConfigurationError, JobFailedError, WaitTimeoutError
from llmops.models import Artifact, Job, LogLine, MetricPoint, SubmittedJob

# The control plane's default longest long-poll (ControlPlaneConfiguration.maxPollSeconds is 30).
LOG_WAIT_SECONDS = 20.0
# Items per page when listing (the API's ListPaging.maxLimit is at least this).
PAGE_LIMIT = 500


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


class Client:
    """A client of one control plane.

    Settings as ``opsctl`` reads them, first match wins:

    - ``server``: the argument, ``OPS_SERVER``, ``~/.opsctl/server-url`` (left by ``opsctl up``), else
      ``http://127.0.0.1:8080``;
    - ``token``: the argument, ``OPS_TOKEN_FILE`` (a file holding it), ``OPS_TOKEN``, ``~/.opsctl/admin-token``;
    - ``ca_file``: the argument or ``OPS_CA_FILE`` (PEM CA certificates for an https server with its own CA).

    Every method raises ``APIError`` for an answer the API refused (with its ``status``, ``code`` and the
    field-by-field ``details`` of a refused manifest) and ``ConfigurationError`` when the server cannot be
    reached.
    """

    def __init__(
        self,
        server: Optional[str] = None,
        token: Optional[str] = None,
        *,
        ca_file: Optional[str] = None,
        timeout_seconds: float = 30.0,
        environ: Optional[Mapping[str, str]] = None,
    ) -> None:
        env = os.environ if environ is None else environ
        state_dir = Path(env.get("HOME", str(Path.home()))) / ".opsctl"
        self._http = Transport(
            server=server or env.get("OPS_SERVER") or _read(state_dir / "server-url") or "http://127.0.0.1:8080",
            token=token or _token_from(env, state_dir),
            ca_file=ca_file or env.get("OPS_CA_FILE") or None,
            timeout_seconds=timeout_seconds,
        )

    @property
    def server(self) -> str:
        """The base URL requests go to."""
        return self._http.server

    # MARK: jobs

    def submit(self, manifest: manifests.Manifest, *, dry_run: bool = False) -> List[SubmittedJob]:
        """Submits one or more manifest documents in one transaction (``POST /v1/manifests``).

        ``manifest`` is YAML or JSON text, a dict, or a list of dicts (``kind: Job`` and ``kind: Queue``). A
        refused manifest raises ``APIError`` (422 ``invalid_manifest``) whose ``details`` name each field.
        Resubmitting an identical job is a no-op (outcome ``unchanged``). Local input files are not uploaded:
        use ``opsctl apply`` for manifests that name files on this machine.
        """
        return self._submit(manifests.documents(manifest), dry_run, source=None)

    def submit_file(self, path: "os.PathLike[str] | str", *, dry_run: bool = False) -> List[SubmittedJob]:
        """Like ``submit`` with the documents of a YAML or JSON file."""
        return self._submit(manifests.read_file(path), dry_run, source=os.fspath(path))

    def _submit(self, documents: List[Dict[str, Any]], dry_run: bool, source: Optional[str]) -> List[SubmittedJob]:
        body: Dict[str, Any] = {"documents": documents, "dryRun": dry_run}
        if source is not None:
            body["source"] = source
        answer = self._http.request("POST", "/v1/manifests", body=body)
        return [SubmittedJob.from_wire(j) for j in answer["jobs"]]

    def job(self, name: str) -> Job:
        """Describes a job: state, task counts, manifest, results, latest metrics and artifacts."""
        return Job.from_wire(self._http.request("GET", "/v1/jobs/" + _quote(name)))

    def jobs(self, *, state: Optional[str] = None, queue: Optional[str] = None) -> Iterator[Job]:
        """Every job in the order the API lists them, optionally of one state or queue; pages lazily."""
        for item in self._pages("/v1/jobs", {"state": state, "queue": queue}):
            yield Job.from_wire(item)

    def tasks(self, name: str) -> List[Dict[str, Any]]:
        """The job's tasks (``TaskView`` objects: state, attempts, progress)."""
        return list(self._pages("/v1/jobs/" + _quote(name) + "/tasks", {}))

    def cancel(self, name: str) -> Job:
        """Cancels a job (idempotent)."""
        return Job.from_wire(self._http.request("POST", "/v1/jobs/" + _quote(name) + "/cancel"))

    def wait(
        self,
        name: str,
        *,
        timeout_seconds: Optional[float] = None,
        poll_interval_seconds: float = 1.0,
        raise_on_failure: bool = False,
    ) -> Job:
        """Waits until the job is succeeded, failed or cancelled and returns it.

        Raises ``WaitTimeoutError`` after ``timeout_seconds`` (the job goes on) and, with ``raise_on_failure``,
        ``JobFailedError`` when it did not succeed.
        """
        if poll_interval_seconds <= 0:
            raise ValueError(f"poll_interval_seconds: must be > 0, got {poll_interval_seconds}")
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        while True:
            job = self.job(name)
            if job.finished:
                if raise_on_failure and job.state != "succeeded":
                    raise JobFailedError(job)
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"job {name} is still {job.state} after {timeout_seconds} s "
                    f"(tasks: {job.tasks}); wait again or cancel it"
                )
            pause = poll_interval_seconds if deadline is None else min(poll_interval_seconds, deadline - time.monotonic())
            time.sleep(max(pause, 0.0))

    # MARK: logs, metrics, artifacts

    def logs(self, name: str, *, since: int = 0, follow: bool = False, task: Optional[int] = None) -> Iterator[LogLine]:
        """The job's log lines after line id ``since``; with ``follow``, waits for new lines (long-polls) until the
        job is finished and every line has been returned, like ``opsctl logs -f``."""
        path = "/v1/jobs/" + _quote(name) + "/logs"
        while True:
            wait = LOG_WAIT_SECONDS if follow else None
            answer = self._http.request(
                "GET",
                path,
                {"since": since, "limit": 1000, "task": task, "wait": wait},
                timeout_seconds=None if wait is None else wait + self._http.timeout_seconds,
            )
            for line in answer["lines"]:
                yield LogLine.from_wire(line)
            since = int(answer["nextSince"])
            if answer["complete"] or (not follow and not answer["lines"]):
                return

    def metrics(self, name: str, metric: Optional[str] = None) -> List[MetricPoint]:
        """Every point of the job's metrics (or of the one named ``metric``), in the order they were stored.

        A restarted gang's points sit beside the first generation's, told apart by ``attempt_id``.
        """
        path = "/v1/jobs/" + _quote(name) + "/metrics"
        return [MetricPoint.from_wire(p) for p in self._pages(path, {"name": metric})]

    def metrics_frame(self, name: str, metric: Optional[str] = None) -> Any:
        """``metrics`` as a pandas DataFrame (columns: name, step, value, time, task_id, attempt_id, id).

        Needs pandas (``pip install 'llmops[pandas]'``); ``metrics`` gives the same points as a list without it.
        """
        try:
            import pandas  # type: ignore[import-untyped]
        except ImportError:
            raise ConfigurationError(
                "metrics_frame needs pandas: pip install 'llmops[pandas]', or use Client.metrics for a list"
            ) from None
        points = self.metrics(name, metric)
        columns = ["name", "step", "value", "time", "task_id", "attempt_id", "id"]
        return pandas.DataFrame([[getattr(p, c) for c in columns] for p in points], columns=columns)

    def artifacts(self, *, job: Optional[str] = None, name: Optional[str] = None) -> List[Artifact]:
        """Registered artifacts, optionally of one job or of one name (register them with ``llmops.report``)."""
        return [Artifact.from_wire(a) for a in self._pages("/v1/artifacts", {"job": job, "name": name})]

    # MARK: the service

    def health(self) -> Dict[str, Any]:
        """``/healthz``: the control plane's version (no token needed)."""
        return dict(self._http.request("GET", "/healthz"))

    def openapi(self) -> Dict[str, Any]:
        """The OpenAPI 3.1 document of every route (``/openapi.json``)."""
        return dict(self._http.request("GET", "/openapi.json"))

    def _pages(self, path: str, query: Mapping[str, Any]) -> Iterator[Dict[str, Any]]:
        cursor: Optional[str] = None
        while True:
            answer = self._http.request("GET", path, {**query, "limit": PAGE_LIMIT, "cursor": cursor})
            yield from answer["items"]
            cursor = answer.get("nextCursor")
            if not cursor:
                return


def _read(path: Path) -> Optional[str]:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def _token_from(env: Mapping[str, str], state_dir: Path) -> Optional[str]:
    file = env.get("OPS_TOKEN_FILE")
    if file:
        token = _read(Path(file))
        if token is None:
            raise ConfigurationError(f"OPS_TOKEN_FILE={file}: cannot read a token there; check the path and permissions")
        return token
    if "OPS_TOKEN" in env:
        token = env["OPS_TOKEN"].strip()
        if not token:
            raise ConfigurationError("OPS_TOKEN is set but empty; set it to the token or unset it")
        return token
    return _read(state_dir / "admin-token")

"""The API's wire shapes (``Sources/APITypes/Wire``) as typed, read-only Python values.

Each keeps the whole JSON object in ``raw``, so a field added to the API later is readable before this
module names it. Times are ``datetime`` in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional

TERMINAL_STATES = ("succeeded", "failed", "cancelled")


def parse_time(value: Any) -> Optional[datetime]:
    """The wire's ISO 8601 UTC timestamps (``2026-01-02T03:04:05.678Z``)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class TaskCounts:
    """How many of a job's tasks are in each state."""

    blocked: int = 0
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0

    @staticmethod
    def from_wire(obj: Mapping[str, Any]) -> "TaskCounts":
        return TaskCounts(**{k: int(obj.get(k, 0)) for k in TaskCounts.__dataclass_fields__})


@dataclass(frozen=True)
class MetricPoint:
    """One point of a metric: ``(name, step, value)`` of one attempt of a task."""

    id: int
    job_id: int
    task_id: int
    attempt_id: int
    name: str
    step: int
    value: float
    time: Optional[datetime]

    @staticmethod
    def from_wire(obj: Mapping[str, Any]) -> "MetricPoint":
        return MetricPoint(
            id=int(obj["id"]),
            job_id=int(obj["jobID"]),
            task_id=int(obj["taskID"]),
            attempt_id=int(obj["attemptID"]),
            name=str(obj["name"]),
            step=int(obj["step"]),
            value=float(obj["value"]),
            time=parse_time(obj.get("time")),
        )


@dataclass(frozen=True)
class Artifact:
    """A file a job registered (a checkpoint, a model): where its bytes are and their SHA-256."""

    id: int
    name: str
    kind: Optional[str]
    job_name: Optional[str]
    location: str
    sha256: str
    bytes: int
    metadata: Any
    created_at: Optional[datetime]
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @staticmethod
    def from_wire(obj: Mapping[str, Any]) -> "Artifact":
        return Artifact(
            id=int(obj["id"]),
            name=str(obj["name"]),
            kind=obj.get("kind"),
            job_name=obj.get("jobName"),
            location=str(obj["location"]),
            sha256=str(obj["sha256"]),
            bytes=int(obj["bytes"]),
            metadata=obj.get("metadata"),
            created_at=parse_time(obj.get("createdAt")),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class Job:
    """A job as ``GET /v1/jobs/{name}`` describes it (``JobView``).

    ``manifest``, ``results``, ``latest_metrics`` and ``artifacts`` are filled by ``Client.job`` (describe),
    not by listings.
    """

    id: int
    name: str
    type: str
    state: str
    queue: str
    priority: int
    replicas: int
    after: List[str]
    tasks: TaskCounts
    pending_reason: Optional[str]
    cancel_requested: bool
    submitted_at: Optional[datetime]
    started_at: Optional[datetime]
    finished_at: Optional[datetime]
    failure_message: Optional[str]
    manifest: Any = None
    results: Optional[List[Dict[str, Any]]] = None
    latest_metrics: Optional[List[MetricPoint]] = None
    artifacts: Optional[List[Artifact]] = None
    raw: Dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def finished(self) -> bool:
        """True once the job is succeeded, failed or cancelled."""
        return self.state in TERMINAL_STATES

    @staticmethod
    def from_wire(obj: Mapping[str, Any]) -> "Job":
        metrics = obj.get("latestMetrics")
        artifacts = obj.get("artifacts")
        return Job(
            id=int(obj["id"]),
            name=str(obj["name"]),
            type=str(obj["type"]),
            state=str(obj["state"]),
            queue=str(obj["queue"]),
            priority=int(obj.get("priority", 0)),
            replicas=int(obj.get("replicas", 1)),
            after=list(obj.get("after", [])),
            tasks=TaskCounts.from_wire(obj.get("tasks", {})),
            pending_reason=obj.get("pendingReason"),
            cancel_requested=bool(obj.get("cancelRequested", False)),
            submitted_at=parse_time(obj.get("submittedAt")),
            started_at=parse_time(obj.get("startedAt")),
            finished_at=parse_time(obj.get("finishedAt")),
            failure_message=obj.get("failureMessage"),
            manifest=obj.get("manifest"),
            results=obj.get("results"),
            latest_metrics=None if metrics is None else [MetricPoint.from_wire(m) for m in metrics],
            artifacts=None if artifacts is None else [Artifact.from_wire(a) for a in artifacts],
            raw=dict(obj),
        )


@dataclass(frozen=True)
class SubmittedJob:
    """What submitting did to one job: ``outcome`` is ``created``, ``unchanged``, ... (``SubmitOutcome``)."""

    outcome: str
    job: Job

    @staticmethod
    def from_wire(obj: Mapping[str, Any]) -> "SubmittedJob":
        return SubmittedJob(outcome=str(obj["outcome"]), job=Job.from_wire(obj["job"]))


@dataclass(frozen=True)
class LogLine:
    """One line of a task's output (``stream`` is ``stdout``, ``stderr`` or ``system``)."""

    id: int
    task_id: int
    attempt_id: int
    attempt_number: int
    sequence: int
    time: Optional[datetime]
    stream: str
    message: str

    @staticmethod
    def from_wire(obj: Mapping[str, Any]) -> "LogLine":
        return LogLine(
            id=int(obj["id"]),
            task_id=int(obj["taskID"]),
            attempt_id=int(obj["attemptID"]),
            attempt_number=int(obj["attemptNumber"]),
            sequence=int(obj["sequence"]),
            time=parse_time(obj.get("time")),
            stream=str(obj["stream"]),
            message=str(obj["message"]),
        )

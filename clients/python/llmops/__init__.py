"""The Python SDK of llm-ops.

``Client`` talks to the control plane's REST API, ``llmops.report`` writes the ``@ops`` report lines a job's
program prints, and ``llmops.data`` reads the system's datasets as the Swift stream does (see docs/python.md).
"""

from llmops.client import Client
from llmops.errors import (
    APIError,
    ConfigurationError,
    JobFailedError,
    LLMOpsError,
    ManifestError,
    WaitTimeoutError,
)
from llmops.models import Artifact, Job, LogLine, MetricPoint, SubmittedJob, TaskCounts
from llmops import report

__all__ = [
    "APIError",
    "Artifact",
    "Client",
    "ConfigurationError",
    "Job",
    "JobFailedError",
    "LLMOpsError",
    "LogLine",
    "ManifestError",
    "MetricPoint",
    "SubmittedJob",
    "TaskCounts",
    "WaitTimeoutError",
    "report",
]
__version__ = "0.1.0"

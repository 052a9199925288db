"""Reports from a running job's program: the ``@ops`` lines of docs/your-own-code.md, printed on stdout.

The worker turns each line into a stored metric point, the task's progress, or a registered artifact (the file
is stored in the cluster's artifact store, SHA-256 checked, and listed by ``Client.artifacts``). Outside a job
the lines are just printed. Values are checked here with the worker's rules, so a mistake raises at the call
instead of becoming an ignored line in the log::

    from llmops import report
    report.metric("loss", 2.1, step=3)
    report.progress(0.25, step=30, total_steps=120)
    report.artifact("out/model.safetensors", name="model-final", kind="model", metadata={"step": 120})
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Dict, Mapping, Optional, TextIO

PREFIX = "@ops "
# The worker's limits (OpsReportLine.swift): metrics per line, bytes of a name.
MAX_METRICS_PER_LINE = 64
MAX_NAME_BYTES = 200


def metric(name: str, value: float, *, step: int, file: Optional[TextIO] = None) -> None:
    """One metric point ``(name, step, value)``."""
    _check_name(name, "name")
    _emit({"metric": name, "step": _step(step), "value": _finite(value, "value")}, file)


def metrics(values: Mapping[str, float], *, step: int, file: Optional[TextIO] = None) -> None:
    """Several metrics of one step in one line (at most 64)."""
    if not 1 <= len(values) <= MAX_METRICS_PER_LINE:
        raise ValueError(f"values: expected 1 to {MAX_METRICS_PER_LINE} metrics, got {len(values)}")
    checked = {}
    for name, value in values.items():
        _check_name(name, f"values[{name!r}]")
        checked[name] = _finite(value, f"values[{name!r}]")
    _emit({"metrics": checked, "step": _step(step)}, file)


def progress(
    fraction: float,
    *,
    step: Optional[int] = None,
    total_steps: Optional[int] = None,
    message: Optional[str] = None,
    file: Optional[TextIO] = None,
) -> None:
    """The task's progress, a fraction 0…1 (``opsctl get tasks``, ``opsctl apply --wait``)."""
    value = _finite(fraction, "fraction")
    if not 0 <= value <= 1:
        raise ValueError(f"fraction: expected a number from 0 to 1, got {fraction}")
    line: Dict[str, Any] = {"progress": value}
    if step is not None:
        line["step"] = _step(step)
    if total_steps is not None:
        line["totalSteps"] = _step(total_steps, "total_steps")
    if message is not None:
        line["message"] = str(message)
    _emit(line, file)


def artifact(
    path: "os.PathLike[str] | str",
    *,
    name: Optional[str] = None,
    kind: Optional[str] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    file: Optional[TextIO] = None,
) -> None:
    """Registers a file as an artifact of the job (relative to the working directory, or absolute).

    Names are unique per job: under DDP register from rank 0 only. The worker stores the whole file before it
    reads the next line, so this may block while a large file is copied.
    """
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise ValueError(f"path: {text} is not a file (write it completely before registering it)")
    line: Dict[str, Any] = {"artifact": text}
    if name is not None:
        _check_name(name, "name")
        line["name"] = name
    if kind is not None:
        line["kind"] = kind
    if metadata is not None:
        line["metadata"] = dict(metadata)
    _emit(line, file)


def _emit(line: Mapping[str, Any], file: Optional[TextIO]) -> None:
    out = file if file is not None else sys.stdout
    out.write(PREFIX + json.dumps(line, allow_nan=False) + "\n")
    out.flush()  # a line must arrive whole and in order with the program's other output


def _finite(value: float, field: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{field}: expected a finite number, got {value}")
    return number


def _step(value: int, field: str = "step") -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"{field}: expected an integer >= 0, got {value!r}")
    return int(value)


def _check_name(name: str, field: str) -> None:
    if not isinstance(name, str) or not 1 <= len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        raise ValueError(f"{field}: expected a name of 1 to {MAX_NAME_BYTES} bytes, got {name!r}")

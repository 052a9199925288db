"""Typed errors of ``llmops.data``, made from the JSON errors of the stream library."""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional

from llmops.errors import LLMOpsError

# The spec's JSON names (llmops_stream.h) → the Python arguments of ``Stream``.
_ARGUMENTS = {
    "sequenceLength": "sequence_length",
    "batchSize": "batch_size",
    "worldSize": "world_size",
    "readerThreads": "reader_threads",
    "shuffleWindow": "shuffle_window",
    "samplesPerEpoch": "samples_per_epoch",
    "maxOpenShards": "max_open_shards",
    "verifyAhead": "verify_ahead",
    "cacheDirectory": "cache_directory",
    "cacheCapacityBytes": "cache_capacity_bytes",
}


def argument_name(field: str) -> str:
    """``sequenceLength`` → ``sequence_length``; paths such as ``sources[1].weight`` and ``state.order`` stay."""
    return re.sub(r"^[A-Za-z]+", lambda m: _ARGUMENTS.get(m.group(0), m.group(0)), field)


class StreamError(LLMOpsError):
    """An error of the data stream. ``field`` is the argument at fault (``""`` when none), ``shard`` the shard
    at fault (``{"dataset", "shard", "location"}``) for a corrupt or unavailable one."""

    def __init__(self, message: str, field: str = "", shard: Optional[Mapping[str, str]] = None) -> None:
        self.field = field
        self.shard: Optional[Dict[str, str]] = dict(shard) if shard else None
        super().__init__(f"{field}: {message}" if field else message)


class StreamLibraryError(StreamError):
    """The stream library (libLLMOpsStreamC) cannot be found or loaded."""


class StreamSpecError(StreamError, ValueError):
    """A bad argument: the wrong type, out of bounds, a dataset that cannot be opened, a resume state saved for
    another data order. ``field`` names it (``sequence_length``, ``sources[1].weight``, ``state.order``)."""


class CorruptShardError(StreamError):
    """A shard failed its size, layout or SHA-256 check: re-create it or remove it from the dataset."""


class ShardUnavailableError(StreamError):
    """A shard could not be read or fetched."""


class DatasetTooSmallError(StreamSpecError):
    """A dataset holds fewer tokens than one sample."""


class IncompatibleDatasetsError(StreamSpecError):
    """The datasets of a blend cannot be mixed (different tokenizers)."""


_KINDS = {
    "invalidSpec": StreamSpecError,
    "invalidArgument": StreamSpecError,
    "bufferTooSmall": StreamSpecError,
    "corruptShard": CorruptShardError,
    "shardUnavailable": ShardUnavailableError,
    "datasetTooSmall": DatasetTooSmallError,
    "incompatibleDatasets": IncompatibleDatasetsError,
}


def from_library(error: Mapping[str, Any]) -> StreamError:
    """The typed exception of the library's ``{"kind", "field", "message"[, "shard"]}``."""
    kind = _KINDS.get(str(error.get("kind")), StreamError)
    return kind(str(error.get("message", "unknown error")), argument_name(str(error.get("field", ""))), error.get("shard"))

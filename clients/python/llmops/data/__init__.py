"""``llmops.data``: the system's datasets as training batches, exactly as the Swift stream gives them.

    from llmops.data import Stream, Source
    with Stream([Source("/data/web", 0.7), Source("/data/code", 0.3)], sequence_length=1024, batch_size=8,
                seed=1234) as stream:
        for batch in stream:              # rank and world size from RANK / WORLD_SIZE
            x = batch.torch()             # (B, T + 1) int64; inputs x[:, :-1], targets x[:, 1:]
            ...
            checkpoint["stream"] = batch.state_after.to_dict()

``llmops.data.torch.StreamDataset`` is the same as a ``torch.utils.data.IterableDataset``. See docs/python.md.
"""

from llmops.data.errors import (
    CorruptShardError,
    DatasetTooSmallError,
    IncompatibleDatasetsError,
    ShardUnavailableError,
    StreamError,
    StreamLibraryError,
    StreamSpecError,
)
from llmops.data.stream import Batch, Source, Stream, StreamInfo, StreamState

__all__ = [
    "Batch",
    "CorruptShardError",
    "DatasetTooSmallError",
    "IncompatibleDatasetsError",
    "ShardUnavailableError",
    "Source",
    "Stream",
    "StreamError",
    "StreamInfo",
    "StreamLibraryError",
    "StreamSpecError",
    "StreamState",
]

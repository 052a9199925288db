"""``StreamDataset``: ``llmops.data.Stream`` as a PyTorch ``IterableDataset`` of (B, T + 1) int64 batches.

    dataset = StreamDataset(sources, sequence_length=1024, batch_size=8, seed=1234, state=saved.get("stream"))
    for x in torch.utils.data.DataLoader(dataset, batch_size=None):   # batches come ready-made
        loss = model(x[:, :-1], x[:, 1:]); ...
        saved = {"model": ..., "stream": dataset.state_dict()}

Use ``num_workers=0`` (the default): the stream already reads ahead on its own background threads, and worker
processes would each open their own copy of this rank's stream and repeat its samples, so they are refused.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, Mapping, Optional

import torch
from torch.utils.data import IterableDataset, get_worker_info

from llmops.data.errors import StreamError
from llmops.data.stream import Stream, StreamState


class StreamDataset(IterableDataset):  # type: ignore[type-arg]
    """Yields this rank's batches as (B, T + 1) tensors of ``dtype`` (int64 by default); ``steps`` bounds how
    many one iteration yields (None: no end). Iterating again continues where the last iteration stopped, and
    ``state_dict`` / ``load_state_dict`` carry that place through a checkpoint. Arguments as ``Stream``'s."""

    def __init__(
        self, sources: Any, *, steps: Optional[int] = None, dtype: Any = torch.long, state: Any = None, **stream: Any
    ) -> None:
        super().__init__()
        self._sources = sources
        self._stream_arguments = stream
        self._steps = steps
        self._dtype = dtype
        self._state: Optional[StreamState] = None
        if state is not None:
            self.load_state_dict({"stream": state} if "stream" not in state else state)

    def __iter__(self) -> Iterator[torch.Tensor]:
        worker = get_worker_info()
        if worker is not None:
            raise StreamError(
                "StreamDataset runs in the main process only: use DataLoader(..., num_workers=0); the stream "
                "reads ahead on its own threads, and each worker process would repeat this rank's samples"
            )
        with Stream(self._sources, state=self._state, **self._stream_arguments) as stream:
            count = 0
            while self._steps is None or count < self._steps:
                batch = stream.next_batch()
                self._state = batch.state_after
                count += 1
                yield batch.torch(self._dtype)

    def state_dict(self) -> Dict[str, Any]:
        """``{"stream": {"epoch", "position", "order"}}`` after the last batch yielded (empty before any)."""
        return {} if self._state is None else {"stream": self._state.to_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resumes after the batch ``state_dict`` was taken at (``{}``: from the start)."""
        saved = state.get("stream")
        self._state = None if saved is None else StreamState.from_dict(saved)

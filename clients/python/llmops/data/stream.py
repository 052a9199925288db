"""``Stream``: the system's training data stream, read through the Swift implementation itself.

The samples, their order, the blend, the ranks' split and the resume state are exactly the Swift
``TokenStream``'s (docs/shards-and-streaming.md): there is one implementation, loaded from libLLMOpsStreamC, so
nothing can drift (docs/python.md says why this and not a second implementation in Python).
"""

from __future__ import annotations

import ctypes
import json
import os
from dataclasses import dataclass
from array import array
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from llmops.data import _library
from llmops.data.errors import StreamError, StreamSpecError, from_library

# The error JSON of a failed open is a sentence or two; 64 KiB holds any, with a shard's path.
_ERROR_BYTES = 64 << 10
# Batches read per call into the library by iteration: one ctypes call costs about as much as copying a small
# batch, so a few at once keep the Python side's share low; at most 256 KiB, so the chunk stays in the core's L2
# cache while it is read (at 1 MiB the benchmark lost a quarter: docs/python.md, "Measured").
MAX_READ_AHEAD_STEPS = 4096
_READ_AHEAD_BYTES = 256 << 10


@dataclass(frozen=True)
class Source:
    """One dataset of a blend: a directory (shared filesystem) with ``index.json`` and its shards, ``file://…``,
    or ``http(s)://…`` (then ``Stream(cache_directory=...)`` is needed), and its weight."""

    location: str
    weight: float = 1.0


class StreamState(NamedTuple):
    """Where the stream is: the same on every rank and independent of their number, so a checkpoint stores it
    as it is and a stream with any rank count resumes there. ``order`` fingerprints the data order; resuming a
    state of another order (other datasets, weights, seed, sequence length) is refused."""

    epoch: int = 0
    position: int = 0
    order: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """The JSON object Swift checkpoints store (``StreamState``)."""
        out: Dict[str, Any] = {"epoch": self.epoch, "position": self.position}
        if self.order is not None:
            out["order"] = self.order
        return out

    @staticmethod
    def from_dict(obj: Mapping[str, Any]) -> "StreamState":
        return StreamState(int(obj.get("epoch", 0)), int(obj.get("position", 0)), obj.get("order"))


@dataclass(frozen=True)
class StreamInfo:
    """The stream's shape: B rows of T + 1 ids per batch, ``token_bytes`` 2 (uint16 datasets) or 4 (int32)."""

    batch_size: int
    sequence_length: int
    rank: int
    world_size: int
    token_bytes: int
    samples_per_epoch: int
    samples_per_dataset: List[int]
    datasets: List[str]
    order: str

    @property
    def batch_tokens(self) -> int:
        return self.batch_size * (self.sequence_length + 1)

    @property
    def batch_bytes(self) -> int:
        return self.batch_tokens * self.token_bytes

    @property
    def typecode(self) -> str:
        """The ``array``/``memoryview`` format of one id."""
        return "H" if self.token_bytes == 2 else "i"


class Batch:
    """One batch of this rank: ``tokens`` is a B x (T + 1) memoryview of ids (row r's inputs are its first T,
    its targets its last T), ``positions`` each row's place in the global order, ``state_after`` the state to
    checkpoint after training on it. (The last two are made when read: a batch costs Python as little as can be.)"""

    __slots__ = ("tokens", "_positions", "_row", "_global_after", "_stream_info")

    def __init__(self, tokens: memoryview, positions: "array[int]", row: int, global_after: int, info: StreamInfo):
        self.tokens = tokens
        self._positions = positions
        self._row = row
        self._global_after = global_after
        self._stream_info = info

    @property
    def positions(self) -> List[int]:
        """Each row's global position (epoch x samples per epoch + position) in the one order of all ranks."""
        return self._positions[self._row : self._row + self._stream_info.batch_size].tolist()

    @property
    def state_after(self) -> StreamState:
        """The state after this batch: what a checkpoint taken after training on it stores."""
        epoch, position = divmod(self._global_after, self._stream_info.samples_per_epoch)
        return StreamState(epoch, position, self._stream_info.order)

    @property
    def _info(self) -> StreamInfo:
        return self._stream_info

    def numpy(self) -> Any:
        """The ids as a numpy array of shape (B, T + 1), uint16 or int32 as stored (no copy)."""
        import numpy

        dtype = numpy.uint16 if self._info.token_bytes == 2 else numpy.int32
        return numpy.frombuffer(self.tokens, dtype=dtype).reshape(self._info.batch_size, self._info.sequence_length + 1)

    def torch(self, dtype: Any = None) -> Any:
        """The ids as a new torch tensor of shape (B, T + 1), int64 by default (what embeddings take)."""
        import torch

        stored = torch.uint16 if self._info.token_bytes == 2 else torch.int32  # torch >= 2.3 has uint16
        raw = torch.frombuffer(self.tokens.cast("B"), dtype=stored)
        shape = (self._info.batch_size, self._info.sequence_length + 1)
        return raw.view(shape).to(torch.long if dtype is None else dtype)

    def rows(self) -> List[List[int]]:
        """The rows as lists of ints (slow; for inspection and tests)."""
        return [list(row) for row in self.tokens.tolist()]


SourcesArgument = Union[Sequence[Union[Source, str, Tuple[str, float]]], Mapping[str, float]]


class Stream:
    """The blended, shuffled, packed stream of this rank.

    ``rank`` and ``world_size`` default to ``RANK`` and ``WORLD_SIZE`` (what the ``command`` kind and torchrun
    set), else 0 and 1. Each step the ranks together consume ``world_size * batch_size`` consecutive samples of
    the one global order, rank r the r-th block. ``state`` resumes (a ``StreamState`` or its dict, from any
    rank's checkpoint). The other arguments are ``StreamConfiguration``'s and default as in Swift.

    Use as an iterator of ``Batch`` (``for batch in stream``), or ``fill_into`` for a reused buffer (fastest).
    A ``Stream`` may be shared between threads (calls are serialized) but not between processes: open one per
    process (``StreamDataset`` refuses DataLoader worker processes for that reason).
    """

    def __init__(
        self,
        sources: SourcesArgument,
        *,
        sequence_length: int,
        batch_size: int,
        seed: int,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        state: Union[StreamState, Mapping[str, Any], None] = None,
        shuffle_window: int = 4096,
        samples_per_epoch: Optional[int] = None,
        max_open_shards: int = 8,
        reader_threads: int = 1,
        verify_ahead: bool = True,
        cache_directory: Optional[str] = None,
        cache_capacity_bytes: Optional[int] = None,
        read_ahead_steps: int = 16,
        library: Optional[str] = None,
    ) -> None:
        if not isinstance(read_ahead_steps, int) or not 1 <= read_ahead_steps <= MAX_READ_AHEAD_STEPS:
            raise StreamSpecError(f"expected an integer from 1 to {MAX_READ_AHEAD_STEPS}", "read_ahead_steps")
        self._lib = _library.load(library)
        self._handle: Optional[int] = None
        spec: Dict[str, Any] = {
            "sources": [{"location": s.location, "weight": s.weight} for s in _sources(sources)],
            "sequenceLength": sequence_length,
            "batchSize": batch_size,
            "seed": seed,
            "rank": _from_env("RANK", 0) if rank is None else rank,
            "worldSize": _from_env("WORLD_SIZE", 1) if world_size is None else world_size,
            "shuffleWindow": shuffle_window,
            "maxOpenShards": max_open_shards,
            "readerThreads": reader_threads,
            "verifyAhead": verify_ahead,
        }
        if samples_per_epoch is not None:
            spec["samplesPerEpoch"] = samples_per_epoch
        if cache_directory is not None:
            spec["cacheDirectory"] = os.fspath(cache_directory)
        if cache_capacity_bytes is not None:
            spec["cacheCapacityBytes"] = cache_capacity_bytes
        if state is not None:
            spec["state"] = (state if isinstance(state, StreamState) else StreamState.from_dict(state)).to_dict()
        try:
            text = json.dumps(spec, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as error:
            raise StreamSpecError(f"cannot be written as JSON: {error}") from error
        error = ctypes.create_string_buffer(_ERROR_BYTES)
        handle = self._lib.llmops_stream_open(text, error, _ERROR_BYTES)
        if not handle:
            raise from_library(json.loads(error.value.decode("utf-8")))
        self._handle = handle
        info = json.loads(self._string(self._lib.llmops_stream_info))
        self.info = StreamInfo(
            batch_size=info["batchSize"],
            sequence_length=info["sequenceLength"],
            rank=info["rank"],
            world_size=info["worldSize"],
            token_bytes=info["tokenBytes"],
            samples_per_epoch=info["samplesPerEpoch"],
            samples_per_dataset=list(info["samplesPerDataset"]),
            datasets=list(info["datasets"]),
            order=info["order"],
        )
        # Batches read ahead (in one buffer of their own, so a batch handed out stays valid) and the global
        # position of the next one handed out: the state is computed from it as TokenStream advances its own.
        self._ahead = max(1, min(read_ahead_steps, _READ_AHEAD_BYTES // self.info.batch_bytes))
        self._chunk = memoryview(b"")
        self._chunk_positions = array("q")
        self._chunk_next = 0
        self._chunk_steps = 0
        opened = self._library_state()
        self._next_global = opened.epoch * self.info.samples_per_epoch + opened.position
        self._step_samples = self.info.world_size * self.info.batch_size
        self._batch_bytes, self._rows, self._typecode = self.info.batch_bytes, self.info.batch_size, self.info.typecode
        self._shape = (self.info.batch_size, self.info.sequence_length + 1)
        self._filled: Optional[Tuple[Any, memoryview, int]] = None

    # MARK: reading

    def next_batch(self) -> Batch:
        """This rank's next batch; the state moves one step (all ranks' samples) on. The batch's memory is its
        own (it stays valid)."""
        i = self._chunk_next
        if i == self._chunk_steps:
            self._read_ahead()
            i = 0
        self._chunk_next = i + 1
        self._next_global += self._step_samples
        size = self._batch_bytes
        tokens = self._chunk[i * size : (i + 1) * size].cast(self._typecode, self._shape)
        return Batch(tokens, self._chunk_positions, i * self._rows, self._next_global, self.info)

    def __iter__(self) -> Iterator[Batch]:
        """Batches without end (the stream runs through epochs); stop when training is done. The same batches as
        calling ``next_batch`` (the two may be mixed), with the per-batch work in local variables: in CPython a
        batch costs about a microsecond, as much as the stream's own work on a small one (docs/python.md)."""
        size, typecode, shape, rows, info, step = (
            self._batch_bytes, self._typecode, self._shape, self._rows, self.info, self._step_samples)
        while True:
            if self._chunk_next == self._chunk_steps:
                self._read_ahead()
            chunk, positions, i = self._chunk, self._chunk_positions, self._chunk_next
            while i < self._chunk_steps and chunk is self._chunk:
                self._chunk_next = i + 1
                after = self._next_global + step
                self._next_global = after
                yield Batch(chunk[i * size : (i + 1) * size].cast(typecode, shape), positions, i * rows, after, info)
                i = self._chunk_next  # next_batch or fill_into may have run meanwhile

    def fill_into(self, buffer: Any, steps: int = 1) -> None:
        """Writes the next ``steps`` batches of this rank into ``buffer`` (steps x B rows of T + 1 ids of
        ``info.token_bytes`` each, row-major): a writable contiguous buffer such as a numpy array, a bytearray
        or ``array.array``, reused from call to call. The fastest way to read: no allocation per batch, the
        library writes straight into it."""
        cached = self._filled
        if cached is not None and cached[0] is buffer:
            view, address = cached[1], cached[2]
        else:
            view = memoryview(buffer).cast("B")
            if view.readonly:
                raise StreamSpecError("expected a writable contiguous buffer (a numpy array, bytearray or array)", "buffer")
            address = ctypes.addressof(ctypes.c_char.from_buffer(view))
            # Kept (with the view, so the buffer cannot be resized or freed meanwhile) for the next call.
            self._filled = (buffer, view, address)
        size = self._batch_bytes
        if steps.__class__ is not int or steps < 1 or view.nbytes < steps * size:
            raise StreamSpecError(f"{steps} steps need {steps} x {size} bytes, the buffer has {view.nbytes}", "steps")
        done = 0
        while self._chunk_next < self._chunk_steps and done < steps:  # batches read ahead come first
            i = self._chunk_next
            view[done * size : (done + 1) * size] = self._chunk[i * size : (i + 1) * size]
            self._chunk_next, done = i + 1, done + 1
        if done < steps:
            self._next(address + done * size, (steps - done) * size, steps - done, None)
        self._next_global += steps * self._step_samples

    def _read_ahead(self) -> None:
        chunk = _uninitialized(self._ahead * self._batch_bytes)
        positions = array("q", bytes(8 * self._ahead * self._rows))
        address = ctypes.addressof(ctypes.c_char.from_buffer(chunk))
        self._next(address, len(chunk), self._ahead, positions.buffer_info()[0])
        self._chunk, self._chunk_positions = memoryview(chunk).cast("B"), positions
        self._chunk_next, self._chunk_steps = 0, self._ahead

    def _next(self, address: int, nbytes: int, steps: int, positions: Optional[int]) -> None:
        if self._handle is None:
            raise StreamError("the stream is closed")
        if self._lib.llmops_stream_next(self._handle, address, nbytes, steps, positions) != 0:
            raise from_library(json.loads(self._string(self._lib.llmops_stream_error)))

    # MARK: state

    @property
    def state(self) -> StreamState:
        """Where the next step starts (after the last batch handed out): store it in the checkpoint, pass it as
        ``state=`` to resume."""
        return self._state_at(self._next_global)

    def _state_at(self, global_position: int) -> StreamState:
        # TokenStream.advanceOneStep's arithmetic: the global position split into (epoch, position).
        epoch, position = divmod(global_position, self.info.samples_per_epoch)
        return StreamState(epoch, position, self.info.order)

    def _library_state(self) -> StreamState:
        """The library's own state: past the batches read ahead."""
        return StreamState.from_dict(json.loads(self._string(self._lib.llmops_stream_state)))

    def close(self) -> None:
        """Unmaps the shards and stops the stream's background work; reading afterwards raises."""
        if self._handle is not None:
            self._lib.llmops_stream_close(self._handle)
            self._handle = None

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def _string(self, function: Callable[..., int]) -> str:
        if self._handle is None:
            raise StreamError("the stream is closed")
        capacity = 4096
        while True:
            buffer = ctypes.create_string_buffer(capacity)
            length = function(self._handle, buffer, capacity)
            if length < capacity:
                return buffer.value.decode("utf-8")
            capacity = length + 1


def _uninitialized(nbytes: int) -> Any:
    """A writable buffer of ``nbytes`` the library fills whole: numpy's, not zeroed first, when numpy is there
    (zeroing a 256 KiB chunk costs about half as much as the stream reading into it), else a bytearray. numpy is
    imported on first use, not with the package (which needs no third-party module)."""
    global _numpy
    if _numpy is None:
        try:
            import numpy

            _numpy = numpy
        except ImportError:
            _numpy = False
    if _numpy is not False:
        return _numpy.empty(nbytes, dtype=_numpy.uint8)
    return bytearray(nbytes)


_numpy: Any = None  # the module, False when it is not installed, None before the first look


def _sources(sources: SourcesArgument) -> List[Source]:
    if isinstance(sources, Mapping):
        items: Iterable[Any] = [Source(str(k), float(v)) for k, v in sources.items()]
    elif isinstance(sources, (str, os.PathLike)):
        items = [Source(os.fspath(sources))]
    else:
        items = sources
    out: List[Source] = []
    for i, source in enumerate(items):
        if isinstance(source, Source):
            out.append(source)
        elif isinstance(source, (str, os.PathLike)):
            out.append(Source(os.fspath(source)))
        elif isinstance(source, tuple) and len(source) == 2:
            out.append(Source(os.fspath(source[0]), source[1]))
        else:
            raise StreamSpecError(f"expected a Source, a location or a (location, weight) pair, got {source!r}", f"sources[{i}]")
    return out


def _from_env(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise StreamSpecError(f"the environment variable {name}={text!r} is not an integer; pass it explicitly", name.lower()) from None

"""Finds and loads libLLMOpsStreamC (the Swift stream behind a C ABI, ``Sources/LLMOpsStreamC/llmops_stream.h``)
with ctypes, once per process."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from pathlib import Path
from typing import List, Optional

from llmops.data.errors import StreamLibraryError

ABI_VERSION = 1
_SUFFIX = ".dylib" if sys.platform == "darwin" else ".so"
FILE_NAME = "libLLMOpsStreamC" + _SUFFIX

_lock = threading.Lock()
_loaded: Optional[ctypes.CDLL] = None


def candidates() -> List[Path]:
    """Where the library is looked for, in order: ``LLMOPS_STREAM_LIBRARY``; next to this package (a copy placed
    there); a repository checkout's ``.build/release`` (then ``debug``) above this file or the working directory."""
    found: List[Path] = []
    configured = os.environ.get("LLMOPS_STREAM_LIBRARY")
    if configured:
        return [Path(configured)]
    here = Path(__file__).resolve().parent
    found.append(here / FILE_NAME)
    for start in (here, Path.cwd().resolve()):
        for directory in [start, *start.parents]:
            for configuration in ("release", "debug"):
                found.append(directory / ".build" / configuration / FILE_NAME)
    return found


def load(path: Optional[str] = None) -> ctypes.CDLL:
    """The loaded library (``path`` overrides the search); raises ``StreamLibraryError`` saying how to get it."""
    global _loaded
    with _lock:
        if _loaded is not None and path is None:
            return _loaded
        paths = [Path(path)] if path else candidates()
        chosen = next((p for p in paths if p.is_file()), None)
        if chosen is None:
            system = ctypes.util.find_library("LLMOpsStreamC")
            if system is None:
                raise StreamLibraryError(
                    f"{FILE_NAME} not found (looked at {', '.join(str(p) for p in paths[:3])}, ...): build it with "
                    "`swift build -c release --product LLMOpsStreamC` in the llm-ops repository and set "
                    "LLMOPS_STREAM_LIBRARY to .build/release/" + FILE_NAME
                )
            chosen = Path(system)
        try:
            library = ctypes.CDLL(str(chosen))
        except OSError as error:
            raise StreamLibraryError(f"cannot load {chosen}: {error}") from error
        _declare(library)
        version = library.llmops_stream_abi_version()
        if version != ABI_VERSION:
            raise StreamLibraryError(
                f"{chosen} has ABI version {version}, this SDK needs {ABI_VERSION}: rebuild the library from the same "
                "checkout as the SDK"
            )
        if path is None:
            _loaded = library
        return library


def _declare(library: ctypes.CDLL) -> None:
    handle, text, size = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64
    library.llmops_stream_abi_version.argtypes = []
    library.llmops_stream_abi_version.restype = ctypes.c_int32
    library.llmops_stream_open.argtypes = [text, ctypes.c_char_p, size]
    library.llmops_stream_open.restype = handle
    library.llmops_stream_next.argtypes = [handle, ctypes.c_void_p, size, ctypes.c_int32, ctypes.c_void_p]
    library.llmops_stream_next.restype = ctypes.c_int32
    for name in ("llmops_stream_state", "llmops_stream_info", "llmops_stream_error"):
        function = getattr(library, name)
        function.argtypes = [handle, ctypes.c_char_p, size]
        function.restype = size
    library.llmops_stream_close.argtypes = [handle]
    library.llmops_stream_close.restype = None

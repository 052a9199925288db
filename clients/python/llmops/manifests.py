"""Manifests as the API takes them: a list of JSON documents. From a dict, a list of dicts, JSON text, or YAML
text / a YAML file (multi-document with ``---``), the last only when PyYAML is installed (``pip install
'llmops[yaml]'``): the SDK itself depends on nothing."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Sequence, Union

from llmops.errors import ManifestError

Manifest = Union[str, Mapping[str, Any], Sequence[Mapping[str, Any]]]


def documents(manifest: Manifest) -> List[Dict[str, Any]]:
    """The documents of ``manifest`` (text, a mapping, or a sequence of mappings)."""
    if isinstance(manifest, Mapping):
        return [dict(manifest)]
    if isinstance(manifest, str):
        return _parse_text(manifest, source="the manifest text")
    if isinstance(manifest, Sequence):
        out = []
        for i, document in enumerate(manifest):
            if not isinstance(document, Mapping):
                raise ManifestError(f"manifest[{i}]: expected a mapping (one document), got {type(document).__name__}")
            out.append(dict(document))
        return out
    raise ManifestError(f"manifest: expected YAML/JSON text, a dict or a list of dicts, got {type(manifest).__name__}")


def read_file(path: "os.PathLike[str] | str") -> List[Dict[str, Any]]:
    """The documents of a manifest file (YAML or JSON)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ManifestError(f"cannot read the manifest file {os.fspath(path)}: {error.strerror}") from error
    return _parse_text(text, source=os.fspath(path))


def _parse_text(text: str, source: str) -> List[Dict[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = None  # YAML flow style also starts with { or [: let the YAML parser say what is wrong.
        if parsed is not None:
            return documents(parsed)
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise ManifestError(
            f"{source} is YAML: install PyYAML (pip install 'llmops[yaml]') or pass the manifest as a dict or JSON"
        ) from None
    try:
        loaded = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise ManifestError(f"{source} is not valid YAML: {error}") from error
    if not loaded:
        raise ManifestError(f"{source} holds no document")
    return documents(loaded)

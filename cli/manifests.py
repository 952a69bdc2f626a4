"""Manifests given with ``-f``: files, directories or stdin; YAML (multi-document) or JSON.

``parse_text`` and ``check`` are pure; ``load`` does the file I/O. Every
problem is a ``ManifestError`` whose message names the file, the document
(1-based, counting ``---`` separated documents) and the field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from coxapi import defaults, validation
from coxapi.kinds import Kind, UnknownKind, lookup

from .errors import UsageFailure

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "STDIN"


class ManifestError(UsageFailure):
    pass


@dataclass
class Manifest:
    obj: dict[str, Any]
    source: str
    index: int  # 1-based document number within ``source``

    @property
    def where(self) -> str:
        return f"{self.source}: document {self.index}"

    @property
    def name(self) -> str:
        return str(self.obj.get("metadata", {}).get("name", ""))

    @property
    def kind(self) -> Kind:
        return lookup(str(self.obj.get("kind")))


def _yaml_error(source: str, e: yaml.YAMLError) -> ManifestError:
    mark = getattr(e, "problem_mark", None)
    problem = " ".join(str(getattr(e, "problem", None) or e).split())
    if mark is not None:
        return ManifestError(f"{source}: line {mark.line + 1}, column {mark.column + 1}: "
                             f"invalid YAML: {problem}")
    return ManifestError(f"{source}: invalid YAML: {problem}")


def _documents(text: str, source: str) -> list[Any]:
    if source.endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            if source.endswith(".json"):
                raise ManifestError(f"{source}: line {e.lineno}, column {e.colno}: "
                                    f"invalid JSON: {e.msg}") from None
        else:
            return data if isinstance(data, list) else [data]
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise _yaml_error(source, e) from None


def parse_text(text: str, source: str) -> list[Manifest]:
    """The objects in one file's text; ``kind: List`` documents are expanded."""
    out: list[Manifest] = []
    for index, doc in enumerate(_documents(text, source), start=1):
        if doc is None:
            continue  # an empty document (e.g. a trailing ---)
        if not isinstance(doc, dict):
            raise ManifestError(f"{source}: document {index}: expected an object, "
                                f"got {type(doc).__name__}")
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                if not isinstance(item, dict):
                    raise ManifestError(f"{source}: document {index}: items: "
                                        "every item must be an object")
                out.append(Manifest(item, source, index))
        else:
            out.append(Manifest(doc, source, index))
    return out


def check(m: Manifest, validate: bool = True) -> None:
    """Refuse documents the server could not take: no kind, apiVersion, name; unknown
    kinds; and (with ``validate``) the field errors the server's validation would give."""
    obj = m.obj
    missing = [f for f in ("apiVersion", "kind") if not obj.get(f)]
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        missing.append("metadata.name")
    if missing:
        raise ManifestError(f"{m.where}: {', '.join(missing)}: Required value")
    try:
        kind = lookup(str(obj["kind"]))
    except UnknownKind:
        kind = None
    if kind is None or kind.kind != obj["kind"] or kind.api_version != obj["apiVersion"]:
        raise ManifestError(f'{m.where}: no matches for kind "{obj["kind"]}" '
                            f'in version "{obj["apiVersion"]}"')
    if not validate:
        return
    trial = copy.deepcopy(obj)
    trial.pop("status", None)
    if kind.namespaced:
        trial["metadata"].setdefault("namespace", "default")
    causes = validation.errors_of(defaults.apply_defaults(trial))
    if causes:
        raise ManifestError(f"{m.where}: " + "; ".join(f"{f}: {msg}" for f, msg in causes))


def files_in(path: Path) -> list[Path]:
    """A directory's manifests in sorted order (not recursive)."""
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def load(paths: Iterable[str], stdin: TextIO, validate: bool = True,
         verb: str = "apply") -> list[Manifest]:
    """Read and check every manifest named by ``-f`` (``-`` is stdin)."""
    out: list[Manifest] = []
    for arg in paths:
        if arg == "-":
            sources = [(STDIN, stdin.read())]
        else:
            path = Path(arg)
            if path.is_dir():
                files = files_in(path)
                if not files:
                    raise ManifestError(f"{arg}: no *.yaml, *.yml or *.json files in directory")
            elif path.exists():
                files = [path]
            else:
                raise ManifestError(f'the path "{arg}" does not exist')
            sources = []
            for f in files:
                try:
                    sources.append((str(f), f.read_text()))
                except (OSError, UnicodeDecodeError) as e:
                    raise ManifestError(f"{f}: cannot read: {e}") from None
        for source, text in sources:
            found = parse_text(text, source)
            for m in found:
                check(m, validate)
            out.extend(found)
    if not out:
        raise ManifestError(f"no objects passed to {verb}")
    return out

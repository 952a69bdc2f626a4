"""Process settings: defaults in code, then a YAML file, then the
environment, then flags (each layer overrides the one before).

A process kind declares its settings once, as a dataclass whose defaults are
the defaults (``master.config.MasterConfig``, ``node.config.NodeRunConfig``);
a field whose type is itself a dataclass is a section (``raft:`` in the file,
``raft.fsync`` as a key, ``COX_MASTER_RAFT_FSYNC`` in the environment). Fields
marked ``NOT_A_SETTING`` are filled in by the process (secrets read from
files, objects, clocks) and are not accepted from any layer. ``load`` rejects
unknown keys and values of the wrong type with a ``ConfigError`` naming the
key and where it came from.

Defaults that several processes share are written here once.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import yaml

# Pod addresses: one /24 per node (controllers), masqueraded beyond it (nodes).
CLUSTER_CIDR = "10.244.0.0/16"
# ClusterIP addresses of Services.
SERVICE_CIDR = "10.96.0.0/16"
# Events expire this long after their last occurrence (API lease and event GC).
EVENT_TTL_SECONDS = 3600

# dataclass field metadata: set by the process itself, never by file, env or flag
NOT_A_SETTING = {"setting": False}

T = TypeVar("T")


class ConfigError(ValueError):
    pass


def _is_section(typ: Any) -> bool:
    return isinstance(typ, type) and dataclasses.is_dataclass(typ)


def _fields(cls: type) -> dict[str, Any]:
    """The settable fields of a settings dataclass and their resolved types."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)
            if f.metadata.get("setting", True)}


def settings(cls: type, prefix: str = "") -> dict[str, Any]:
    """Every settable key of ``cls`` (dotted through sections) and its type."""
    out: dict[str, Any] = {}
    for name, typ in _fields(cls).items():
        if _is_section(typ):
            out.update(settings(typ, f"{prefix}{name}."))
        else:
            out[prefix + name] = typ
    return out


def env_name(env_prefix: str, key: str) -> str:
    """``COX_MASTER_`` + ``raft.quota_bytes`` -> ``COX_MASTER_RAFT_QUOTA_BYTES``."""
    return env_prefix + key.replace(".", "_").upper()


def default_of(cls: type, key: str) -> Any:
    """The default of a dotted key (for help texts)."""
    head, _, rest = key.partition(".")
    f = next(f for f in dataclasses.fields(cls) if f.name == head)
    if rest:
        return default_of(typing.get_type_hints(cls)[head], rest)
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def shown(value: Any) -> str:
    """A default as it is written in YAML (help texts, docs/config.md)."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    return str(value)


def _type_name(typ: Any) -> str:
    return str(getattr(typ, "__name__", typ)) if typing.get_origin(typ) is None else str(typ)


def _check(value: Any, typ: Any, key: str, where: str) -> Any:
    """``value`` (from YAML or a flag) as ``typ``, or a ConfigError."""
    def wrong() -> ConfigError:
        return ConfigError(f"{key} ({where}): expected {_type_name(typ)}, got "
                           f"{type(value).__name__} {value!r}")

    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"{key}: unsupported setting type {typ}")
        return _check(value, inner[0], key, where)
    if typ is bool:
        if not isinstance(value, bool):
            raise wrong()
        return value
    if typ in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                typ is int and not isinstance(value, int)):
            raise wrong()
        return typ(value)
    if typ is str:
        if not isinstance(value, str):
            raise wrong()
        return value
    if origin is list:
        if not isinstance(value, list | tuple):
            raise wrong()
        return [_check(v, args[0], f"{key}[{i}]", where) for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise wrong()
        return tuple(_check(v, a, f"{key}[{i}]", where)
                     for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise wrong()
        return {_check(k, args[0], f"{key} key", where): _check(v, args[1], f"{key}.{k}", where)
                for k, v in value.items()}
    raise TypeError(f"{key}: unsupported setting type {typ}")


def _parse_text(text: str, typ: Any, key: str, where: str) -> Any:
    """An environment variable's text as ``typ``: lists are comma-separated,
    maps ``k=v,k=v``; an empty value of an optional setting is None."""
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin in (types.UnionType, typing.Union):
        if text == "" and type(None) in args:
            return None
        typ = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(typ), typing.get_args(typ)
    items = [s.strip() for s in text.split(",") if s.strip()]
    try:
        if typ is bool:
            value: Any = {"true": True, "1": True, "yes": True,
                          "false": False, "0": False, "no": False}[text.strip().lower()]
        elif typ in (int, float):
            value = typ(text)
        elif origin in (list, tuple):
            value = [_parse_text(s, args[0], key, where) for s in items]
        elif origin is dict:
            value = dict(s.split("=", 1) for s in items)
        else:
            value = text
    except (KeyError, ValueError):
        raise ConfigError(f"{key} ({where}): expected {_type_name(typ)}, got {text!r}") from None
    return _check(value, typ, key, where)


def read_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {' '.join(str(e).split())}") \
            from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    return data


def _flatten_file(data: Mapping[str, Any], cls: type, where: str,
                  prefix: str = "") -> dict[str, Any]:
    known = _fields(cls)
    out: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if name not in known:
            raise ConfigError(f"unknown setting {key!r} ({where})")
        typ = known[name]
        if _is_section(typ):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{key} ({where}): expected a mapping of settings, got "
                                  f"{type(value).__name__}")
            out.update(_flatten_file(value, typ, where, f"{key}."))
        else:
            out[key] = _check(value, typ, key, where)
    return out


def _build(cls: type[T], values: Mapping[str, Any], env_prefix: str, prefix: str = "") -> T:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]  # a dataclass by contract
        if not f.metadata.get("setting", True):
            continue
        key, typ = prefix + f.name, typing.get_type_hints(cls)[f.name]
        if _is_section(typ):
            kwargs[f.name] = _build(typ, values, env_prefix, f"{key}.")
        elif key in values:
            kwargs[f.name] = values[key]
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing setting {key}: give it in the config file, as "
                              f"{env_name(env_prefix, key)} or with its flag")
    return cls(**kwargs)


def load(cls: type[T], *, env_prefix: str, file: str | None = None,
         env: Mapping[str, str] | None = None, flags: Mapping[str, Any] | None = None) -> T:
    """``cls`` from its defaults, then ``file`` (YAML), then the variables of
    ``env`` (``os.environ`` by default) named ``env_prefix`` + key, then
    ``flags`` (dotted key -> value; None means not given)."""
    keys = settings(cls)
    values: dict[str, Any] = {}
    if file is not None:
        values.update(_flatten_file(read_file(file), cls, file))
    by_env = {env_name(env_prefix, k): k for k in keys}
    for name, text in sorted((os.environ if env is None else env).items()):
        if not name.startswith(env_prefix):
            continue
        if name not in by_env:
            raise ConfigError(f"unknown setting in the environment: {name}")
        key = by_env[name]
        values[key] = _parse_text(text, keys[key], key, name)
    for key, value in (flags or {}).items():
        if value is None:
            continue
        if key not in keys:
            raise ConfigError(f"unknown setting {key!r} (flags)")
        values[key] = _check(value, keys[key], key, "flags")
    return _build(cls, values, env_prefix)

"""load_config(dir): the only place YAML is read; every problem names file:line and field."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from connector.config.connector_models import ConnectorConfig
from connector.config.crossref import check_references
from connector.config.routing_models import RoutingConfig
from connector.config.yaml_source import Path, YamlDocument, YamlSyntaxError, read_yaml
from connector.errors import ConfigError

ROUTING_FILE = "routing.yaml"
CONNECTOR_FILE = "connector.yaml"


@dataclass(frozen=True)
class Config:
    """A validated pair of config files and a fingerprint of their text."""

    routing: RoutingConfig
    connector: ConnectorConfig
    directory: FsPath
    fingerprint: str


def format_path(path: Path) -> str:
    """Render a field path the way an admin reads it: `routes[3].assign.team`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _problem(doc: YamlDocument, path: Path, message: str) -> str:
    line = doc.line_of(path)
    where = f"{doc.file}:{line}" if line else doc.file
    return f"{where} {format_path(path)}: {message}"


def _model_at(model: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The config model that sits at a path (to list the keys allowed there)."""
    candidates: list[Any] = [model]
    for part in path:
        nxt: list[Any] = []
        for tp in candidates:
            if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
                field = tp.model_fields.get(part)
                if field is not None:
                    nxt.extend(_unwrap(field.annotation))
            elif get_origin(tp) in (tuple, list) and isinstance(part, int):
                nxt.extend(_unwrap(get_args(tp)[0]))
            elif get_origin(tp) is dict:
                nxt.extend(_unwrap(get_args(tp)[1]))
        candidates = nxt
    for tp in candidates:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp
    return None


def _unwrap(tp: Any) -> list[Any]:
    args = get_args(tp)
    origin = get_origin(tp)
    if origin in (tuple, list, dict):
        return [tp]
    if args and origin is not None and not isinstance(origin, type):
        return [t for a in args for t in _unwrap(a)]
    if hasattr(tp, "__metadata__"):
        return _unwrap(args[0])
    return [tp]


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[Path, bool]:
    """Keep the parts of a pydantic loc that name real keys; True if the last one is missing."""
    path: list[str | int] = []
    current = data
    for part in loc:
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and part < len(current)
        if in_dict or in_list:
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str) and "[" not in part:
            path.append(part)
            return tuple(path), True
        else:
            continue
        path.append(part)
    return tuple(path), False


def _validation_problems(
    doc: YamlDocument, model: type[BaseModel], exc: ValidationError
) -> list[str]:
    by_path: dict[Path, str] = {}
    for err in exc.errors():
        path, missing = _data_path(doc.data, tuple(err["loc"]))
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, path[:-1])
            allowed = ", ".join(parent.model_fields) if parent else "see the docs"
            message = f"unknown key {path[-1]!r} (allowed: {allowed})"
        elif err["type"] == "missing" or (missing and err["type"] != "extra_forbidden"):
            message = f"missing required field {path[-1]!r}" if path else message
        elif err["type"] != "value_error" and not isinstance(err.get("input"), dict | list):
            message = f"{message} (got {err['input']!r})"
        if path not in by_path or str(err["msg"]).startswith("Value error"):
            by_path[path] = message
    return [_problem(doc, path, msg) for path, msg in by_path.items()]


def _read(directory: FsPath, name: str, required: bool) -> YamlDocument | None:
    path = directory / name
    if not path.exists():
        if required:
            raise ConfigError([f"{name}: file not found in {directory}"])
        return None
    try:
        doc = read_yaml(path.read_text(encoding="utf-8"), name)
    except YamlSyntaxError as exc:
        where = f"{name}:{exc.line}" if exc.line else name
        raise ConfigError([f"{where} {exc}"]) from None
    if not isinstance(doc.data, dict):
        raise ConfigError([f"{name}:1 (top level): expected a mapping of keys"])
    return doc


def load_routing(doc: YamlDocument) -> RoutingConfig:
    """Validate routing.yaml data, including cross-references; raise ConfigError."""
    try:
        cfg = RoutingConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(_validation_problems(doc, RoutingConfig, exc)) from None
    problems = [_problem(doc, path, msg) for path, msg in check_references(cfg)]
    if problems:
        raise ConfigError(problems)
    return cfg


def load_config(directory: str | FsPath) -> Config:
    """Load and validate routing.yaml and connector.yaml (optional) from a directory."""
    directory = FsPath(directory)
    problems: list[str] = []
    routing_doc = _read(directory, ROUTING_FILE, required=True)
    connector_doc = _read(directory, CONNECTOR_FILE, required=False)
    assert routing_doc is not None
    routing: RoutingConfig | None = None
    connector = ConnectorConfig()
    try:
        routing = load_routing(routing_doc)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if connector_doc is not None:
        try:
            connector = ConnectorConfig.model_validate(connector_doc.data)
        except ValidationError as exc:
            problems.extend(_validation_problems(connector_doc, ConnectorConfig, exc))
    if problems or routing is None:
        raise ConfigError(problems)
    digest = hashlib.sha256()
    for name in (ROUTING_FILE, CONNECTOR_FILE):
        if (directory / name).exists():
            digest.update((directory / name).read_bytes())
    return Config(routing, connector, directory, digest.hexdigest()[:16])

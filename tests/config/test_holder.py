"""Live reload: a valid edit takes effect, a bad one is refused and the last good config serves."""

from __future__ import annotations

import shutil
from pathlib import Path

from connector.config.holder import ConfigHolder

EXAMPLE = Path(__file__).resolve().parents[2] / "config"


def test_reload_only_when_valid(tmp_path: Path) -> None:
    directory = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, directory)
    holder = ConfigHolder.from_directory(directory)
    assert holder.reload() is False  # nothing changed
    routing = directory / "routing.yaml"
    original = routing.read_text()

    routing.write_text(original.replace("lock: 15m", "lock: 20m"))
    assert holder.files_changed()
    assert holder.reload() is True
    assert holder.routing().claims.lock.total_seconds() == 1200
    assert holder.last_error is None

    routing.write_text(original.replace("lock: 15m", "lock: whenever"))
    assert holder.reload() is False
    assert holder.routing().claims.lock.total_seconds() == 1200  # the last good config
    assert holder.last_error is not None
    assert "claims.lock: bad duration 'whenever'" in holder.last_error


def test_forced_reload_of_unchanged_files_changes_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, directory)
    holder = ConfigHolder.from_directory(directory)
    before = holder.config
    assert holder.reload(force=True) is False
    assert holder.config.fingerprint == before.fingerprint

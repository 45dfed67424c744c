"""Reading `[tool.gates]` from a project's pyproject.toml; each gate validates its own table."""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ._errors import ConfigError

__all__ = ["Table", "load_gates_table"]


def load_gates_table(project: Path) -> Table:
    """The `[tool.gates]` table of `project`'s pyproject.toml (empty when absent).

    Raises:
        ConfigError: pyproject.toml is missing or is not valid TOML, or `tool.gates` is not
            a table.
    """
    path = project / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(message=f"no pyproject.toml in {project}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(message=f"{path} is not valid TOML: {exc}") from None
    tool = data.get("tool", {})
    gates = tool.get("gates", {}) if isinstance(tool, dict) else {}
    if not isinstance(gates, dict):
        raise ConfigError(key="tool.gates", message="must be a table")
    return Table(gates, name="tool.gates")


class Table:
    """One configuration table being read; every getter validates one key.

    Getters return the default when the key is absent and raise `ConfigError` naming the
    full key (`tool.gates.coverage.total`) when the value has the wrong type or range.
    `check_unknown()` then rejects every key no getter asked for, so a typo never passes
    silently.
    """

    def __init__(self, data: Mapping[str, Any], *, name: str) -> None:
        self._data = data
        self._seen: set[str] = set()
        self.name = name

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        """The keys present in the table, in file order."""
        return iter(list(self._data))

    def key(self, key: str) -> str:
        """The full dotted name of `key`, for messages."""
        return f"{self.name}.{key}"

    def _get(self, key: str) -> object:
        self._seen.add(key)
        return self._data.get(key)

    def error(self, key: str, message: str) -> ConfigError:
        """A `ConfigError` about `key` of this table."""
        return ConfigError(key=self.key(key), message=message)

    def string(self, key: str, default: str) -> str:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            raise self.error(key, f"must be a non-empty string, got {value!r}")
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def number(
        self,
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.error(key, f"must be a number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum:g}, got {value!r}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum:g}, got {value!r}")
        return float(value)

    def integer(
        self,
        key: str,
        default: int,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum}, got {value!r}")
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, f"must be a list of non-empty strings, got {value!r}")
        return tuple(value)

    def required_string(self, key: str) -> str:
        """A non-empty string that must be present."""
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"is required, a non-empty string, got {value!r}")
        return value.strip()

    def date(self, key: str) -> dt.date:
        """A required date: a TOML date or an ISO `YYYY-MM-DD` string."""
        value = self._get(key)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(key, f"is required, an ISO date (YYYY-MM-DD), got {value!r}")

    def tables(self, key: str) -> list[Table]:
        """A list of tables (`[[...]]` or inline), each named `key[i]`; empty when absent."""
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, f"must be a list of tables, got {value!r}")
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{index}]", f"must be a table, got {item!r}")
            items.append(Table(item, name=f"{self.key(key)}[{index}]"))
        return items

    def table(self, key: str) -> Table:
        """A sub-table (empty when absent); check its keys with its own `check_unknown()`."""
        value = self._get(key)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, got {value!r}")
        return Table(value, name=self.key(key))

    def has_table(self, key: str) -> bool:
        """Whether `key` is present (absent tables usually mean "use the defaults")."""
        return key in self._data

    def check_unknown(self, *, allowed: tuple[str, ...] = ()) -> None:
        """Reject keys that no getter read and that are not in `allowed`."""
        for key in self._data:
            if key not in self._seen and key not in allowed:
                raise self.error(key, "unknown key")

"""The configured sources of the ``ingest`` deployment: a small YAML file (``settings.sources_file``,
``ABTPRO_SOURCES_FILE``; default ``<data_dir>/sources.yaml``), described in ``docs/sources.md``.

```yaml
sources:
  - {name: drop, kind: folder, path: /data/drop, timeframe: 1d}
  - {name: platform, kind: sql, url: "${PLATFORM_DATABASE_URL}", table: market_data}
```

:func:`load_sources` parses and validates it with pydantic; a mistake raises :class:`ConfigError` naming the
file and the field (``sources[1].url: Field required``). ``${VAR}`` in a ``url`` or ``path`` is taken from
the environment, so a password need not be written into the file; a relative folder ``path`` is relative to
the sources file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingestion.sources import SourceError

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"  # stored with every bar and ledger row: short, no spaces
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_$ ]{0,62}$"  # a table or column name (quoted in the query, never formatted)


class ConfigError(SourceError):
    """The sources file is missing, is not YAML or does not match the format (the message names the field)."""


def _expand(value: str) -> str:
    expanded = os.path.expandvars(value)
    missing = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", expanded)
    if missing:
        raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
    return expanded


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME, description="Unique name: the ledger/watermark key and the bars' source.")
    timeframe: str = Field(default="1d", min_length=1, max_length=8,
                           description="Timeframe of rows without a timeframe column.")
    symbol: str | None = Field(default=None, min_length=1, max_length=32,
                               description="Symbol of rows without a symbol column.")


class FolderSource(_Source):
    """A folder drop: every new or changed ``.csv``/``.parquet`` file in ``path`` is read once (by content hash)."""

    kind: Literal["folder"]
    path: Path = Field(description="Folder the files are dropped into (symbol = file stem unless a column says).")

    @field_validator("path", mode="before")
    @classmethod
    def _path(cls, value: object) -> object:
        return Path(_expand(str(value))).expanduser() if isinstance(value, str | Path) else value


class SqlSource(_Source):
    """A table of another database, read incrementally: rows with ``ts > watermark`` of their series."""

    kind: Literal["sql"]
    url: str = Field(min_length=1, description="SQLAlchemy URL of the platform's database.")
    table: str = Field(pattern=IDENTIFIER)
    schema_name: str | None = Field(default=None, alias="schema", pattern=IDENTIFIER)
    ts_column: str = Field(default="ts", pattern=IDENTIFIER)
    symbol_column: str | None = Field(default="symbol", pattern=IDENTIFIER)
    timeframe_column: str | None = Field(default="timeframe", pattern=IDENTIFIER)
    columns: dict[Literal["open", "high", "low", "close", "volume"], Annotated[str, Field(pattern=IDENTIFIER)]] = (
        Field(default_factory=dict, description="Column of each OHLCV field when it is not named like it."))

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, value: object) -> object:
        return _expand(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _series_key(self) -> SqlSource:
        if self.symbol_column is None and self.symbol is None:
            raise ValueError("give a symbol_column or a fixed symbol")
        return self

    def value_columns(self) -> dict[str, str]:
        """Bar field -> column of the table, for ``open .. volume``."""
        return {f: self.columns.get(f, f) for f in ("open", "high", "low", "close", "volume")}


SourceSpec = Annotated[FolderSource | SqlSource, Field(discriminator="kind")]


class SourcesFile(BaseModel):
    """The whole file: a list of sources with unique names."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceSpec] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique(cls, sources: list) -> list:
        names = [s.name for s in sources]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"duplicate source name(s): {', '.join(doubles)}")
        return sources


def _where(loc: tuple) -> str:
    parts = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        elif item not in ("folder", "sql"):  # the discriminator's tag adds nothing for the reader
            parts.append(str(item))
    return ".".join(parts) or "(file)"


def parse_sources(data: object, origin: str = "sources") -> list[FolderSource | SqlSource]:
    """Validate the parsed YAML ``data``; :class:`ConfigError` names the first wrong fields."""
    try:
        return SourcesFile.model_validate(data if data is not None else {}).sources
    except ValidationError as err:
        problems = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in err.errors()[:5])
        raise ConfigError(f"{origin}: {problems}") from None


def load_sources(path: str | Path) -> list[FolderSource | SqlSource]:
    """The sources of the YAML file at ``path`` (see the module docstring)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read the sources file {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    sources = parse_sources(data, str(path))
    base = path.resolve().parent  # a relative folder is relative to the file, not to the working directory
    return [s.model_copy(update={"path": base / s.path}) if isinstance(s, FolderSource) and not s.path.is_absolute()
            else s for s in sources]

"""The sources file: parsed with pydantic, every mistake named by its field; where the file is found."""

from __future__ import annotations

from pathlib import Path

import pytest

from abtpro.settings import Settings
from ingestion.config import ConfigError, FolderSource, SqlSource, load_sources, parse_sources
from ingestion.incremental import configured_sources
from ingestion.sources import SourceError

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_file_parses(monkeypatch):
    monkeypatch.setenv("PLATFORM_DATABASE_URL", "postgresql+psycopg://reader@db/platform")
    drop, platform = load_sources(ROOT / "infra" / "sources.example.yaml")
    assert isinstance(drop, FolderSource) and drop.path == Path("/data/drop") and drop.timeframe == "1d"
    assert isinstance(platform, SqlSource) and platform.url == "postgresql+psycopg://reader@db/platform"
    assert (platform.table, platform.ts_column, platform.symbol_column) == ("market_data", "ts", "symbol")
    assert platform.value_columns()["close"] == "close"


@pytest.mark.parametrize(("sources", "message"), [
    ([{"name": "p", "kind": "sql", "table": "t"}], r"sources\[0\]\.url: Field required"),
    ([{"name": "d", "kind": "folder", "path": "/x"}, {"name": "p", "kind": "sql", "url": "sqlite://",
                                                     "table": "t; drop"}], r"sources\[1\]\.table: String should"),
    ([{"name": "d", "kind": "ftp", "path": "/x"}], r"sources\[0\]: Input tag 'ftp'"),
    ([{"name": "has space", "kind": "folder", "path": "/x"}], r"sources\[0\]\.name"),
    ([{"name": "d", "kind": "folder", "path": "/x", "pth": "/y"}], r"sources\[0\]\.pth: Extra inputs"),
    ([{"name": "d", "kind": "folder", "path": "/x"}, {"name": "d", "kind": "folder", "path": "/y"}],
     r"sources: Value error, duplicate source name\(s\): d"),
    ([{"name": "p", "kind": "sql", "url": "${NOT_SET_ANYWHERE}", "table": "t"}],
     r"sources\[0\]\.url: Value error, environment variable\(s\) not set: NOT_SET_ANYWHERE"),
    ([{"name": "p", "kind": "sql", "url": "sqlite://", "table": "t", "symbol_column": None}],
     r"sources\[0\]: Value error, give a symbol_column or a fixed symbol"),
    ([{"name": "p", "kind": "sql", "url": "sqlite://", "table": "t", "columns": {"adj": "x"}}],
     r"sources\[0\]\.columns\.adj"),
])
def test_mistakes_name_the_field(sources, message):
    with pytest.raises(ConfigError, match=message):
        parse_sources({"sources": sources}, "sources.yaml")


def test_a_file_that_is_missing_or_not_yaml_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the sources file"):
        load_sources(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("sources: [unclosed\n")
    with pytest.raises(SourceError, match="not valid YAML"):
        load_sources(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- name: x\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: \(file\): Input should be a valid dictionary"):
        load_sources(tmp_path / "list.yaml")
    (tmp_path / "empty.yaml").write_text("")
    assert load_sources(tmp_path / "empty.yaml") == []


def test_where_the_sources_file_is_found(tmp_path):
    assert configured_sources(Settings(data_dir=tmp_path)) is None  # no file: not configured
    (tmp_path / "sources.yaml").write_text("sources:\n  - {name: drop, kind: folder, path: ~/drop}\n")
    [drop] = configured_sources(Settings(data_dir=tmp_path))
    assert drop.path == Path("~/drop").expanduser()
    (tmp_path / "sources.yaml").write_text("sources:\n  - {name: drop, kind: folder, path: in/drop}\n")
    assert configured_sources(Settings(data_dir=tmp_path))[0].path == tmp_path.resolve() / "in" / "drop"
    other = tmp_path / "other.yaml"
    other.write_text("sources: []\n")
    assert configured_sources(Settings(data_dir=tmp_path, sources_file=other)) == []
    with pytest.raises(ConfigError, match="cannot read"):  # configured but missing: an error, not the default
        configured_sources(Settings(data_dir=tmp_path, sources_file=tmp_path / "missing.yaml"))

"""``python -m flows.deployments [--only a,b] [--write-prefect-yaml [PATH]]``: serve, or write the yaml."""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.deployments.runner import serve
from flows.deployments.spec import PREFECT_YAML
from flows.deployments.yaml_file import prefect_yaml


def main(argv: list[str] | None = None) -> None:
    """``python -m flows.deployments [--only a,b] [--write-prefect-yaml [PATH]]``."""
    parser = argparse.ArgumentParser(description="Serve the pipeline's deployments, or write infra/prefect.yaml.")
    parser.add_argument("--only", help="comma-separated deployment names to serve (default: all)")
    parser.add_argument("--write-prefect-yaml", nargs="?", const=PREFECT_YAML, type=Path, metavar="PATH",
                        help=f"write the deployments as a prefect.yaml (default {PREFECT_YAML}) and exit")
    args = parser.parse_args(argv)
    if args.write_prefect_yaml:
        args.write_prefect_yaml.write_text(prefect_yaml())
        print(f"wrote {args.write_prefect_yaml}")
        return
    serve(*(args.only.split(",") if args.only else ()))

"""``abtpro run``'s pipeline with its progress bar, the demo key and the ``curl`` it prints."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from abtpro.settings import get_settings


def _quiet_console_handlers() -> None:
    """Keep INFO flow logs off the terminal (progress shows them); warnings and errors still print."""
    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "PrefectConsoleHandler":
            handler.setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)


class _Bar(logging.Handler):
    """The pipeline's progress bar: one tick per step; each flow-run log line shows as the step's live status
    (full logs are in the Prefect UI). Called with a step's name as it starts (the parent flow's callback)."""

    def __init__(self, progress: Progress, steps: int) -> None:
        super().__init__(logging.INFO)
        self.progress, self.task_id, self.current = progress, progress.add_task("pipeline", total=steps), None

    def emit(self, record: logging.LogRecord) -> None:
        if self.current is not None:
            message = record.getMessage().splitlines()[0][:90]
            self.progress.update(self.task_id, description=f"{self.current} [dim]· {message}[/]")

    def __call__(self, name: str | None) -> None:
        """Mark the current step done and start ``name`` (None: the last step is done)."""
        if self.current is not None:
            self.progress.advance(self.task_id)
            self.progress.console.print(f"[green]✓[/] {self.current}")
        self.current = name
        if name is not None:
            self.progress.update(self.task_id, description=name)


def run_pipeline(console: Console, serve: bool) -> tuple[object, str, str | None]:
    """The ``abtpro-pipeline`` flow with a progress bar, then the demo key and (``serve``) the BentoML service."""
    from abtpro import stack
    from flows import patches
    from flows.pipeline import STEPS, pipeline

    settings = get_settings()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    _quiet_console_handlers()
    patches.install()  # the kept Prefect fixes (flows.patches) for the pipeline's flows
    flow_logger = logging.getLogger("prefect.flow_runs")
    with Progress(*columns, console=console) as progress:
        bar = _Bar(progress, len(STEPS) + 1 + serve)
        flow_logger.addHandler(bar)
        try:
            result = pipeline(progress=bar)
            bar("create demo API key")
            key = demo_key(settings)
            service = None
            if serve:
                bar("start BentoML service")
                service = stack.start_service(settings)
            bar(None)
        finally:
            flow_logger.removeHandler(bar)
    return result, key, service


def demo_key(settings) -> str:
    """The local demo admin's API key (created on the first run, kept in the data dir)."""
    from abtpro.keys import local_key

    return local_key(settings, "demo", role="admin")[0]


def curl(url: str, key: str) -> str:
    return (f"curl -s -X POST {url}/ml/signal/score -H 'Content-Type: application/json' -H 'X-API-Key: {key}' "
            """-d '{"symbol": "SP500", "timeframe": "1d", "strategy": "sma_crossover", "side": "BUY", "explain": true}'""")

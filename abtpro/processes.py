"""The process primitives of :mod:`abtpro.supervisor`: what a server process is (:class:`Server`) and the
operating-system checks and signals behind starting, recognising and stopping one.

Contents: :class:`Server`; ports and health (:func:`free_port`, :func:`healthy`, :func:`wait_healthy`);
recognising a process (:func:`alive`, :func:`cmdline`, :func:`same_command`); :func:`stop_process`; :func:`tail`
of a log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Server:
    """A server process: its name, command line, health URL and the URL people open.

    ``reuse_when_healthy``: a health URL that answers means this server is up even when it was not started here
    (someone's own server on that port). False when the health URL can answer after the process died (the flow
    runner's is a deployment in Prefect's database): then only the process counts.
    """

    name: str
    command: list[str]
    health_url: str
    url: str
    env: dict[str, str] | None = None
    reuse_when_healthy: bool = True


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``url`` answers 2xx."""
    try:
        return httpx.get(url, timeout=timeout).is_success
    except httpx.HTTPError:
        return False


def wait_healthy(server: Server, timeout: float, log_path: Path, alive: Callable[[], bool]) -> None:
    """Wait until ``server`` answers its health URL; raise (quoting its log) when ``alive()`` turns False or
    ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{server.name} exited; log:\n{tail(log_path)}")
        if healthy(server.health_url):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{server.name} not healthy at {server.health_url} after {timeout:.0f}s; log:\n{tail(log_path)}")


def alive(pid: int) -> bool:
    """True while process ``pid`` exists (a child of ours that exited is reaped, and is not)."""
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps it when it is our child
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def same_command(cmdline: list[str] | None, command: list[str]) -> bool:
    """True when a process's ``cmdline`` runs ``command``: the same arguments, after the program or, for a script,
    after the interpreter the kernel put before it (``.venv/bin/prefect`` runs as ``python .venv/bin/prefect``)."""
    if not cmdline or len(cmdline) < len(command):
        return False
    head = cmdline[: len(cmdline) - len(command) + 1]
    return cmdline[len(head):] == command[1:] and Path(command[0]).name in {Path(arg).name for arg in head}


def cmdline(pid: int) -> list[str] | None:
    """The command line of process ``pid`` (empty for a zombie), from /proc or ``ps`` elsewhere."""
    proc = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self").exists():
        for _ in range(20):  # empty for a moment while the process is exec'ing (and for good once a zombie)
            try:
                args = proc.read_bytes().decode(errors="replace").split("\0")[:-1]
            except OSError:
                return None
            if args:
                return args
            time.sleep(0.05)
        return []
    out = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return out.stdout.split() if out.returncode == 0 else None


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Terminate a server's whole process group."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

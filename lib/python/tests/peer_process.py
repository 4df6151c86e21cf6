"""A peer program run as a real process, with its environment and output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class PeerProcess:
    """Runs `python <args>` with `env` added to a clean peer environment; output to files."""

    def __init__(self, args: list[str], env: dict[str, str], workdir: Path) -> None:
        base = {k: v for k, v in os.environ.items() if not _peer_variable(k)}
        self._out = open(workdir / "stdout", "w+b")  # noqa: SIM115 - closed in wait()
        self._err = open(workdir / "stderr", "w+b")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, *args],
            env={**base, **env},
            cwd=workdir,
            stdout=self._out,
            stderr=self._err,
        )

    def terminate(self) -> None:
        """Sends SIGTERM."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int:
        """Waits for the exit (killing the process if it overstays) and returns its code."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    @property
    def stdout(self) -> str:
        self._out.seek(0)
        return self._out.read().decode()

    @property
    def stderr(self) -> str:
        self._err.seek(0)
        return self._err.read().decode()

    def close(self) -> None:
        """Kills the process if it still runs; closes the output files. Idempotent."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._out.close()
        self._err.close()


def _peer_variable(name: str) -> bool:
    return name in {"REDIS_URL", "PEER_NAME", "LOG_LEVEL", "LISTEN_ADDR", "TM_DELAY_FILE"} or (
        name.startswith(("MULE_", "REF_PEER_"))
    )

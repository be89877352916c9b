"""The echo server process as the soak sees it from outside: start it,
and read its resident set, CPU time and open descriptors from /proc.

The number of open descriptors beyond those of the idle server is the
number of connections it still holds: that is how the soak checks that
every connection, hostile or half-closed, was cleaned up.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time

# glibc's per-thread cache and fast bins off, as tests/load/run.sh runs the
# server: what stays resident after a round is then memory still held.


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Server:
    """examples-c/ws_echo_server on an ephemeral loopback port."""

    def __init__(self, binary: str, max_size: int, malloc_caches: bool) -> None:
        # The server's own memory policy (per-thread cache off, mmap
        # threshold 4 KiB); --malloc-cache keeps glibc's cache.
        command = [binary, "--port", "0", "--quiet", "--max-size", str(max_size)]
        if malloc_caches:
            command.append("--malloc-cache")
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise SystemExit(f"server did not start: {line!r}")
        self.port = int(line.split()[2])
        self.pid = self.proc.pid
        self.idle_fds = open_fds(self.pid)

    def stats(self) -> tuple[int, int]:
        """Sends SIGUSR1: the server prints
        "stats: connections N accepted M". Returns (N, M). The signal is
        sent again when no line comes, in case it landed just before the
        server went back into poll()."""
        fd = self.proc.stdout.fileno()
        pending = b""
        for _ in range(20):
            self.proc.send_signal(signal.SIGUSR1)
            while select.select([fd], [], [], 0.5)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise SystemExit(f"server exited with {self.proc.wait()}")
                pending += chunk
                if pending.endswith(b"\n"):
                    time.sleep(0.2)          # a line for a repeated signal
                    while select.select([fd], [], [], 0)[0]:
                        pending += os.read(fd, 4096)
                    fields = pending.decode().splitlines()[-1].split()
                    if fields[:2] != ["stats:", "connections"]:
                        raise SystemExit(f"server printed {pending!r}")
                    return int(fields[2]), int(fields[4])
        raise SystemExit("server did not answer SIGUSR1")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def connections(self) -> int:
        return open_fds(self.pid) - self.idle_fds

    def rss_kib(self) -> int:
        return status_kib(self.pid, "VmRSS")

    def heap_kib(self) -> tuple[int, int]:
        """Resident KiB of malloc's main heap ([heap]) and of anonymous
        mappings (blocks malloc mapped on their own, zlib's among them)."""
        heap = anon = 0
        current = None
        with open(f"/proc/{self.pid}/smaps") as f:
            for line in f:
                fields = line.split()
                if "-" in fields[0] and len(fields) >= 5:
                    current = "heap" if fields[-1] == "[heap]" else ("anon" if len(fields) == 5 else None)
                elif fields[0] == "Rss:" and current:
                    if current == "heap":
                        heap += int(fields[1])
                    else:
                        anon += int(fields[1])
        return heap, anon

    def peak_kib(self) -> int:
        return status_kib(self.pid, "VmHWM")

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def wait_idle(self, timeout: float) -> float:
        """Waits until the server holds no connection; returns the seconds it took."""
        start = time.monotonic()
        while self.connections() > 0:
            if not self.alive():
                raise SystemExit(f"server exited with {self.proc.returncode}")
            if time.monotonic() - start > timeout:
                try:
                    sockets = subprocess.run(
                        ["ss", "-tanoi", "state", "all", f"( sport = :{self.port} )"], capture_output=True, text=True
                    ).stdout
                except OSError as e:
                    sockets = f"(ss: {e})"
                raise SystemExit(
                    f"server still holds {self.connections()} connections after {timeout} s; its sockets:\n{sockets}"
                )
            time.sleep(0.05)
        time.sleep(0.2)
        return time.monotonic() - start

    def stop(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()

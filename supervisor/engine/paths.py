"""Where the engine keeps things on disk. Pure: it only computes paths.

Persistent per-container state lives under the data root; runtime state that
must not survive a reboot (runc's state, OCI bundles) under the exec root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# A container directory's subdirectories for its runs: the overlay's upper and work
# dirs and the rootfs mount point (``skeletons`` makes them ahead of need).
UPPER, WORK, ROOTFS = "diff", "work", "rootfs"
RUN_SUBDIRS = (UPPER, WORK, ROOTFS)


@dataclass(frozen=True, slots=True)
class EnginePaths:
    data_root: Path
    exec_root: Path

    @property
    def containers(self) -> Path:
        return self.data_root / "containers"

    @property
    def images(self) -> Path:
        return self.data_root / "image"

    @property
    def events(self) -> Path:
        return self.data_root / "events"

    @property
    def runtime_root(self) -> Path:
        return self.exec_root / "runtime"

    @property
    def runtime_logs(self) -> Path:
        return self.exec_root / "runtime-logs"

    def container_dir(self, cid: str) -> Path:
        return self.containers / cid

    def rootfs(self, cid: str) -> Path:
        return self.container_dir(cid) / ROOTFS

    def upper(self, cid: str) -> Path:
        return self.container_dir(cid) / UPPER

    def work(self, cid: str) -> Path:
        return self.container_dir(cid) / WORK

    @property
    def bundles(self) -> Path:
        return self.exec_root / "bundles"

    def bundle(self, cid: str) -> Path:
        return self.bundles / cid

    def etc_files(self, cid: str) -> tuple[str, str, str]:
        """(hostname, hosts, resolv.conf) as strings, in one go (the start path builds them all)."""
        d = str(self.container_dir(cid))
        return f"{d}/hostname", f"{d}/hosts", f"{d}/resolv.conf"

    def hostname_file(self, cid: str) -> Path:
        return Path(self.etc_files(cid)[0])

    def hosts_file(self, cid: str) -> Path:
        return Path(self.etc_files(cid)[1])

    def resolv_file(self, cid: str) -> Path:
        return Path(self.etc_files(cid)[2])

    def log_file(self, cid: str) -> Path:
        return self.container_dir(cid) / f"{cid}-json.log"

    def all_dirs(self) -> tuple[Path, ...]:
        return (
            self.containers,
            self.images,
            self.events,
            self.runtime_root,
            self.runtime_logs,
            self.bundles,
        )

"""A one-node Slurm cluster for tests: munged, slurmctld and slurmd from the Debian packages, all in one temp dir.

Every daemon runs in the foreground as a child of the test (its PID is the daemon's) and is
stopped by that PID. Clients (sbatch, squeue, scancel, submitit) find it through ``SLURM_CONF``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from run_helpers import free_port

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "srun", "sinfo")

SLURM_CONF = """\
ClusterName=scratchbench
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillWait=10
InactiveLimit=0
MinJobAge=300
SlurmdTimeout=60
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def missing_programs() -> list[str]:
    return [p for p in DAEMONS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]


def _exe(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


@dataclass
class SlurmCluster:
    """munged + slurmctld + slurmd with their config in ``root`` (see :meth:`start` / :meth:`stop`)."""

    root: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """Environment for Slurm clients (and jobs: slurmd passes the submitter's environment on)."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def start(self, timeout: float = 60.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for d in ("state", "spool", "munge"):
            (self.root / d).mkdir(exist_ok=True)
        munge = self.root / "munge"
        munge.chmod(0o700)
        key, sock = munge / "munge.key", munge / "munge.sock"
        subprocess.run([_exe("mungekey"), "--create", "--keyfile", str(key)], check=True, capture_output=True)
        self.procs["munged"] = self._daemon("munged", [
            "--foreground", "--force", f"--key-file={key}", f"--socket={sock}", f"--pid-file={munge / 'munged.pid'}",
            f"--log-file={munge / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}"])
        self._wait(lambda: sock.exists(), "munged", timeout)
        self.conf.write_text(SLURM_CONF.format(host=socket.gethostname(), ctld_port=free_port(),
                                               slurmd_port=free_port(), munge_socket=sock, dir=self.root,
                                               cpus=os.cpu_count() or 1))
        self.procs["slurmctld"] = self._daemon("slurmctld", ["-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._client_ok(["sinfo", "-h"]), "slurmctld", timeout)
        self.procs["slurmd"] = self._daemon("slurmd", ["-D", "-f", str(self.conf)])
        self._wait(lambda: self._node_idle(), "slurmd", timeout)

    def _daemon(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.root / f"{name}.out", "ab")
        try:
            return subprocess.Popen([_exe(name), *args], stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                    start_new_session=True)
        finally:
            log.close()

    def _client_ok(self, cmd: list[str]) -> bool:
        return subprocess.run(cmd, env=self.env, capture_output=True, timeout=20).returncode == 0

    def _node_idle(self) -> bool:
        p = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env, capture_output=True, text=True, timeout=20)
        return p.returncode == 0 and p.stdout.strip().startswith("idle")

    def _wait(self, check, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead[0]} exited: {self.log(dead[0])}")
            if check():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what} not ready after {timeout:.0f} s: {self.log(what)}")

    def log(self, name: str) -> str:
        texts = [f.read_text(errors="replace")[-1500:] for f in
                 (self.root / f"{name}.out", self.root / f"{name}.log",
                  self.root / "munge" / "munged.log") if f.is_file()]
        return "\n".join(texts)

    def stop(self) -> None:
        """SIGTERM each daemon by its PID (slurmd, slurmctld, munged), SIGKILL after 20 s."""
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

"""A team tracking server: ``mlflow server`` on PostgreSQL, artifacts proxied by the server.

    python -m scratchbench.tracking.server --dir .mlflow-server --host 0.0.0.0 --port 5000   # or: make server

Creates (once) a PostgreSQL cluster in ``DIR/pg`` listening on 127.0.0.1 only, starts it, then
runs ``mlflow server --backend-store-uri postgresql://… --artifacts-destination DIR/artifacts``
in the foreground; Ctrl-C / SIGTERM stops both. Clients only need the server's URL (artifacts
go through it), so compute nodes need no shared filesystem. The functions are also used by the
integration tests, which start and stop every process by its PID.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Sequence

PG_USER = "mlflow"
PG_DATABASE = "mlflow"
_SERVICE_ACCOUNT = "postgres"  # PostgreSQL refuses to run as root; Debian's package creates this user


class ServerError(RuntimeError):
    """PostgreSQL or the MLflow server cannot be set up or started."""


def pg_binary(name: str) -> str:
    """Path of a PostgreSQL server program (Debian keeps them in /usr/lib/postgresql/<v>/bin)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: [int(x) for x in Path(p).parts[4].split(".") if x.isdigit()])
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise ServerError(f"PostgreSQL program {name!r} not found: install it (apt-get install postgresql)")
    return path


def _as_service_user() -> dict:
    """Popen kwargs that drop root to the ``postgres`` account (no-op for other users)."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        pw = pwd.getpwnam(_SERVICE_ACCOUNT)
    except KeyError as exc:
        raise ServerError("running as root needs the 'postgres' user (apt-get install postgresql)") from exc
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _chown_for_service(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, _SERVICE_ACCOUNT, _SERVICE_ACCOUNT)


def _wait(check, proc: subprocess.Popen, what: str, log: Path, timeout: float) -> None:
    """Poll ``check()`` until it is true; a dead ``proc`` or the timeout is a ServerError quoting ``log``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise ServerError(f"{what} exited with code {proc.returncode}: {tail}")
        if check():
            return
        time.sleep(0.3)
    raise ServerError(f"{what} did not become ready in {timeout:.0f} s (log: {log})")


def start_postgres(pg_dir: Path, port: int, timeout: float = 60.0) -> subprocess.Popen:
    """Init (once) and start a PostgreSQL cluster in ``pg_dir`` on 127.0.0.1:``port``; create the mlflow database."""
    pg_dir = Path(pg_dir).resolve()
    data, sock, log = pg_dir / "data", pg_dir / "socket", pg_dir / "postgres.log"
    for d in (pg_dir, sock):
        d.mkdir(parents=True, exist_ok=True)
        _chown_for_service(d)
    as_user = _as_service_user()
    if not (data / "PG_VERSION").is_file():
        init = subprocess.run([pg_binary("initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8"],
                              capture_output=True, text=True, timeout=120, **as_user)
        if init.returncode != 0:
            raise ServerError(f"initdb {data} failed: {init.stderr.strip() or init.stdout.strip()}")
    with open(log, "ab") as out:
        proc = subprocess.Popen([pg_binary("postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                                 "-k", str(sock)], stdout=out, stderr=subprocess.STDOUT, **as_user)
    try:
        _wait(lambda: _pg_ready(port), proc, "postgres", log, timeout)
        _create_database(port)
    except BaseException:
        stop(proc, signal.SIGINT)
        raise
    return proc


def _pg_ready(port: int) -> bool:
    import psycopg2

    try:
        psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres", connect_timeout=2).close()
        return True
    except psycopg2.OperationalError:
        return False


def _create_database(port: int) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {PG_DATABASE}")
    finally:
        conn.close()


def backend_uri(pg_port: int) -> str:
    return f"postgresql+psycopg2://{PG_USER}@127.0.0.1:{pg_port}/{PG_DATABASE}"


def start_mlflow_server(store_uri: str, artifacts: Path, host: str, port: int, workers: int = 2,
                        log: Path | None = None, extra: Sequence[str] = (), timeout: float = 180.0) -> subprocess.Popen:
    """``mlflow server`` with proxied artifacts in ``artifacts``; returns once ``/health`` answers."""
    artifacts = Path(artifacts).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    log = log or artifacts.parent / "mlflow-server.log"
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store_uri, "--serve-artifacts",
           "--artifacts-destination", str(artifacts), "--host", host, "--port", str(port), "--workers", str(workers),
           *extra]
    with open(log, "ab") as out:  # own session: its uvicorn workers are stopped with it (killpg on its PID)
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    try:
        _wait(lambda: _healthy(url), proc, "mlflow server", log, timeout)
    except BaseException:
        stop(proc, signal.SIGTERM, group=True)
        raise
    return proc


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, group: bool = False, timeout: float = 30.0) -> None:
    """Signal ``proc`` (its process group with ``group``), wait, SIGKILL it if it does not exit."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
        proc.wait(timeout=10)
    except ProcessLookupError:
        proc.wait(timeout=timeout)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scratchbench.tracking.server", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path(".mlflow-server"), help="state folder: pg/ (database), artifacts/")
    ap.add_argument("--host", default="127.0.0.1", help="interface of the MLflow server (0.0.0.0: the whole network)")
    ap.add_argument("--port", type=int, default=5000, help="MLflow server port")
    ap.add_argument("--pg-port", type=int, default=5433, help="PostgreSQL port (listens on 127.0.0.1 only)")
    ap.add_argument("--workers", type=int, default=2, help="MLflow server worker processes")
    ap.add_argument("--allowed-hosts", default=None, help="Host headers the server accepts (e.g. headnode:5000)")
    args = ap.parse_args(argv)
    state = args.dir.resolve()
    extra = ["--allowed-hosts", args.allowed_hosts] if args.allowed_hosts else []
    try:
        pg = start_postgres(state / "pg", args.pg_port)
    except ServerError as exc:
        print(f"server: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv = start_mlflow_server(backend_uri(args.pg_port), state / "artifacts", args.host, args.port,
                                  args.workers, log=state / "mlflow-server.log", extra=extra)
        print(f"MLflow server on http://{args.host}:{args.port} (PostgreSQL 127.0.0.1:{args.pg_port}, "
              f"artifacts {state / 'artifacts'}; log {state / 'mlflow-server.log'}). Ctrl-C stops both.", flush=True)
        try:
            srv.wait()
        finally:
            stop(srv, signal.SIGTERM, group=True)
    except ServerError as exc:
        print(f"server: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        stop(pg, signal.SIGINT)
    return 0


if __name__ == "__main__":
    sys.exit(main())

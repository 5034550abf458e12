"""The docker-compose stack of this repository reproduced with native processes, on loopback only.

``docker-compose.yaml`` runs postgres, airflow-init, api-server, scheduler, dag-processor,
triggerer, mlflow and demo-api (plus redis and two workers under the ``celery`` profile). Without a
Docker engine, :class:`Stack` starts the same services from the same packages:

===================  =================================================================================
compose service      here
===================  =================================================================================
postgres             a throwaway PostgreSQL 15 cluster (``initdb`` in a temp dir, as the ``postgres``
                     user when running as root), databases ``airflow`` and ``mlflow``
airflow-init         ``airflow db migrate``
api-server ...       ``airflow api-server``, ``scheduler``, ``dag-processor``, ``triggerer``
mlflow               ``mlflow server`` on the ``mlflow`` database, artifacts in a local directory
demo-api             ``python -m airflow_chaos.demo.api``
redis, worker-1/2    ``redis-server`` and two ``airflow celery worker`` (``executor="celery"``), each
                     with its own ``AIRFLOW_HOME`` and scratch directory (``TMPDIR``), as on separate
                     machines; the chaos journal (``[chaos] journal_path``) and the data directory
                     are shared, as volumes are
===================  =================================================================================

Every process gets its own process group and every port is a free one on 127.0.0.1. :meth:`Stack.stop`
stops them all (SIGTERM, then SIGKILL) and deletes the temp dir, whatever happened; use the stack as a
context manager. :class:`AirflowApi` drives Airflow through its public REST API with a JWT from the
api-server's ``/auth/token`` (simple auth manager user ``admin``).

``python -m tests.e2e.stack [local|celery]`` starts a stack and keeps it up until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _pg_bin() -> Path:
    """PostgreSQL's server binaries: ``CHAOS_E2E_PG_BIN``, else the newest Debian install (15 on bookworm)."""
    if os.environ.get("CHAOS_E2E_PG_BIN"):
        return Path(os.environ["CHAOS_E2E_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
E2E_DAGS = Path(__file__).resolve().parent / "dags"
LOOPBACK = "127.0.0.1"
ADMIN = "admin"
WORKERS = ("worker_a", "worker_b")

Executor = Literal["local", "celery"]
T = TypeVar("T")


class StackError(RuntimeError):
    """A service did not come up, or a run did not end in time; the message carries the logs' tails."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"({path} unreadable)"
    return "\n".join(f"  {path.name}: {line}" for line in text[-lines:])


def db_user() -> pwd.struct_passwd | None:
    """The user PostgreSQL runs as: ourselves, or ``postgres`` (else ``nobody``) when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise StackError("running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None


def _tree(pid: int) -> list[Any]:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_trees(procs: Sequence[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM each process group and every descendant (some leave their group), all at once; SIGKILL
    whatever is still alive after ``grace`` seconds."""
    import psutil

    trees = [p for proc in procs for p in _tree(proc.pid)]
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    for p in trees:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(trees, timeout=grace)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


@dataclass
class Stack:
    """The compose stack as native processes; ``with Stack(...) as stack:`` starts it and always stops it."""

    executor: Executor = "local"
    dags: Sequence[Path] = ()
    extra_env: dict[str, str] = field(default_factory=dict)
    keep: bool = False  # keep the temp dir after stop (for post-mortems)

    def __post_init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"chaos-e2e-{self.executor}-"))
        self.root.chmod(0o755)  # PostgreSQL's user must reach its data directory below it
        self.logs = self.root / "logs"
        self.home = self.root / "airflow"
        self.shared = self.root / "shared"  # the volume every worker mounts: journal and data
        self.journal = self.shared / "journal"
        self.data = self.shared / "data"
        self.dags_folder = self.root / "dags"
        for d in (self.logs, self.home, self.journal, self.data, self.dags_folder):
            d.mkdir(parents=True)
        self.ports = {
            name: free_port() for name in ("postgres", "redis", "api", "mlflow", "demo", "worker_logs", "trigger_logs")
        }
        self.password = secrets.token_urlsafe(12)
        self.services: list[Service] = []
        self._killed: list[str] = []
        self.pg_data = self.root / "pgdata"
        self._pg_started = False
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ configuration
    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['api']}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['mlflow']}"

    @property
    def demo_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['demo']}"

    def db_url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://airflow@{LOOPBACK}:{self.ports['postgres']}/{database}"

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment of every Airflow process: the compose file's ``x-airflow-common`` environment."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLFLOW", "CHAOS_"))}
        env = {
            **base,
            "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),  # tests.e2e.worker_name, the hostname callable of the workers
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if self.executor == "celery" else "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.e2e.worker_name.hostname",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.root / "passwords.json"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url("airflow"),
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.ports["api"]),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__SECRET_KEY": self._secret("api"),
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports["worker_logs"]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.ports["trigger_logs"]),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            # 2 shared cores: a worker's call to the Execution API may wait long for the api-server
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            "AIRFLOW__CHAOS__ENABLED": "true",
            "AIRFLOW__CHAOS__ENVIRONMENT": "dev",
            "AIRFLOW__CHAOS__JOURNAL_PATH": str(self.journal),
            "AIRFLOW__CHAOS__ALLOWED_PATHS": str(self.data),
            "AIRFLOW__CHAOS__REPORTS_DIR": str(self.shared / "reports"),
            "AIRFLOW__CHAOS__SANDBOX_ROOT": str(self.data / "sandboxes"),
            # only the runs the tests trigger: unpausing a scheduled DAG (the weekly suite) queues none
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "MLFLOW_TRACKING_URI": self.mlflow_url,
            # the demo pipeline's defaults (example_dags/ml_pipeline.py): the demo API, its state on the shared volume
            "AIRFLOW_CHAOS_DEMO_API": self.demo_url,
            "AIRFLOW_CHAOS_DEMO_DIR": str(self.data / "chaos-demo"),
            "AIRFLOW_CHAOS_DEMO_MLFLOW": self.mlflow_url,
            "AIRFLOW_CHAOS_DROP_ROOT": str(self.data / "late_file"),  # example_dags/late_file.py
            "CHAOS_E2E_DATA": str(self.data),
        }
        if self.executor == "celery":
            env |= {
                "AIRFLOW__CELERY__BROKER_URL": f"redis://{LOOPBACK}:{self.ports['redis']}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.db_url("airflow"),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            }
        return env | self.extra_env | overrides

    _secrets: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def _secret(self, name: str) -> str:
        return self._secrets.setdefault(name, secrets.token_hex(32))

    # ------------------------------------------------------------------ processes
    def spawn(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None, **kw: Any) -> Service:
        log = self.logs / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                list(argv),
                env=env if env is not None else self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=kw.pop("cwd", self.root),
                **kw,
            )
        service = Service(name, proc, log)
        self.services.append(service)
        return service

    def run(self, name: str, argv: Sequence[str], timeout: float, env: dict[str, str] | None = None, **kw: Any) -> str:
        """Run one command to completion (its output goes to ``logs/<name>.log``); StackError if it fails."""
        log = self.logs / f"{name}.log"
        with open(log, "ab") as out:
            done = subprocess.run(
                list(argv),
                env=env if env is not None else self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                cwd=kw.pop("cwd", self.root),
                check=False,
                **kw,
            )
        if done.returncode != 0:
            raise StackError(f"{name} exited {done.returncode}:\n{tail(log)}")
        return log.read_text(errors="replace")

    def service(self, name: str) -> Service:
        return next(s for s in reversed(self.services) if s.name == name)

    def check_alive(self) -> None:
        dead = [s for s in self.services if not s.alive()]
        if dead:
            raise StackError(
                "service(s) exited: " + "; ".join(f"{s.name} (exit {s.proc.returncode})\n{tail(s.log)}" for s in dead)
            )

    # ------------------------------------------------------------------ start
    def start(self) -> Stack:
        started = time.monotonic()
        try:
            self._link_dags()
            self._step("postgres", self._start_postgres)
            if self.executor == "celery":
                self._step("redis", self._start_redis)
            self._step("airflow-init", self._migrate)
            self._step("services", self._start_services)
            self._step("healthy", self._wait_healthy)
        except Exception as exc:
            logs = self.diagnostics()  # before stop() deletes them
            self.stop()
            raise StackError(f"the stack did not start: {exc}\n{logs}") from exc
        except BaseException:
            self.stop()
            raise
        self.timings["start"] = time.monotonic() - started
        return self

    def _step(self, name: str, fn: Callable[[], None]) -> None:
        t0 = time.monotonic()
        fn()
        self.timings[name] = time.monotonic() - t0

    def _link_dags(self) -> None:
        """The DAG folder every component reads: the repository's ``example_dags/`` (as compose mounts it)
        plus the e2e DAGs, as symlinks."""
        sources = list(self.dags) or [*sorted((ROOT / "example_dags").glob("*.py")), *sorted(E2E_DAGS.glob("*.py"))]
        for src in sources:
            (self.dags_folder / src.name).symlink_to(src)

    def _pg(self, tool: str, *args: str, timeout: float = 120) -> str:
        user = db_user()
        kw: dict[str, Any] = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "HOME": str(self.root)}
        return self.run(f"postgres-{tool}", [str(PG_BIN / tool), *args], timeout=timeout, env=env, **kw)

    def _start_postgres(self) -> None:
        user = db_user()
        self.pg_data.mkdir(mode=0o700)
        if user is not None:
            os.chown(self.pg_data, user.pw_uid, user.pw_gid)
            os.chown(self.logs, user.pw_uid, user.pw_gid)
        self._pg("initdb", "-D", str(self.pg_data), "-U", "airflow", "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = {
            "listen_addresses": f"'{LOOPBACK}'",
            "port": str(self.ports["postgres"]),
            "unix_socket_directories": f"'{self.pg_data}'",
            "max_connections": "200",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with open(self.pg_data / "postgresql.conf", "a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        self._pg("pg_ctl", "-D", str(self.pg_data), "-l", str(self.logs / "postgres.log"), "-w", "-t", "60", "start")
        self._pg_started = True
        host = ["-h", LOOPBACK, "-p", str(self.ports["postgres"]), "-U", "airflow"]
        for database in ("airflow", "mlflow"):
            self._pg("createdb", *host, database)

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise StackError("redis-server is not installed (apt-get install -y redis-server)")
        self.spawn(
            "redis",
            [
                redis,
                "--bind",
                LOOPBACK,
                "--port",
                str(self.ports["redis"]),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
        )

        def pong() -> bool:
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.ports["redis"]), 1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
            return False

        wait_for(pong, 30, "redis to answer PING", 0.2)

    def _migrate(self) -> None:
        self.run("airflow-init", [str(BIN / "airflow"), "db", "migrate"], timeout=600)
        (self.root / "passwords.json").write_text(json.dumps({ADMIN: self.password}))

    def _start_services(self) -> None:
        airflow = str(BIN / "airflow")
        self.spawn("api-server", [airflow, "api-server"])
        self.spawn("scheduler", [airflow, "scheduler"])
        self.spawn("dag-processor", [airflow, "dag-processor"])
        self.spawn("triggerer", [airflow, "triggerer"])
        self.spawn(
            "mlflow",
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                LOOPBACK,
                "--port",
                str(self.ports["mlflow"]),
                "--workers",
                "1",
                "--backend-store-uri",
                self.db_url("mlflow"),
                "--artifacts-destination",
                str(self.shared / "mlflow-artifacts"),
                "--serve-artifacts",
            ],
            # no job runner (GenAI evaluation jobs, unused here): seven fewer processes
            env=self.env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
        )
        self.spawn("demo-api", [sys.executable, "-m", "airflow_chaos.demo.api", "--port", str(self.ports["demo"])])
        if self.executor == "celery":
            for name in WORKERS:
                self.start_worker(name)

    def worker_env(self, name: str) -> dict[str, str]:
        """A worker as on its own machine: its own AIRFLOW_HOME, scratch (TMPDIR) and log-server port."""
        home = self.root / name / "airflow"
        scratch = self.root / name / "scratch"
        home.mkdir(parents=True, exist_ok=True)
        scratch.mkdir(parents=True, exist_ok=True)
        return self.env(
            AIRFLOW_HOME=str(home),
            TMPDIR=str(scratch),
            CHAOS_E2E_WORKER=name,
            CHAOS_E2E_SCRATCH=str(scratch),
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        )

    def start_worker(self, name: str) -> Service:
        argv = [
            str(BIN / "airflow"),
            "celery",
            "worker",
            "--queues",
            f"default,{name}",
            "--celery-hostname",
            f"{name}@{LOOPBACK}",
            "--concurrency",
            "2",
            "--without-mingle",
            "--without-gossip",
        ]
        return self.spawn(name, argv, env=self.worker_env(name))

    def kill_worker(self, name: str) -> list[int]:
        """SIGKILL every process of worker ``name`` at once (as when its machine dies); returns their pids."""
        service = self.service(name)
        tree = _tree(service.proc.pid)
        for p in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
        service.proc.wait(timeout=30)
        self.services.remove(service)
        self._killed.append(name)
        return [p.pid for p in tree]

    def restart_worker(self, name: str) -> None:
        self.start_worker(name)
        wait_for(lambda: self.worker_ready(name), 300, f"{name} to be ready again", 1)

    def worker_ready(self, name: str) -> bool:
        log = self.service(name).log
        return log.read_text(errors="replace").count(f"{name}@{LOOPBACK} ready") >= self._starts(name)

    def _starts(self, name: str) -> int:
        return sum(s.name == name for s in self.services) + self._killed.count(name)

    def _wait_healthy(self) -> None:
        def healthy() -> bool:
            self.check_alive()
            try:
                health = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
                mlflow = requests.get(f"{self.mlflow_url}/health", timeout=5).status_code == 200
                demo = requests.get(f"{self.demo_url}/health", timeout=5).status_code == 200
            except (requests.RequestException, ValueError):
                return False
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            airflow_ok = all((health.get(p) or {}).get("status") == "healthy" for p in parts)
            workers_ok = self.executor != "celery" or all(self.worker_ready(w) for w in WORKERS)
            return airflow_ok and mlflow and demo and workers_ok

        wait_for(healthy, 420, "every service to report healthy", 2)
        # The first Execution API call builds its versioned routes (tens of seconds on a loaded machine):
        # pay that here, not inside the first task's first call.
        requests.get(f"{self.api_url}/execution/health", timeout=300).raise_for_status()

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        kill_trees([s.proc for s in self.services])
        self.services.clear()
        if self._pg_started:
            with contextlib.suppress(StackError, subprocess.TimeoutExpired):
                self._pg("pg_ctl", "-D", str(self.pg_data), "-m", "immediate", "-w", "stop", timeout=60)
            self._pg_started = False
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def diagnostics(self, lines: int = 40) -> str:
        """The tails of every service log and of failed task logs, for an assertion message."""
        parts = [tail(s.log, lines) for s in self.services]
        for log in sorted(self.root.glob("**/logs/dag_id=*/**/*.log"))[-6:]:
            parts.append(tail(log, lines))
        return "\n".join(parts)


# ---------------------------------------------------------------------- the REST API
@dataclass
class AirflowApi:
    """Airflow's public REST API (``/api/v2``) as the admin user of the simple auth manager."""

    base_url: str
    password: str
    username: str = ADMIN
    _token: str | None = None

    @classmethod
    def of(cls, stack: Stack) -> AirflowApi:
        return cls(stack.api_url, stack.password)

    def token(self) -> str:
        if self._token is None:
            r = requests.post(
                f"{self.base_url}/auth/token", json={"username": self.username, "password": self.password}, timeout=30
            )
            r.raise_for_status()
            self._token = str(r.json()["access_token"])
        return self._token

    def request(self, method: str, path: str, **kw: Any) -> Any:
        r = requests.request(
            method,
            f"{self.base_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
            **kw,
        )
        if r.status_code >= 400:
            raise StackError(f"{method} {path}: HTTP {r.status_code}: {r.text[:500]}")
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    # dags and runs
    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.get("/dags", limit=1000)["dags"]}

    def wait_parsed(self, *dag_ids: str, timeout: float = 300) -> None:
        wait_for(lambda: set(dag_ids) <= self.dag_ids(), timeout, f"the dag-processor to parse {sorted(dag_ids)}", 3)

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self, dag_id: str, conf: dict[str, Any] | None = None, run_id: str | None = None, *, logical_date: bool = False
    ) -> str:
        """A manual run; ``logical_date=True`` gives it one (now), as a scheduled run has, else none (Airflow 3's default)."""
        when = datetime.now(timezone.utc).isoformat() if logical_date else None
        body: dict[str, Any] = {"logical_date": when, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.request("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600, stack: Stack | None = None) -> str:
        def ended() -> str | None:
            if stack is not None:
                stack.check_alive()
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return wait_for(ended, timeout, f"run {run_id} of {dag_id} to end", 3)

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": state})

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        out = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)
        return list(out["task_instances"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {_ti_key(ti): ti["state"] for ti in self.task_instances(dag_id, run_id)}

    # xcom and variables
    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        value = self.get(path, map_index=map_index, deserialize=True)["value"]
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value

    def xcoms(self, dag_id: str, run_id: str, key: str) -> list[dict[str, Any]]:
        """Every XCom ``key`` of the run: ``[{task_id, map_index, value}]``."""
        entries = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/~/xcomEntries", xcom_key=key, limit=1000)
        return [
            {**e, "value": self.xcom(dag_id, run_id, e["task_id"], key, e.get("map_index", -1))}
            for e in entries["xcom_entries"]
        ]

    def set_variable(self, key: str, value: str) -> None:
        try:
            self.request("PATCH", f"/variables/{key}", json={"key": key, "value": value})
        except StackError:
            self.request("POST", "/variables", json={"key": key, "value": value})

    def delete_variable(self, key: str) -> None:
        with contextlib.suppress(StackError):
            self.request("DELETE", f"/variables/{key}")


def _ti_key(ti: dict[str, Any]) -> str:
    index = ti.get("map_index", -1)
    return ti["task_id"] if index is None or index < 0 else f"{ti['task_id']}[{index}]"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


@contextlib.contextmanager
def running(executor: Executor = "local", **kw: Any) -> Iterator[Stack]:
    with Stack(executor=executor, **kw) as stack:
        yield stack


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    executor: Executor = "celery" if args[:1] == ["celery"] else "local"
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # stop the stack on SIGTERM too
    with running(executor) as stack:
        print(
            f"stack up in {stack.timings['start']:.0f}s: Airflow {stack.api_url} (admin / {stack.password}), "
            f"MLflow {stack.mlflow_url}, demo API {stack.demo_url}; logs in {stack.logs}; Ctrl-C stops it",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(5)
                stack.check_alive()
    return 0


if __name__ == "__main__":
    sys.exit(main())

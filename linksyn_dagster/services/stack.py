"""``linksyn stack``: the deployment's Dagster instance (deploy/dagster.yaml) run on this
machine, with every part except the run launcher real: PostgreSQL for run, event and schedule
storage, the Dagster daemon (run queue, schedules, sensors, backfills, run monitoring, run
retries) and the webserver, each its own detached process.

Everything lives under ``<data dir>/stack``:

    stack.json           the ports chosen at the first ``up`` (kept, so ``status`` and the next
                         ``up`` find the same stack)
    postgres.password    the generated password of the server's superuser (0600)
    postgres/            the cluster, its log and pid file
    dagster_home/        dagster.yaml (built from deploy/dagster.yaml at every ``up``) and
                         workspace.yaml (the project's code location)
    logs/, *.pid         the daemon's and the webserver's output and pids

The instance differs from deploy/'s in what a single machine needs and nothing else:

* ``run_launcher``: ``DefaultRunLauncher`` (a run is a process of the code server) instead
  of ``K8sRunLauncher``;
* the Postgres port: the stack's server's;
* ``run_monitoring.max_resume_run_attempts``: 0, because a local run worker cannot be resumed
  (Dagster refuses the config otherwise). A dead worker is still found: the code server that
  started it reports its run failed within a second (the exit signal in the run's log), and
  run retries run it again from what failed.

The queue's limits, run monitoring's timeouts and run retries are deploy/'s own."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from linksyn_dagster.services import process
from linksyn_dagster.services.postgres_server import SUPERUSER, LocalPostgres, postgres_bindir

# deploy/dagster.yaml, shipped inside the package (a symlink in the repository)
DEPLOY_INSTANCE = Path(__file__).with_name("deploy_dagster.yaml")
DATABASE = "dagster"
# the stores every run process writes at once, in the stack's Postgres (deploy/ sets the same
# two settings in linksyn-secrets): the warehouse's Parquet catalog and the LLM result store
SHARED_STORES = {"LINKSYN_WAREHOUSE__CATALOG_URL": "linksyn_warehouse",
                 "LINKSYN_LLM__RESULT_STORE_URL": "linksyn_results"}
DEFAULT_WEBSERVER_PORT = 3000

WORKSPACE = """load_from:
  - python_module:
      module_name: linksyn_dagster.definitions
      location_name: linksyn
"""


def stack_instance_config(deploy: Mapping[str, Any], postgres_port: int) -> dict[str, Any]:
    """The stack's instance config: deploy/'s with the run launcher replaced (and the two
    settings a local launcher and server need, see the module's doc)."""
    config = json.loads(json.dumps(deploy))  # a deep copy
    config["run_launcher"] = {"module": "dagster", "class": "DefaultRunLauncher"}
    config["storage"]["postgres"]["postgres_db"]["port"] = postgres_port
    if "run_monitoring" in config:
        config["run_monitoring"]["max_resume_run_attempts"] = 0
    return config


def graphql(url: str, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 30.0) -> dict:
    """POST a GraphQL query to the webserver at ``url``; its ``data``, or ServiceError with
    the first error's message."""
    body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # the body says why (a query the schema rejects, ...)
        detail = exc.read().decode(errors="replace")[:300]
        raise process.ServiceError(f"the Dagster webserver at {url} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise process.ServiceError(f"the Dagster webserver at {url} did not answer: {exc}") from None
    if answer.get("errors"):
        raise process.ServiceError(f"GraphQL error: {answer['errors'][0].get('message')}")
    return answer["data"]


_DAEMON_HEALTH = "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"


class LocalStack:
    """The stack under ``home`` (``<data dir>/stack``). ``env``: the environment its processes
    start from (the code location reads its LINKSYN_* settings from it)."""

    def __init__(self, home: Path, env: Mapping[str, str], *, postgres_port: int | None = None,
                 webserver_port: int | None = None):
        self.home = home
        self.base_env = dict(env)
        state = self._state()
        self.postgres_port = postgres_port or state.get("postgres_port")
        self.webserver_port = webserver_port or state.get("webserver_port")

    @classmethod
    def from_settings(cls, settings, env: Mapping[str, str], **ports: int | None) -> LocalStack:
        return cls(settings.data_dir / "stack", {**env, "LINKSYN_DATA_DIR": str(settings.data_dir)}, **ports)

    # the files
    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"

    @property
    def password_file(self) -> Path:
        return self.home / "postgres.password"

    def _state(self) -> dict:
        try:
            return json.loads((self.home / "stack.json").read_text())
        except (OSError, ValueError):
            return {}

    def postgres(self) -> LocalPostgres:
        if self.postgres_port is None:
            raise process.ServiceError("the stack was never started here (no stack.json): `linksyn stack up`")
        return LocalPostgres(self.home / "postgres", self.postgres_port, self.password_file)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def _pid_file(self, part: str) -> Path:
        return self.home / f"{part}.pid"

    def _log(self, part: str) -> Path:
        return self.home / "logs" / f"{part}.log"

    def env(self) -> dict[str, str]:
        """The daemon's and webserver's environment (and so their code servers' and runs'):
        the instance's home and the Postgres connection deploy/dagster.yaml reads from it;
        and, as deploy/ has them, the warehouse's catalog and the LLM result store in
        databases of the stack's Postgres (runs write them from processes of their own at
        once), unless the environment names others."""
        postgres = self.postgres()
        shared = {setting: postgres.url(database) for setting, database in SHARED_STORES.items()
                  if not self.base_env.get(setting)}
        return {**self.base_env, **shared, "DAGSTER_HOME": str(self.dagster_home),
                "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_USER": SUPERUSER,
                "DAGSTER_PG_PASSWORD": postgres.password, "DAGSTER_PG_DB": DATABASE}

    def _commands(self) -> dict[str, list[str]]:
        workspace = str(self.dagster_home / "workspace.yaml")
        return {
            "daemon": [sys.executable, "-m", "dagster._daemon", "run", "-w", workspace],
            "webserver": [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1",
                          "-p", str(self.webserver_port), "-w", workspace],
        }

    # the commands
    def check(self) -> None:
        """What `up` needs and cannot install itself, as one line each."""
        if postgres_bindir() is None:
            raise process.ServiceError("PostgreSQL is not installed (Debian: apt-get install postgresql; "
                                       "`make test-deps` does it)")
        import importlib.util

        for module, dist in (("dagster_postgres", "dagster-postgres"), ("dagster_webserver", "dagster-webserver")):
            if importlib.util.find_spec(module) is None:
                raise process.ServiceError(f"{dist} is not installed in {sys.prefix} (pip install {dist})")
        if not DEPLOY_INSTANCE.exists():
            raise process.ServiceError(f"the deployment's instance config is missing: {DEPLOY_INSTANCE}")

    def up(self, timeout: float = 180.0) -> dict:
        """Start what is not running (Postgres, then the daemon and the webserver) and wait
        until the webserver answers and the daemon's parts report healthy."""
        self.check()
        self.home.mkdir(parents=True, exist_ok=True)
        self.postgres_port = self.postgres_port or process.free_port()
        if self.webserver_port is None:
            self.webserver_port = (DEFAULT_WEBSERVER_PORT if not process.port_open("127.0.0.1", DEFAULT_WEBSERVER_PORT)
                                   else process.free_port())
        (self.home / "stack.json").write_text(json.dumps({"postgres_port": self.postgres_port,
                                                          "webserver_port": self.webserver_port}))
        postgres = self.postgres()
        postgres.start()
        for database in (DATABASE, *SHARED_STORES.values()):
            postgres.create_database(database)
        self.write_instance()
        for part, cmd in self._commands().items():
            if process.read_pid(self._pid_file(part)) is not None:
                continue
            if part == "webserver" and process.port_open("127.0.0.1", self.webserver_port):
                raise process.ServiceError(f"port {self.webserver_port} is taken by another program: "
                                           "`linksyn stack up --port N`")
            process.spawn_detached(cmd, self._log(part), self._pid_file(part), env=self.env())
        self._wait_ready(timeout)
        return self.status()

    def write_instance(self) -> None:
        """dagster_home/dagster.yaml from deploy/dagster.yaml (every time: deploy/'s changes
        carry over), and the workspace."""
        deploy = yaml.safe_load(DEPLOY_INSTANCE.read_text(encoding="utf-8"))
        config = stack_instance_config(deploy, self.postgres_port)
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        header = ("# Written by `linksyn stack up` from deploy/dagster.yaml: the same instance, with the\n"
                  "# DefaultRunLauncher instead of Kubernetes (see linksyn_dagster/services/stack.py)\n")
        (self.dagster_home / "dagster.yaml").write_text(header + yaml.safe_dump(config, sort_keys=False),
                                                        encoding="utf-8")
        (self.dagster_home / "workspace.yaml").write_text(WORKSPACE, encoding="utf-8")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pid = process.read_pid(self._pid_file("webserver"))
        if pid is None:
            raise process.ServiceError(f"the webserver exited during start-up; see {self._log('webserver')}: "
                                       f"{process.last_line(self._log('webserver'))}")
        process.wait_for_port("127.0.0.1", self.webserver_port, pid, timeout, "the Dagster webserver",
                              self._log("webserver"))
        while True:
            if process.read_pid(self._pid_file("daemon")) is None:
                raise process.ServiceError(f"the Dagster daemon exited during start-up; see {self._log('daemon')}: "
                                           f"{process.last_line(self._log('daemon'))}")
            statuses = self.daemon_statuses()
            if statuses and all(statuses.values()):
                return
            if time.monotonic() > deadline:
                sick = sorted(name for name, healthy in statuses.items() if not healthy)
                raise process.ServiceError(f"the Dagster daemon's parts not healthy within {timeout:.0f}s "
                                           f"({', '.join(sick)}); see {self._log('daemon')}")
            time.sleep(1.0)

    def daemon_statuses(self) -> dict[str, bool]:
        """Each required part of the daemon (as the webserver sees its heartbeats): healthy?"""
        try:
            data = graphql(self.url, _DAEMON_HEALTH, timeout=10)
        except process.ServiceError:
            return {}
        return {d["daemonType"]: d["healthy"] for d in data["instance"]["daemonHealth"]["allDaemonStatuses"]
                if d["required"]}

    def down(self) -> None:
        """Stop the webserver, the daemon (with its code server and any run it started), then
        Postgres. The data stays."""
        for part in ("webserver", "daemon"):
            pid = process.read_pid(self._pid_file(part))
            if pid is not None:
                process.stop_tree(pid, timeout=10.0)  # runs in flight are killed either way
            self._pid_file(part).unlink(missing_ok=True)
        if self.postgres_port is not None:
            self.postgres().stop()

    def status(self) -> dict:
        pids = {part: process.read_pid(self._pid_file(part)) for part in ("daemon", "webserver")}
        postgres = self.postgres().status() if self.postgres_port is not None else {"running": False}
        return {
            "postgres": {"running": postgres["running"], "pid": postgres.get("pid"),
                         "url": f"postgresql://{SUPERUSER}@127.0.0.1:{self.postgres_port}/{DATABASE}"
                         if self.postgres_port else None},
            "daemon": {"running": pids["daemon"] is not None, "pid": pids["daemon"],
                       "log": str(self._log("daemon"))},
            "webserver": {"running": pids["webserver"] is not None, "pid": pids["webserver"],
                          "url": self.url if self.webserver_port else None, "log": str(self._log("webserver"))},
            "dagster_home": str(self.dagster_home),
        }

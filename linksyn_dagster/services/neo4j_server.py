"""A local Neo4j Community server run from Maven Central jars, without Docker or a tarball.

``mvn dependency:copy-dependencies`` fetches ``org.neo4j:neo4j`` (the server) and
``org.neo4j.client:neo4j-browser`` (served at ``/browser``) into a jar cache once; the server
then runs as ``java -cp '<lib>/*' org.neo4j.server.CommunityEntryPoint`` with its state
(config, data, logs, pid file, password file) under one home directory, listening on
127.0.0.1 only.

Neo4j Browser guide: beside the server runs a small static web server of our own
(``services/guide_server.py``, a free loopback port) serving the guide of the KP graph's
example queries (``core/browser_guide.py``); Browser plays it after connecting. It starts and
stops with Neo4j and is managed the same way (pid file under ``home``).

Start-up speed: after the first server of a given Java/jar set stops, the JVM leaves an
AppCDS class archive in the jar cache; later starts map it instead of loading ~200 jars'
classes one by one, which cuts start-up by about a third (9 s -> 6 s on 2 cores). Writing the
archive makes that first server's stop slower (~8 s), once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from linksyn_dagster.core.browser_guide import examples, guide_html, post_connect_command
from linksyn_dagster.core.graph_style import style_command
from linksyn_dagster.queries import cypher
from linksyn_dagster.services import process

if TYPE_CHECKING:
    from linksyn_dagster.settings import LinkSynSettings

HOST = "127.0.0.1"
POM = Path(__file__).with_name("neo4j-pom.xml")
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
GUIDE_MODULE = "linksyn_dagster.services.guide_server"
GUIDE_QUERIES = "browser/examples"
MIN_JAVA = 17
_FALLBACK = "or set LINKSYN_NEO4J__URI to an existing server"

# What Neo4j's own launcher passes (server.jvm.additional in its default neo4j.conf), minus
# -XX:+AlwaysPreTouch, which commits the whole heap up front and slows start-up.
_JVM_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
)
# neo4j-admin is a short-lived tool: a small heap and C1 only make it start faster
_ADMIN_JVM_OPTIONS = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def default_jar_cache(version: str) -> Path:
    """``$LINKSYN_JAR_CACHE`` if set, else ``~/.cache/linksyn/neo4j-<version>/lib``."""
    override = os.environ.get("LINKSYN_JAR_CACHE")
    if override:
        return Path(override).expanduser().resolve()
    return Path.home() / ".cache" / "linksyn" / f"neo4j-{version}" / "lib"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock across processes (Dagster steps may all try to start the server at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _picocli_arg_file(args: list[str]) -> str:
    """An @file for neo4j-admin (picocli): one double-quoted argument per line, so spaces,
    quotes and backslashes survive; pass ``--`` first when a value may start with ``-``
    (``secrets.token_urlsafe`` starts with one about once in 64 passwords)."""
    return "".join('"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"\n' for arg in args)


def _one_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # the first error line is the cause; Maven follows it with generic "[ERROR] re-run with -X" advice
    errors = [line for line in lines if "ERROR" in line or "Exception" in line]
    return (errors[0] if errors else lines[-1] if lines else "(no output)")[:limit]


class LocalNeo4j:
    """One Neo4j Community server whose state lives under ``home``.

    Every method works from the files under ``home`` (pid file, password file), so another
    process -- a Dagster step, the CLI -- finds, reuses or stops the same server.
    """

    def __init__(self, home: Path, version: str, bolt_port: int, http_port: int, heap: str, pagecache: str,
                 user: str = "neo4j", password: str | None = None, jar_cache: Path | None = None) -> None:
        self.home = Path(home).expanduser().resolve()
        self.version = version
        self.bolt_port = bolt_port
        self.http_port = http_port
        self.heap = heap
        self.pagecache = pagecache
        self.user = user
        self._explicit_password = password
        self.jar_cache = Path(jar_cache).expanduser().resolve() if jar_cache else default_jar_cache(version)

    @classmethod
    def from_settings(cls, settings: LinkSynSettings) -> LocalNeo4j:
        cfg = settings.neo4j
        return cls(
            home=settings.neo4j_home, version=cfg.version, bolt_port=cfg.bolt_port, http_port=cfg.http_port,
            heap=cfg.heap, pagecache=cfg.pagecache, user=cfg.user,
            password=cfg.password.get_secret_value() if cfg.password else None,
        )

    def __repr__(self) -> str:  # never the password
        return f"LocalNeo4j(home={str(self.home)!r}, version={self.version!r}, uri={self.uri!r})"

    # -- paths and addresses --------------------------------------------------------------

    @property
    def uri(self) -> str:
        return f"bolt://{HOST}:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def pid_file(self) -> Path:
        return self.home / "neo4j.pid"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / "console.log"

    @property
    def guide_page(self) -> Path:
        return self.home / "guide" / "linksyn.html"

    @property
    def guide_pid_file(self) -> Path:
        return self.home / "guide.pid"

    @property
    def guide_log_path(self) -> Path:
        return self.home / "logs" / "guide.log"

    @property
    def _guide_port_file(self) -> Path:
        return self.home / "run" / "guide.port"

    def _guide_port(self) -> int | None:
        try:
            return int(self._guide_port_file.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return None

    @property
    def guide_url(self) -> str | None:
        """Where the guide is served (the port its server last listened on), None before any."""
        port = self._guide_port()
        return None if port is None else f"http://{HOST}:{port}/{self.guide_page.name}"

    @property
    def password(self) -> str:
        if self._explicit_password is not None:
            return self._explicit_password
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise process.ServiceError(
                f"no Neo4j password yet: {self.password_file} is created by the first start()"
            ) from None

    @property
    def _cds_dump(self) -> Path:
        # per home, so two servers sharing a jar cache never write the same file
        return self.home / "run" / "cds-dump.jsa"

    # -- jars -----------------------------------------------------------------------------

    def fetch_jars(self) -> Path:
        """Copy the server's jars from Maven Central into the jar cache (once) and return it."""
        lib = self.jar_cache
        marker = lib / ".complete"
        # the marker names what was fetched, so a new version or POM refetches
        wanted = f"neo4j {self.version}\npom {hashlib.sha256(POM.read_bytes()).hexdigest()[:16]}\n"
        if marker.is_file() and marker.read_text() == wanted:
            return lib
        with _file_lock(lib / ".lock"):
            if marker.is_file() and marker.read_text() == wanted:
                return lib  # another process fetched while we waited
            mvn = shutil.which("mvn")
            if mvn is None:
                raise process.ServiceError(
                    "Maven (mvn) not found on PATH, needed once to fetch the Neo4j jars: install Maven 3.6+ "
                    f"(Debian: apt-get install maven), {_FALLBACK}"
                )
            marker.unlink(missing_ok=True)
            for old in lib.glob("*.jar"):  # leftovers of another version must not join the classpath
                old.unlink()
            cmd = [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(POM), f"-Dneo4j.version={self.version}",
                   "dependency:copy-dependencies", f"-DoutputDirectory={lib}", "-DincludeScope=runtime"]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
            except subprocess.TimeoutExpired:
                raise process.ServiceError(
                    "mvn took over 30 minutes fetching the Neo4j jars; check network/proxy (~/.m2/settings.xml)"
                ) from None
            if done.returncode != 0 or not any(lib.glob("neo4j-*.jar")):
                raise process.ServiceError(
                    f"mvn could not fetch Neo4j {self.version} jars from Maven Central (exit {done.returncode}): "
                    f"{_one_line(done.stdout + done.stderr)}; check network/proxy (~/.m2/settings.xml), {_FALLBACK}"
                )
            marker.write_text(wanted)
        return lib

    # -- Java -----------------------------------------------------------------------------

    @staticmethod
    def _java() -> tuple[str, str]:
        """Path of ``java`` and a short id of its exact build (keys the class archive)."""
        java = shutil.which("java")
        hint = f"install a JDK {MIN_JAVA} (Debian: apt-get install openjdk-{MIN_JAVA}-jre-headless) {_FALLBACK}"
        if java is None:
            raise process.ServiceError(f"Java {MIN_JAVA}+ not found on PATH: {hint}")
        try:
            out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise process.ServiceError(f"could not run {java} -version ({exc}): {hint}") from None
        text = out.stderr + out.stdout
        found = re.search(r'version "(\d+)(?:\.(\d+))?', text)
        if found is None:
            raise process.ServiceError(f"could not read the Java version from {java} -version: {hint}")
        major = int(found.group(1))
        if major == 1:  # "1.8.0_x" style
            major = int(found.group(2) or 0)
        if major < MIN_JAVA:
            raise process.ServiceError(
                f"Java {major} at {java} is too old for Neo4j 5, it needs Java {MIN_JAVA}+: {hint}"
            )
        return java, hashlib.sha256(f"{os.path.realpath(java)}\n{text}".encode()).hexdigest()[:12]

    # -- AppCDS class archive -------------------------------------------------------------

    def _cds_archive(self, java_id: str) -> Path:
        return self.jar_cache / f".cds-{java_id}.jsa"  # not a *.jar, so outside the '<lib>/*' classpath

    def _cds_options(self, java_id: str) -> list[str]:
        archive = self._cds_archive(java_id)
        if archive.is_file():
            return [f"-XX:SharedArchiveFile={archive}"]
        if archive.with_suffix(".failed").exists():
            return []
        # no archive yet: this server writes one when it exits cleanly (promoted at stop)
        return [f"-XX:ArchiveClassesAtExit={self._cds_dump}"]

    def _promote_cds_dump(self, java: str, java_id: str, lib: Path) -> None:
        dump = self._cds_dump
        if not dump.is_file():
            return
        archive = self._cds_archive(java_id)
        if not archive.exists():
            # a dump cut short (e.g. SIGKILL) crashes the JVM that maps it; -Xshare:on proves it whole
            check = [java, *self._jvm_options(), "-Xshare:on", f"-XX:SharedArchiveFile={dump}",
                     "-cp", f"{lib}/*", "-version"]
            ok = subprocess.run(check, capture_output=True, timeout=120, check=False).returncode == 0
            if ok:
                os.replace(dump, archive)
            else:
                archive.with_suffix(".failed").touch()  # do not pay for a dump at every start
        dump.unlink(missing_ok=True)

    # -- configuration and password -------------------------------------------------------

    def _jvm_options(self) -> list[str]:
        return [f"-Xmx{self.heap}", *_JVM_OPTIONS]

    def _write_conf(self) -> None:
        home = self.home
        settings = {
            # loopback only: the server is for this machine, never the network
            "server.default_listen_address": HOST,
            "server.default_advertised_address": HOST,
            "server.bolt.enabled": "true",
            "server.bolt.listen_address": f"{HOST}:{self.bolt_port}",
            "server.bolt.advertised_address": f"{HOST}:{self.bolt_port}",
            "server.bolt.tls_level": "DISABLED",
            "server.http.enabled": "true",
            "server.http.listen_address": f"{HOST}:{self.http_port}",
            "server.http.advertised_address": f"{HOST}:{self.http_port}",
            "server.https.enabled": "false",
            "dbms.security.auth_enabled": "true",
            # the heap is set with -Xmx (no launcher reads this here); stated so Neo4j's logs agree
            "server.memory.heap.max_size": self.heap,
            "server.memory.pagecache.size": self.pagecache,
            "server.directories.data": str(home / "data"),
            "server.directories.logs": str(home / "logs"),
            "server.directories.run": str(home / "run"),
            "server.directories.import": str(home / "import"),
            "server.directories.plugins": str(home / "plugins"),
            "dbms.usage_report.enabled": "false",
            # Neo4j Browser sends no product analytics (and has no consent banner to show);
            # browser.allow_outgoing_connections is not a declared setting of this server
            # (5.26 with strict validation refuses it), and Browser takes it as off when absent
            "client.allow_telemetry": "false",
            # after connecting, Browser applies the KP graph's style (core/graph_style.py) and
            # opens the guide of the example queries (core/browser_guide.py)
            "browser.post_connect_cmd": post_connect_command(style_command(), f"play {self.guide_url}"),
            # Browser plays guides only from these hosts (Neo4j's default names guides.neo4j.com
            # and localhost): the guide's loopback address and nothing outside this machine.
            # Neo4j 5.26 still calls the setting "whitelist", the only name Browser 5.24 reads
            "browser.remote_content_hostname_whitelist": HOST,
            # Bolt's Netty loops otherwise idle 2 x 5 s before exiting: stop() takes ~0.5 s, not ~11 s
            "internal.dbms.bolt.netty_server_shutdown_quiet_period": "0",
            "internal.dbms.bolt.netty_server_shutdown_timeout": "2",
        }
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        text = "# written by LinkSyn (linksyn_dagster/services/neo4j_server.py) at every start\n"
        text += "".join(f"{key}={value}\n" for key, value in settings.items())
        (self.conf_dir / "neo4j.conf").write_text(text, encoding="utf-8")

    def _initial_password(self, java: str, lib: Path) -> None:
        """Before the very first start, give the ``neo4j`` user its password (no default neo4j/neo4j)."""
        system_db = self.home / "data" / "databases" / "system"
        if self._explicit_password is not None:
            password = self._explicit_password
        elif self.password_file.is_file():
            password = self.password
        elif system_db.exists():
            raise process.ServiceError(
                f"{self.home / 'data'} holds Neo4j data but {self.password_file} is missing: "
                f"set LINKSYN_NEO4J__PASSWORD to its password, or delete {self.home / 'data'} to start over"
            )
        else:
            password = secrets.token_urlsafe(24)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(password + "\n")
        if system_db.exists():
            return  # set-initial-password only acts before the first start
        # the password reaches neo4j-admin through an @file (picocli), never the command line
        arg_file = self.home / "run" / "initial-password.args"
        arg_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(arg_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_picocli_arg_file(["--", password]))
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}
        cmd = [java, *_ADMIN_JVM_OPTIONS, "-cp", f"{lib}/*", ADMIN_TOOL,
               "dbms", "set-initial-password", f"@{arg_file}"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
        finally:
            arg_file.unlink(missing_ok=True)
        if done.returncode != 0:
            detail = _one_line((done.stdout + done.stderr).replace(password, "***"))
            raise process.ServiceError(f"neo4j-admin dbms set-initial-password failed: {detail}")
        auth_ini = self.home / "data" / "dbms" / "auth.ini"
        if auth_ini.exists():
            auth_ini.chmod(0o600)  # a salted hash, still nobody else's business

    # -- process --------------------------------------------------------------------------

    def _running_pid(self) -> int | None:
        pid = process.read_pid(self.pid_file)
        if pid is None:
            return None
        try:  # a pid file outliving a reboot may name an unrelated process
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return pid  # no /proc (macOS): trust the pid file
        return pid if ENTRY_POINT in cmdline and str(self.home) in cmdline else None

    def _running_guide_pid(self) -> int | None:
        pid = process.read_pid(self.guide_pid_file)
        if pid is None:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return pid
        return pid if GUIDE_MODULE in cmdline and str(self.home) in cmdline else None

    def _start_guide(self, port: int, timeout: float = 30.0) -> None:
        """Write the guide page and serve it (unless its server is still up) on ``port`` (0: a
        free one); return once it listens and its port is recorded."""
        self.guide_page.parent.mkdir(parents=True, exist_ok=True)
        partial = self.guide_page.with_suffix(".tmp")  # a running guide server never serves half a page
        partial.write_text(guide_html(examples(cypher(GUIDE_QUERIES))), encoding="utf-8")
        os.replace(partial, self.guide_page)
        if self._running_guide_pid() is not None and self._guide_port() is not None:
            return
        self._guide_port_file.parent.mkdir(parents=True, exist_ok=True)
        self._guide_port_file.unlink(missing_ok=True)
        self.guide_log_path.parent.mkdir(parents=True, exist_ok=True)
        self.guide_log_path.write_bytes(b"")
        cmd = [sys.executable, "-m", GUIDE_MODULE, f"--page={self.guide_page}", f"--port={port}",
               f"--port-file={self._guide_port_file}", f"--home={self.home}"]
        pid = process.spawn_detached(cmd, self.guide_log_path, self.guide_pid_file, cwd=self.home)
        deadline = time.monotonic() + timeout
        while (found := self._guide_port()) is None or not process.port_open(HOST, found):
            if not process.pid_alive(pid) or time.monotonic() > deadline:
                process.stop_pid(pid, timeout=5)
                self.guide_pid_file.unlink(missing_ok=True)
                taken = f"; port {HOST}:{port} may be taken: restart Neo4j (linksyn neo4j stop, start)" if port else ""
                raise process.ServiceError(f"the Neo4j Browser guide server did not start{taken}; see "
                                           f"{self.guide_log_path}: {process.last_line(self.guide_log_path)}")
            time.sleep(0.05)

    def _stop_guide(self) -> None:
        pid = self._running_guide_pid()
        if pid is not None:
            process.stop_pid(pid, timeout=10)
        self.guide_pid_file.unlink(missing_ok=True)

    def _failure_hint(self) -> str:
        # stack traces before logging is up land in console.log; later failures in neo4j.log
        if self.log_path.is_file() and self.log_path.stat().st_size > 0:
            return f"see {self.log_path}: {process.last_line(self.log_path)}"
        neo4j_log = self.home / "logs" / "neo4j.log"
        return f"see {neo4j_log}: {process.last_line(neo4j_log)}"

    def _authenticates(self) -> bool:
        """True once a Bolt connection logs in (Bolt opens only after the databases are online)."""
        try:
            with neo4j.GraphDatabase.driver(self.uri, auth=(self.user, self.password), connection_timeout=3.0,
                                            max_connection_pool_size=1) as driver:
                accepted = driver.verify_authentication()
        except (DriverError, Neo4jError, OSError):
            return False  # still starting
        if not accepted:
            raise process.ServiceError(
                f"Neo4j at {self.uri} rejects the password for user '{self.user}' (its data was initialized with "
                f"another one): set LINKSYN_NEO4J__PASSWORD, or delete {self.home / 'data'} to start over"
            )
        return True

    def _wait_ready(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not process.pid_alive(pid):
                raise process.ServiceError(f"Neo4j exited during start-up; {self._failure_hint()}")
            # HTTP too: the server is only fully up (Browser reachable) once both listen
            if (process.port_open(HOST, self.bolt_port) and process.port_open(HOST, self.http_port)
                    and self._authenticates()):
                return
            if time.monotonic() > deadline:
                raise process.ServiceError(
                    f"Neo4j did not become ready on {self.uri} within {timeout:.0f}s; {self._failure_hint()}"
                )
            time.sleep(0.25)

    def start(self, timeout: float = 120.0) -> None:
        """Start the server (or find it running) and return once a Bolt session can log in."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)  # data, password and logs are for this user only
        with _file_lock(self.home / ".lock"):
            pid = self._running_pid()
            if pid is not None:
                self._wait_ready(pid, timeout)  # may still be starting in another process
                # the guide server again if it is gone, on the port the running server names
                self._start_guide(self._guide_port() or 0)
                return
            if self.user != "neo4j":  # set-initial-password only knows the built-in admin user
                raise process.ServiceError(
                    f"the local Neo4j server has only the user 'neo4j', not '{self.user}': unset "
                    f"LINKSYN_NEO4J__USER, {_FALLBACK}"
                )
            java, java_id = self._java()
            lib = self.fetch_jars()
            for port, what, var in ((self.bolt_port, "Bolt", "BOLT_PORT"), (self.http_port, "HTTP", "HTTP_PORT")):
                if process.port_open(HOST, port):
                    raise process.ServiceError(
                        f"port {HOST}:{port} (Neo4j {what}) is already in use by another process: "
                        f"stop it or set LINKSYN_NEO4J__{var} to a free port"
                    )
            self._start_guide(0)  # first: neo4j.conf names its address
            pid = None
            try:
                self._write_conf()
                self._initial_password(java, lib)
                self._promote_cds_dump(java, java_id, lib)  # left behind if the last stop was not ours
                cmd = [java, *self._jvm_options(), *self._cds_options(java_id), "-cp", f"{lib}/*", ENTRY_POINT,
                       f"--home-dir={self.home}", f"--config-dir={self.conf_dir}"]
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self.log_path.write_bytes(b"")  # only this run's output, for _failure_hint
                pid = process.spawn_detached(cmd, self.log_path, self.pid_file, cwd=self.home)
                self._wait_ready(pid, timeout)
            except BaseException:
                if pid is not None:
                    process.stop_pid(pid, timeout=10)
                    self.pid_file.unlink(missing_ok=True)
                self._stop_guide()
                raise

    def ensure_running(self, timeout: float = 120.0) -> LocalNeo4j:
        self.start(timeout)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Clean shutdown (SIGTERM: checkpoint, close stores), SIGKILL after ``timeout`` seconds."""
        if not self.home.is_dir():
            return
        with _file_lock(self.home / ".lock"):
            pid = self._running_pid()
            if pid is not None:
                process.stop_pid(pid, timeout)
                if process.pid_alive(pid):
                    raise process.ServiceError(f"Neo4j (pid {pid}) did not stop; kill it by hand")
            self.pid_file.unlink(missing_ok=True)
            self._stop_guide()
            with contextlib.suppress(process.ServiceError, OSError, subprocess.SubprocessError):
                java, java_id = self._java()
                self._promote_cds_dump(java, java_id, self.jar_cache)

    def status(self) -> dict[str, Any]:
        pid = self._running_pid()
        return {
            "running": pid is not None and process.port_open(HOST, self.bolt_port),
            "pid": pid,
            "uri": self.uri,
            "http_url": self.http_url,
            # Neo4j Browser plays it on connecting; `:play <guide_url>` brings it back
            "guide_url": self.guide_url if self._running_guide_pid() is not None else None,
            "version": self.version,
            "home": str(self.home),
        }

"""The local Neo4j Community server: Bolt on loopback, the password, stop/restart keeping the
data, status, Neo4j Browser and the guide it plays, and the one-line errors for a missing Java/Maven or a taken port."""

from __future__ import annotations


import ipaddress  # noqa: E402
import socket  # noqa: E402
import stat  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import neo4j  # noqa: E402
import pytest  # noqa: E402

from linksyn_dagster.core.browser_guide import examples  # noqa: E402
from linksyn_dagster.core.graph_style import style_command  # noqa: E402
from linksyn_dagster.queries import cypher  # noqa: E402
from linksyn_dagster.services import process  # noqa: E402
from linksyn_dagster.services.neo4j_server import LocalNeo4j  # noqa: E402
from linksyn_dagster.settings import LinkSynSettings, Neo4jSettings  # noqa: E402
from linksyn_dagster_tests.fixtures_neo4j import TEST_HEAP, TEST_PAGECACHE, free_ports, make_local_neo4j  # noqa: E402

pytestmark = pytest.mark.neo4j


def _listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Addresses with a TCP socket in LISTEN state on ``port``, from /proc/net/tcp{,6}."""
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, port_hex = fields[1].split(":")
            if fields[3] != "0A" or int(port_hex, 16) != port:  # 0A = LISTEN
                continue
            # the kernel prints each 32-bit word in host (little-endian) order
            raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8))
            found.add(ipaddress.ip_address(raw))
    return found


def _is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback


def _fake_tool(directory: Path, name: str, script: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def _unused_server(tmp_path: Path, **overrides: object) -> LocalNeo4j:
    bolt_port, http_port = free_ports(2)
    kwargs: dict[str, object] = {"home": tmp_path / "home", "version": "5.26.30", "bolt_port": bolt_port,
                                 "http_port": http_port, "heap": "256m", "pagecache": "64m"}
    kwargs.update(overrides)
    return LocalNeo4j(**kwargs)  # type: ignore[arg-type]


# -- the session server -------------------------------------------------------------------

def test_bolt_write_and_read_on_loopback(neo4j_server: LocalNeo4j, neo4j_driver: neo4j.Driver) -> None:
    assert neo4j_server.uri == f"bolt://127.0.0.1:{neo4j_server.bolt_port}"
    _, summary, _ = neo4j_driver.execute_query(
        "CREATE (:KnowledgePoint {name: $name, frequency: $frequency})", name="entropy", frequency=3
    )
    assert summary.counters.nodes_created == 1
    assert summary.server.address.host == "127.0.0.1"
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (k:KnowledgePoint {name: $name}) RETURN k.frequency AS frequency", name="entropy"
    )
    assert [record["frequency"] for record in records] == [3]


def test_driver_fixture_starts_from_an_empty_graph(neo4j_driver: neo4j.Driver) -> None:
    records, _, _ = neo4j_driver.execute_query("MATCH (n) RETURN count(n) AS nodes")
    assert records[0]["nodes"] == 0
    neo4j_driver.execute_query("CREATE (:Leftover)")  # the next test must not see it


def test_password_is_private_and_never_logged(neo4j_server: LocalNeo4j) -> None:
    password = neo4j_server.password
    assert len(password) >= 24
    assert stat.S_IMODE(neo4j_server.password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(neo4j_server.home.stat().st_mode) == 0o700
    assert password not in repr(neo4j_server)
    assert password not in str(neo4j_server.status())
    for folder in ("conf", "logs", "run"):
        for path in (neo4j_server.home / folder).rglob("*"):
            if path.is_file():
                assert password not in path.read_text(errors="replace"), path
    # the default neo4j/neo4j login is gone
    with pytest.raises(neo4j.exceptions.AuthError):
        with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=("neo4j", "neo4j")) as driver:
            driver.verify_connectivity()


def test_listens_on_loopback_only(neo4j_server: LocalNeo4j) -> None:
    conf = (neo4j_server.conf_dir / "neo4j.conf").read_text().splitlines()
    assert "server.default_listen_address=127.0.0.1" in conf
    assert f"server.bolt.listen_address=127.0.0.1:{neo4j_server.bolt_port}" in conf
    assert f"server.http.listen_address=127.0.0.1:{neo4j_server.http_port}" in conf
    assert "server.https.enabled=false" in conf
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to inspect listening sockets")
    for port in (neo4j_server.bolt_port, neo4j_server.http_port):
        addresses = _listening_addresses(port)
        assert addresses, f"nothing listens on port {port}"
        assert all(_is_loopback(address) for address in addresses), addresses


def test_status_reports_the_running_server(neo4j_server: LocalNeo4j) -> None:
    status = neo4j_server.status()
    assert status == {
        "running": True,
        "pid": int(neo4j_server.pid_file.read_text()),
        "uri": neo4j_server.uri,
        "http_url": f"http://127.0.0.1:{neo4j_server.http_port}",
        "guide_url": neo4j_server.guide_url,
        "version": "5.26.30",
        "home": str(neo4j_server.home),
    }
    assert process.pid_alive(status["pid"])
    assert status["guide_url"].startswith("http://127.0.0.1:") and status["guide_url"].endswith("/linksyn.html")


def test_start_again_does_not_start_twice(neo4j_server: LocalNeo4j) -> None:
    pid = neo4j_server.status()["pid"]
    neo4j_server.start()
    # another process's view: same home and ports, found through the pid file
    twin = LocalNeo4j(neo4j_server.home, neo4j_server.version, neo4j_server.bolt_port, neo4j_server.http_port,
                      neo4j_server.heap, neo4j_server.pagecache, jar_cache=neo4j_server.jar_cache)
    assert twin.ensure_running() is twin
    assert neo4j_server.status()["pid"] == twin.status()["pid"] == pid
    assert twin.password == neo4j_server.password


def test_wrong_password_is_a_clear_error(neo4j_server: LocalNeo4j) -> None:
    wrong = "not-the-generated-password"
    twin = LocalNeo4j(neo4j_server.home, neo4j_server.version, neo4j_server.bolt_port, neo4j_server.http_port,
                      neo4j_server.heap, neo4j_server.pagecache, password=wrong, jar_cache=neo4j_server.jar_cache)
    with pytest.raises(process.ServiceError, match="rejects the password for user 'neo4j'") as caught:
        twin.start(timeout=30)
    assert wrong not in str(caught.value) and "\n" not in str(caught.value)
    assert neo4j_server.status()["running"] is True  # a failed login never stops the server


def test_nothing_calls_out_from_the_server_or_its_browser(neo4j_driver: neo4j.Driver) -> None:
    """Usage reports and Browser analytics are off, as the running server reports its own
    settings."""
    records, _, _ = neo4j_driver.execute_query(
        "SHOW SETTINGS YIELD name, value WHERE name IN $names RETURN name, value",
        names=["dbms.usage_report.enabled", "client.allow_telemetry"])
    assert {r["name"]: r["value"] for r in records} == {
        "dbms.usage_report.enabled": "false", "client.allow_telemetry": "false"}


def test_browser_is_handed_the_kp_graph_style_then_the_guide(neo4j_server: LocalNeo4j,
                                                               neo4j_driver: neo4j.Driver) -> None:
    """The style survives neo4j.conf whole (its '#' colours, ':' and quotes): the running
    server hands Browser exactly the command core/graph_style.py writes, then the guide's
    :play, and lets Browser play guides from the guide's host only (Browser reads the
    allowlist from the client config under its old name)."""
    records, _, _ = neo4j_driver.execute_query(
        "SHOW SETTINGS YIELD name, value WHERE name = 'browser.post_connect_cmd' RETURN value")
    assert [r["value"] for r in records] == [f"{style_command()};play {neo4j_server.guide_url}"]
    records, _, _ = neo4j_driver.execute_query("CALL dbms.clientConfig() YIELD name, value "
                                               "WHERE name = 'browser.remote_content_hostname_whitelist' RETURN value")
    assert [r["value"] for r in records] == ["127.0.0.1"]


def _get(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), ""


def test_the_guide_is_served_cross_origin_with_its_queries(neo4j_server: LocalNeo4j,
                                                           neo4j_driver: neo4j.Driver) -> None:
    """Served on loopback beside Neo4j, readable from Browser's origin (the preflight its
    no-cache headers cause is answered), nothing but the page; each of its queries runs on a
    small KP graph with path visits and finds rows."""
    url = neo4j_server.guide_url
    origin = {"Origin": neo4j_server.http_url}
    status, headers, page = _get(url, headers={**origin, "pragma": "no-cache", "cache-control": "no-cache"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    status, headers, _ = _get(url, "OPTIONS", {**origin, "Access-Control-Request-Method": "GET",
                                               "Access-Control-Request-Headers": "cache-control,pragma"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    assert {"pragma", "cache-control"} <= {h.strip() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert _get(url.rsplit("/", 1)[0] + "/../password")[0] == 404
    assert _get(url.rsplit("/", 1)[0] + "/")[0] == 404
    if Path("/proc/net/tcp").exists():
        port = int(url.split(":")[2].split("/")[0])
        assert all(_is_loopback(address) for address in _listening_addresses(port))
    queries = examples(cypher("browser/examples"))
    assert len(queries) >= 4
    for example in queries:
        # the page holds the query as Browser's textContent reads it: HTML-escaped
        assert example.query.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;") in page
    neo4j_driver.execute_query(
        "CREATE (s:Seed {seed_id: 's1', discipline: 'physics'}),"
        " (a:KnowledgePoint {kp_id: 'a', name: 'entropy', frequency: 9, primary_discipline: 'physics', visits: 3}),"
        " (b:KnowledgePoint {kp_id: 'b', name: 'heat', frequency: 4, primary_discipline: 'physics', visits: 1}),"
        " (c:KnowledgePoint {kp_id: 'c', name: 'enzyme', frequency: 2, primary_discipline: 'biology'}),"
        " (s)-[:HAS_KP]->(a), (a)-[:CO_OCCURS {weight: 2}]->(b), (b)-[:CO_OCCURS {weight: 1}]->(c)")
    for example in queries:
        records, _, _ = neo4j_driver.execute_query(example.query.removesuffix(";"))
        assert records, example.title
    (covered,) = [e for e in queries if "least covered" in e.title.lower()]
    records, _, _ = neo4j_driver.execute_query(covered.query.removesuffix(";"))
    assert [r[0] for r in records] == ["enzyme", "heat", "entropy"]  # by visits: 0, 1, 3


def test_start_brings_back_a_stopped_guide_on_its_port(neo4j_server: LocalNeo4j) -> None:
    """The running Neo4j names the guide's address in its post-connect command, so a guide
    server that went away comes back on the same port."""
    url, pid = neo4j_server.guide_url, int(neo4j_server.guide_pid_file.read_text())
    process.stop_pid(pid, timeout=10)
    assert neo4j_server.status()["guide_url"] is None
    neo4j_server.start()
    assert neo4j_server.status()["guide_url"] == url and int(neo4j_server.guide_pid_file.read_text()) != pid
    assert _get(url)[0] == 200


def test_neo4j_browser_is_served(neo4j_server: LocalNeo4j) -> None:
    with urllib.request.urlopen(f"{neo4j_server.http_url}/browser/", timeout=30) as response:
        assert response.status == 200
        page = response.read().decode("utf-8", errors="replace")
    assert "<title>Neo4j Browser</title>" in page


def test_fetch_jars_is_idempotent_without_maven(neo4j_server: LocalNeo4j, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn: a complete cache must not need it
    lib = neo4j_server.fetch_jars()
    assert lib == neo4j_server.jar_cache
    assert (lib / "neo4j-5.26.30.jar").is_file()
    assert any(lib.glob("neo4j-browser-*.jar"))


def test_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKSYN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINKSYN_NEO4J__BOLT_PORT", "17001")
    monkeypatch.setenv("LINKSYN_NEO4J__PASSWORD", "from-the-environment")
    monkeypatch.setenv("LINKSYN_JAR_CACHE", str(tmp_path / "jars"))
    server = LocalNeo4j.from_settings(LinkSynSettings())
    assert server.home == tmp_path / "neo4j"
    assert server.uri == "bolt://127.0.0.1:17001"
    assert server.http_url == "http://127.0.0.1:7474"
    assert server.password == "from-the-environment"
    assert server.jar_cache == tmp_path / "jars"
    assert "from-the-environment" not in repr(server)


# -- servers of their own -----------------------------------------------------------------

def test_stop_then_start_again_keeps_the_data(tmp_path: Path) -> None:
    server = make_local_neo4j(tmp_path / "home")
    try:
        server.start(timeout=240)
        password = server.password
        with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, password)) as driver:
            driver.execute_query("CREATE (:Seed {seed_id: $id})", id="s-1")
        pid = server.status()["pid"]
        guide_pid, guide_url = int(server.guide_pid_file.read_text()), server.status()["guide_url"]
        assert _get(guide_url)[0] == 200

        server.stop()
        assert not process.pid_alive(pid)
        assert not server.pid_file.exists()
        # the guide server stops with Neo4j
        assert not process.pid_alive(guide_pid) and not server.guide_pid_file.exists()
        assert not process.port_open("127.0.0.1", int(guide_url.split(":")[2].split("/")[0]))
        assert not process.port_open("127.0.0.1", server.bolt_port)
        assert not process.port_open("127.0.0.1", server.http_port)
        assert server.status()["running"] is False and server.status()["pid"] is None
        assert server.status()["guide_url"] is None
        server.stop()  # stopping a stopped server is fine

        # the first stop left a class archive in the jar cache (or found one) and this start maps it
        assert list(server.jar_cache.glob(".cds-*.jsa"))
        server.start(timeout=240)
        cmdline = Path(f"/proc/{server.status()['pid']}/cmdline").read_bytes().decode()
        assert "-XX:SharedArchiveFile=" in cmdline
        assert server.password == password
        with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, password)) as driver:
            records, _, _ = driver.execute_query("MATCH (s:Seed) RETURN s.seed_id AS id")
        assert [record["id"] for record in records] == ["s-1"]
        assert server.status()["running"] is True
    finally:
        server.stop()
    assert not server.status()["running"]


def test_taken_bolt_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = _unused_server(tmp_path, bolt_port=port)
        with pytest.raises(process.ServiceError) as caught:
            server.start()
    message = str(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message and "LINKSYN_NEO4J__BOLT_PORT" in message
    assert not server.pid_file.exists()


# -- one-line errors when a tool is missing -----------------------------------------------

def test_missing_java_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tool(tmp_path / "bin", "mvn", "exit 0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(process.ServiceError) as caught:
        _unused_server(tmp_path).start()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Java 17+ not found on PATH")
    assert "openjdk-17" in message and "LINKSYN_NEO4J__URI" in message


def test_too_old_java_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tool(tmp_path / "bin", "java", "echo 'openjdk version \"11.0.22\" 2024-01-16' >&2")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(process.ServiceError, match=r"Java 11 .* too old .* Java 17\+") as caught:
        _unused_server(tmp_path).start()
    assert "\n" not in str(caught.value)


def test_missing_maven_with_an_empty_jar_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tool(tmp_path / "bin", "java", "echo 'openjdk version \"17.0.15\" 2025-04-15' >&2")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(process.ServiceError) as caught:
        _unused_server(tmp_path, jar_cache=tmp_path / "jars").start()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Maven (mvn) not found on PATH") and "apt-get install maven" in message


def test_failing_maven_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_tool(tmp_path / "bin", "mvn",
               "echo '[ERROR] Failed to execute goal on project x: Could not resolve dependencies'; "
               "echo '[ERROR] Re-run Maven using the -X switch'; exit 1")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    server = _unused_server(tmp_path, jar_cache=tmp_path / "jars")
    with pytest.raises(process.ServiceError) as caught:
        server.fetch_jars()
    message = str(caught.value)
    assert "\n" not in message
    assert "mvn could not fetch Neo4j 5.26.30 jars" in message and "Could not resolve dependencies" in message
    assert not (tmp_path / "jars" / ".complete").exists()


def test_truncated_class_archive_is_never_used(neo4j_server: LocalNeo4j, tmp_path: Path) -> None:
    # a JVM killed while writing its archive leaves a file that would crash the next JVM mapping it
    lib = tmp_path / "lib"
    lib.mkdir()
    for jar in neo4j_server.jar_cache.glob("*.jar"):
        (lib / jar.name).symlink_to(jar)
    server = _unused_server(tmp_path, jar_cache=lib)
    server._cds_dump.parent.mkdir(parents=True)
    server._cds_dump.write_bytes(b"\0" * 4096)
    java, java_id = server._java()
    server._promote_cds_dump(java, java_id, lib)
    assert not server._cds_dump.exists()
    assert not server._cds_archive(java_id).exists()
    assert server._cds_options(java_id) == []  # and no dump is attempted again


def test_password_starting_with_a_dash_and_holding_quotes_is_set(tmp_path: Path) -> None:
    """neo4j-admin reads the initial password from a picocli @file: a generated password
    starts with '-' about once in 64 and must not be taken for an option."""
    password = '-x "quoted" back\\slash'
    bolt_port, http_port = free_ports(2)
    server = LocalNeo4j(tmp_path / "home", version=Neo4jSettings().version, bolt_port=bolt_port,
                        http_port=http_port, heap=TEST_HEAP, pagecache=TEST_PAGECACHE, password=password)
    try:
        server.start(timeout=240)
        with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, password)) as driver:
            records, _, _ = driver.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1
    finally:
        server.stop()

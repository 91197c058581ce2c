"""The standard-library engine reader (unix:// engines) against a fake engine on a Unix socket."""
import http.server
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import urllib.parse

import pytest
from docker import utils as docker_utils

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import client as dclient, engine_http

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", ".collections"))


def _unversioned(path):
    # the SDK's requests carry /vX.Y; ours are unversioned
    return "/" + path.split("/", 2)[2] if path.startswith("/v1.") else path


class EngineHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.connections += 1

    def _reply(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # pylint: disable=invalid-name
        parsed = urllib.parse.urlsplit(self.path)
        self.server.requests.append((parsed.path, dict(urllib.parse.parse_qsl(parsed.query))))
        status, body = self.server.routes.get(parsed.path, (404, {"message": "page not found"}))
        self._reply(status, json.dumps(body).encode())
        if self.server.close_after_each:
            # like an engine dropping an idle kept-alive connection, without saying so
            self.close_connection = True

    def _write(self):
        """POST/DELETE: recorded in ``writes``; answered from ``routes`` by the unversioned path (204 by default)."""
        parsed = urllib.parse.urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw) if self.headers.get("Content-Type") == "application/json" and raw else raw
        self.server.writes.append((self.command, parsed.path, urllib.parse.parse_qsl(parsed.query), body))
        status, answer = self.server.routes.get(_unversioned(parsed.path), (204, None))
        self._reply(status, answer if isinstance(answer, bytes) else (json.dumps(answer).encode() if answer is not None else b""))

    do_POST = do_DELETE = _write  # noqa: N815  # pylint: disable=invalid-name

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


class FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """GET path -> (status, body) from ``routes``; records every request and connection."""
    daemon_threads = True

    def __init__(self, path):
        self.routes = {}
        self.requests = []
        self.writes = []
        self.connections = 0
        self.close_after_each = False
        super().__init__(path, EngineHandler)


@pytest.fixture
def engine(tmp_path):
    path = str(tmp_path / "docker.sock")
    server = FakeEngine(path)
    server.routes["/version"] = (200, {"Version": "20.10.24", "ApiVersion": "1.41"})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, path
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("filters", [
    {"label": "hybridops.fleet.stack=web"},
    {"label": ["a=b", "c"], "name": ["x"]},
    {"dangling": True, "until": 10},
])
def test_filters_are_encoded_like_the_sdk(filters):
    assert engine_http.convert_filters(filters) == docker_utils.convert_filters(filters)


@pytest.mark.parametrize("ref", [
    "busybox", "busybox:1", "busybox:", "library/busybox:1.36", "localhost:5000/a/b", "localhost:5000/a/b:tag",
    "reg.example:5000/team/web@sha256:" + "a" * 64, "web@sha256:abc", "host:5000/x:y@sha256:abc",
])
def test_split_image_ref_is_the_sdks_parse(ref):
    repo, tag = docker_utils.parse_repository_tag(ref)
    assert dclient.split_image_ref(ref) == (repo, tag or "latest")


def test_split_image_ref_cases():
    assert dclient.split_image_ref("busybox") == ("busybox", "latest")
    assert dclient.split_image_ref("busybox:1") == ("busybox", "1")
    assert dclient.split_image_ref("localhost:5000/a/b") == ("localhost:5000/a/b", "latest")
    assert dclient.split_image_ref("localhost:5000/a/b:tag") == ("localhost:5000/a/b", "tag")
    assert dclient.split_image_ref("repo@sha256:abc") == ("repo", "sha256:abc")


def test_read_calls_send_the_sdks_query(engine):
    server, path = engine
    server.routes.update({
        "/containers/json": (200, [{"Id": "0123456789abcdef", "Names": ["/web"]}]),
        "/containers/web/json": (200, {"Id": "0123456789abcdef"}),
        "/images/localhost:5000/team/web:2/json": (200, {"Id": "sha256:1"}),
        "/networks": (200, [{"Name": "bridge"}]),
        "/networks/front": (200, {"Name": "front"}),
        "/volumes": (200, {"Volumes": [], "Warnings": None}),
        "/volumes/data": (200, {"Name": "data"}),
        "/images/json": (200, [{"Id": "sha256:1"}]),
    })
    reader = engine_http.UnixEngineHTTP(path, timeout=5)
    assert reader.containers(all=True, filters={"label": "s=1"}) == [{"Id": "0123456789abcdef", "Names": ["/web"]}]
    assert server.requests[-1] == ("/containers/json", {"limit": "-1", "all": "1", "size": "0", "trunc_cmd": "0",
                                                        "filters": '{"label": ["s=1"]}'})
    assert reader.containers(quiet=True) == [{"Id": "0123456789abcdef"}]
    assert server.requests[-1][1]["all"] == "0" and "filters" not in server.requests[-1][1]
    assert reader.inspect_container({"Id": "web"}) == {"Id": "0123456789abcdef"}
    assert reader.inspect_image("localhost:5000/team/web:2") == {"Id": "sha256:1"}
    assert reader.networks(names=["front"]) == [{"Name": "bridge"}]
    assert server.requests[-1] == ("/networks", {"filters": '{"name": ["front"]}'})
    assert reader.inspect_network("front") == {"Name": "front"}
    assert server.requests[-1] == ("/networks/front", {})
    assert reader.volumes(filters={"label": "s=1"})["Volumes"] == []
    assert server.requests[-1] == ("/volumes", {"filters": '{"label": ["s=1"]}'})
    assert reader.volumes() == {"Volumes": [], "Warnings": None} and server.requests[-1] == ("/volumes", {})
    assert reader.inspect_volume("data") == {"Name": "data"}
    assert reader.images(quiet=True) == ["sha256:1"]
    assert reader.version()["ApiVersion"] == "1.41"
    server.routes["/containers/web/stats"] = (200, {"memory_stats": {"usage": 1}})
    assert reader.stats("web", stream=False, one_shot=True) == {"memory_stats": {"usage": 1}}
    assert server.requests[-1] == ("/containers/web/stats", {"stream": "false", "one-shot": "true"})
    with pytest.raises(ValueError, match="stream=False"):
        reader.stats("web")
    # one kept-alive connection for all of it
    assert server.connections == 1


def test_errors_are_not_found_or_api_errors_with_the_engines_message(engine):
    server, path = engine
    server.routes["/containers/gone/json"] = (404, {"message": "No such container: gone"})
    server.routes["/images/bad/json"] = (500, {"message": "layer does not exist"})
    client = dclient.EngineClient(engine_http.UnixEngineHTTP(path, timeout=5), "unix://" + path)
    with pytest.raises(engine_http.EngineNotFound) as info:
        client.api.inspect_container("gone")
    assert dclient.is_not_found(info.value)
    assert dclient.backend_error(client, "inspecting gone", info.value).msg == (
        "inspecting gone failed on unix://%s: No such container: gone" % path)
    with pytest.raises(engine_http.EngineAPIError) as info:
        client.api.inspect_image("bad")
    assert not dclient.is_not_found(info.value) and info.value.status_code == 500
    assert dclient.backend_error(client, "inspecting image bad", info.value).msg.endswith(": layer does not exist")
    assert not dclient.is_not_found(ValueError("x"))
    with pytest.raises(ValueError):
        client.api.inspect_container("")


def test_a_dropped_keepalive_connection_is_retried(engine):
    server, path = engine
    server.routes["/containers/json"] = (200, [])
    server.close_after_each = True
    reader = engine_http.UnixEngineHTTP(path, timeout=5)
    for attempt in range(3):
        assert reader.containers(all=True) == [], attempt
    assert server.connections == 3


def test_one_connection_per_thread(engine):
    server, path = engine
    server.routes["/containers/json"] = (200, [])
    reader = engine_http.UnixEngineHTTP(path, timeout=5)
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        for attempt in range(5):
            assert reader.containers() == [], attempt
    threads = [threading.Thread(target=work) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.requests) == 20 and server.connections == 4


def test_engine_api_routes_reads_to_the_reader_and_builds_the_sdk_once():
    class Reader:
        def containers(self, all=False):  # pylint: disable=redefined-builtin
            return ["read", all]

    class Sdk:
        def pull(self, cid):
            return ("pulled", cid)

        def _url(self, path):
            return "sdk" + path

    built = []
    lock = threading.Lock()

    def build():
        with lock:
            built.append(1)
        return Sdk()

    api = engine_http.EngineAPI(Reader(), build)
    assert api.containers(all=True) == ["read", True] and built == []
    threads = [threading.Thread(target=api.pull, args=("c%d" % index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert api.pull("c2") == ("pulled", "c2") and api._url("/x") == "sdk/x"
    assert built == [1]
    with pytest.raises(AttributeError):
        api.__deepcopy__  # noqa: B018  # pylint: disable=pointless-statement


def test_connect_checks_the_engine_answers(engine, tmp_path):
    path = engine[1]
    client = dclient.connect({"docker_host": "unix://" + path, "timeout": 5})
    assert isinstance(client.api, engine_http.EngineAPI) and client.hybridops_address == "unix://" + path
    # the legacy two-slash spelling names the same absolute socket
    legacy = dclient.connect({"docker_host": "unix:/" + path, "timeout": 5})
    assert legacy.api.http.socket_path == path
    # a socket nobody listens on
    dead = str(tmp_path / "dead.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(dead)
    try:
        with pytest.raises(BackendError) as info:
            dclient.connect({"docker_host": "unix://" + dead, "timeout": 5})
    finally:
        sock.close()
    assert str(info.value) == "cannot reach the Docker engine at unix://%s: connection refused" % dead
    with pytest.raises(BackendError) as info:
        dclient.connect({"docker_host": "unix://%s/missing.sock" % tmp_path, "timeout": 5})
    assert "socket not found" in str(info.value)


def _engine_bool(value):
    # how the engine reads a boolean query value (httputils.BoolValue)
    return value.strip().lower() not in ("", "0", "no", "false", "none")


def _normalized(writes):
    """Writes with the SDK's /vX.Y prefix gone and boolean query values read as the engine reads them."""
    result = []
    for method, path, query, body in writes:
        query = sorted((k, _engine_bool(v) if v in ("True", "False", "1", "0") else v) for k, v in query)
        result.append((method, _unversioned(path), query, body))
    return result


WRITE_CALLS = [
    ("create_container_from_config", ({"Image": "busybox", "Cmd": ["true"], "Hostname": None}, "web"), {}),
    ("start", ("web",), {}),
    ("stop", ("web",), {"timeout": 3}),
    ("stop", ("web",), {}),
    ("kill", ("web",), {"signal": "SIGTERM"}),
    ("kill", ("web",), {"signal": 9}),
    ("restart", ("web",), {"timeout": 4}),
    ("pause", ("web",), {}),
    ("unpause", ("web",), {}),
    ("rename", ("web", "web-old"), {}),
    ("remove_container", ("web",), {"force": True, "v": True}),
    ("remove_container", ("web",), {}),
    ("connect_container_to_network", ("web", "front"), {"aliases": ["a"], "ipv4_address": "10.0.0.5"}),
    ("connect_container_to_network", ("web", "front"), {"ipv6_address": "fd00::5"}),
    ("connect_container_to_network", ("web", "front"), {}),
    ("disconnect_container_from_network", ("web", "front"), {"force": True}),
    ("disconnect_container_from_network", ("web", "front"), {}),
    ("create_network", ("front",), {"driver": "bridge", "internal": True, "labels": {"a": "b"}, "options": None,
                                    "ipam": {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/24"}]}}),
    ("create_network", ("back",), {"driver": "bridge", "internal": False, "labels": None}),
    ("remove_network", ("front",), {}),
    ("create_volume", ("data",), {"driver": "local", "driver_opts": {"type": "tmpfs"}, "labels": {"a": "b"}}),
    ("create_volume", ("data",), {"driver": "local", "driver_opts": None, "labels": {}}),
    ("remove_volume", ("data",), {}),
    ("tag", ("sha256:1234", "team/web", "2"), {"force": True}),
    ("remove_image", ("team/web:2",), {"force": True}),
]


@pytest.mark.parametrize("name, args, kwargs", WRITE_CALLS, ids=["%s-%d" % (c[0], i) for i, c in enumerate(WRITE_CALLS)])
def test_write_calls_send_what_the_sdk_sends(engine, name, args, kwargs):
    """Each write call against the same fake engine through the SDK's APIClient and through ours: the same
    method, path, query (as the engine reads it) and JSON body."""
    import docker  # pylint: disable=import-outside-toplevel
    server, path = engine
    server.routes.update({"/containers/create": (201, {"Id": "abc", "Warnings": []}),
                          "/networks/create": (201, {"Id": "net1"}), "/volumes/create": (201, {"Name": "data"}),
                          "/images/team/web:2": (200, [{"Untagged": "team/web:2"}]),
                          "/images/sha256:1234/tag": (201, None)})
    sdk = docker.APIClient(base_url="unix://" + path, version="1.41", timeout=5)
    expected = getattr(sdk, name)(*args, **kwargs)
    ours = getattr(engine_http.UnixEngineHTTP(path, timeout=5), name)(*args, **kwargs)
    sdk_write, our_write = _normalized(server.writes)
    assert our_write == sdk_write
    assert ours == expected


def test_update_and_create_with_a_platform_go_over_http(engine):
    server, path = engine
    server.routes["/containers/create"] = (201, {"Id": "abc", "Warnings": []})
    server.routes["/containers/web/update"] = (200, {"Warnings": []})
    client = dclient.connect({"docker_host": "unix://" + path, "timeout": 5})
    assert dclient.create_container(client, {"Image": "busybox"}, "web", platform="linux/arm64")["Id"] == "abc"
    assert dclient.update_container(client, "web", {"Memory": 1024, "RestartPolicy": {"Name": "no"}}) == {"Warnings": []}
    assert server.writes == [
        ("POST", "/containers/create", [("name", "web"), ("platform", "linux/arm64")], {"Image": "busybox"}),
        ("POST", "/containers/web/update", [], {"Memory": 1024, "RestartPolicy": {"Name": "no"}})]
    assert client.api._sdk is None  # the SDK was never needed


def test_load_streams_the_archive_and_returns_its_messages(engine, tmp_path):
    server, path = engine
    archive = tmp_path / "images.tar"
    archive.write_bytes(b"x" * 70000)
    server.routes["/images/load"] = (200, b'{"stream":"Loaded image: web:1\\n"}\r\n{"stream":"Loaded image: web:2\\n"}\r\n')
    http = engine_http.UnixEngineHTTP(path, timeout=5)
    with open(archive, "rb") as handle:
        messages = http.load_image(handle)
    assert messages == [{"stream": "Loaded image: web:1\n"}, {"stream": "Loaded image: web:2\n"}]
    method, where, query, body = server.writes[-1]
    assert (method, where, query, body) == ("POST", "/images/load", [], b"x" * 70000)
    server.routes["/images/load"] = (500, {"message": "archive/tar: invalid tar header"})
    with open(archive, "rb") as handle, pytest.raises(engine_http.EngineAPIError, match="invalid tar header"):
        http.load_image(handle)


def test_the_sdk_is_built_on_the_first_pull_or_build(engine, monkeypatch):
    path = engine[1]
    built = []

    def api_client(host, scheme, params, pool_size, version):
        built.append((host, scheme, pool_size, version))
        return "sdk-client"
    monkeypatch.setattr(dclient, "_api_client", api_client)
    client = dclient.connect({"docker_host": "unix://" + path, "timeout": 5}, pool_size=12)
    assert client.api.version()["ApiVersion"] == "1.41" and built == []
    client.api.start("web")
    assert built == []
    assert client.api.sdk == "sdk-client"
    # the SDK is told the API version the engine reported (no second version request)
    assert built == [("unix://" + path, "unix", 12, "1.41")]


SCRIPT = """
import sys
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import client as dclient
client = dclient.connect({"docker_host": sys.argv[1], "timeout": 5})
assert client.api.containers(all=True) == []
try:
    client.api.inspect_image("missing")
except Exception as exc:
    assert dclient.is_not_found(exc), exc
print(sorted(m for m in sys.modules if m == "docker" or m.startswith(("docker.", "requests", "paramiko"))))
"""


def test_reads_on_a_unix_engine_do_not_import_the_sdk(engine):
    server, path = engine
    server.routes["/containers/json"] = (200, [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (COLLECTIONS, os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, "-c", SCRIPT, "unix://" + path], env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "[]"

"""Shared fixtures and helpers of the container integration tests (no tests here).

Images are built locally from Debian's static busybox (no registry is reachable):
``hybridops-test/web:1`` and ``:2`` serve "web v1"/"web v2" on :8080 with a
HEALTHCHECK, ``hybridops-test/box:1`` is a plain shell image.
"""
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.request

import docker
import lab
import pytest

PREFIX = "hybridops-it-"
BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "httpd", "wget", "sleep", "cat", "echo", "ls", "mkdir", "touch", "true", "false", "env", "id", "ps"]

IMAGES = {
    "hybridops-test/web:1": {"index": "web v1", "health": True},
    "hybridops-test/web:2": {"index": "web v2", "health": True},
    "hybridops-test/box:1": {"index": "box", "health": False},
}


def _rootfs_tar(index_text):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for directory in ("bin", "www", "tmp", "data", "etc"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory in ("tmp", "data") else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo("bin/" + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for name, text in (("www/index.html", index_text + "\n"),
                           ("etc/passwd", "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"),
                           ("etc/group", "root:x:0:\nnogroup:x:65534:\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def dockerfile(health):
    """The test image's Dockerfile: its process stops on SIGTERM (lab.exit_on_term); commands given in a
    spec still run bare."""
    lines = ["FROM scratch", "ADD rootfs.tar /", "ENV LANG=C.UTF-8", "LABEL org.hybridops.test=image-label",
             "EXPOSE 8080", "WORKDIR /www"]
    if health:
        lines.append("HEALTHCHECK --interval=1s --timeout=2s --retries=3 "
                     "CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1")
        lines.append("CMD " + json.dumps(lab.exit_on_term(lab.HTTPD)))
    else:
        lines.append("CMD " + json.dumps(lab.exit_on_term("sleep 3600")))
    return "\n".join(lines) + "\n"


def build_context(index_text, health, extra_files=None):
    """A docker build context (tar bytes) for one test image."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        files = {"Dockerfile": dockerfile(health).encode(), "rootfs.tar": _rootfs_tar(index_text)}
        files.update(extra_files or {})
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_image(client, tag, index_text, health):
    context = build_context(index_text, health)
    stream = client.api.build(fileobj=io.BytesIO(context), custom_context=True, tag=tag, rm=True, decode=True)
    for chunk in stream:
        if "error" in chunk:
            raise AssertionError("building %s failed: %s" % (tag, chunk["error"]))
    return client.api.inspect_image(tag)


@pytest.fixture(scope="session")
def docker_client(lab_env):
    client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST", "unix:///run/hybridops-lab/docker.sock"),
                                 version="auto")
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_images(docker_client):
    """Builds the local test images once per session (cached by the legacy builder).

    Each test session (scripts/test runs three) asks for them; the lock makes the later builds cache hits (same
    image IDs), so a tag never moves under a container another session is comparing."""
    result = {}
    with lab.held_lock("test-images"):
        for tag, meta in IMAGES.items():
            result[tag] = build_image(docker_client, tag, meta["index"], meta["health"])
    return result


def remove_prefixed(client):
    """Remove every container, network and volume whose name starts with the test prefix."""
    for item in client.api.containers(all=True):
        if any(name.lstrip("/").startswith(PREFIX) for name in item["Names"]):
            try:
                client.api.remove_container(item["Id"], force=True, v=True)
            except docker.errors.NotFound:
                pass
    for net in client.api.networks():
        if net["Name"].startswith(PREFIX):
            try:
                client.api.remove_network(net["Id"])
            except docker.errors.APIError:
                pass
    for vol in (client.api.volumes().get("Volumes") or []):
        if vol["Name"].startswith(PREFIX):
            try:
                client.api.remove_volume(vol["Name"], force=True)
            except docker.errors.APIError:
                pass


@pytest.fixture
def clean(docker_client, test_images):
    """Start and finish each test with no hybridops-it-* containers/networks/volumes (also on failure)."""
    remove_prefixed(docker_client)
    yield docker_client
    remove_prefixed(docker_client)


def inspect(client, name):
    try:
        return client.api.inspect_container(name)
    except docker.errors.NotFound:
        return None


def container_ip(data, network=None):
    nets = data["NetworkSettings"]["Networks"]
    net = nets[network] if network else list(nets.values())[0]
    return net["IPAddress"]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode().strip()


def http_get_retry(url, attempts=20):
    """GET with retries while a freshly started server comes up (no timing assertion)."""
    last = None
    for _attempt in range(attempts):
        try:
            return http_get(url)
        except Exception as exc:  # noqa: BLE001 - retried, reported below
            last = exc
            time.sleep(0.5)
    raise AssertionError("GET %s failed: %s" % (url, last))


def dump(result):
    return json.dumps(result, indent=1, default=str)[:4000]


COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0] or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", ".collections")
# runs the module file as Ansible would run its code (args from a file), then reports
# which Docker SDK modules the process imported
SDK_PROBE = """
import atexit, runpy, sys
def report():
    sys.stderr.write("SDK_MODULES=%s\\n" % sorted(m for m in sys.modules if m == "docker" or m.startswith("docker.")))
atexit.register(report)
sys.argv = [sys.argv[1], sys.argv[2]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_module_file(tmp_path, module, args):
    """(result, SDK modules imported) of one of our modules run as a plain process (no Ansible wrapper)."""
    path = tmp_path / ("%s-args.json" % module)
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    source = os.path.join(COLLECTIONS, "ansible_collections", "hybridops", "fleet", "plugins", "modules",
                          module + ".py")
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, "-c", SDK_PROBE, source, str(path)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    marker = [line for line in proc.stderr.splitlines() if line.startswith("SDK_MODULES=")]
    assert marker, proc.stderr
    return json.loads(proc.stdout), marker[0].split("=", 1)[1]

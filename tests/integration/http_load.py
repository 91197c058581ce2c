"""What the tests and the bench of gapless changes (rollouts, reloads) share: a bounded HTTP client loop that
runs beside the change and records every answer and every failed request, and an HAProxy process configured
from container_deploy's own template. No pytest here: bench/rollout_bench.py imports it too."""
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import jinja2

ROLE_TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles", "container_deploy",
                             "templates", "haproxy.cfg.j2")


class Load(threading.Thread):
    """HTTP GETs through the proxy in a loop (a new connection each) until stopped; records bodies and errors.

    ``interval``: the pause between requests (0.02: at most ~50 a second, so that the client does not starve
    the change of CPU). A request fails when it gets an error or no complete answer within ``timeout`` seconds;
    ``slowest`` is the longest time an answer took (a TCG guest busy starting a container answers late, not
    never)."""

    def __init__(self, url, interval=0.02, timeout=10):
        super().__init__(daemon=True)
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.bodies = []
        self.errors = []
        self.slowest = 0.0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(self.interval):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout) as response:
                    self.bodies.append(response.read().decode().strip())
            except Exception as exc:  # pylint: disable=broad-except
                self.errors.append("%s after %.1fs" % (repr(exc), time.monotonic() - started))
            self.slowest = max(self.slowest, time.monotonic() - started)

    def __enter__(self):
        self.start()
        # at least one answer before the change starts
        while not self.bodies and not self.errors:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(30)
        print("load: %d answers, %d errors, slowest %.1fs, versions %s"
              % (len(self.bodies), len(self.errors), self.slowest, self.versions()))
        return False

    def versions(self):
        """The distinct answers in the order they first came."""
        seen = []
        for body in self.bodies:
            if not seen or seen[-1] != body:
                seen.append(body)
        return seen


def free_ports(count):
    socks = [socket.socket() for index in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for sock in socks:
        sock.close()
    return ports


def start_haproxy(tmp, service):
    """HAProxy from the role's template (rendered with Jinja, as its unit test does): a frontend on 127.0.0.1,
    backend ``service`` with the slots blue and green; a process of this test (master-worker, foreground)."""
    assert shutil.which("haproxy"), "haproxy is not installed (scripts/setup.sh installs Debian's package)"
    public, blue, green = free_ports(3)
    cfg, sock, state = str(tmp / "haproxy.cfg"), str(tmp / "admin.sock"), str(tmp / "server-state")
    with open(ROLE_TEMPLATE) as handle:
        template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(handle.read())
    text = template.render(
        container_deploy_proxy_user="", container_deploy_proxy_socket=sock, container_deploy_proxy_state_file=state,
        container_deploy_proxy_timeouts={"connect": "2s", "client": "30s", "server": "30s"},
        container_deploy_proxy_global_extra=["pidfile %s" % (tmp / "haproxy.pid")],
        container_deploy_proxy_services=[{"name": service, "bind": "127.0.0.1", "public_port": public,
                                          "slot_ports": [blue, green], "check_interval": "1s"}])
    with open(cfg, "w") as handle:
        handle.write(text)
    subprocess.run(["haproxy", "-c", "-q", "-f", cfg], check=True)
    log = open(tmp / "haproxy.log", "w")  # pylint: disable=consider-using-with
    # master-worker mode, in the foreground: this process is its parent and reaps it
    proc = subprocess.Popen(["haproxy", "-W", "-db", "-f", cfg], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while not os.path.exists(sock):
        assert proc.poll() is None and time.time() < deadline, (tmp / "haproxy.log").read_text()
        time.sleep(0.1)
    return {"proc": proc, "socket": sock, "state_file": state, "url": "http://127.0.0.1:%d/" % public,
            "slots": {"blue": blue, "green": green}, "log": tmp / "haproxy.log", "log_handle": log, "service": service}


def stop_haproxy(proxy):
    proxy["proc"].send_signal(signal.SIGTERM)
    try:
        proxy["proc"].wait(20)
    except subprocess.TimeoutExpired:
        proxy["proc"].kill()
        proxy["proc"].wait(10)
    proxy["log_handle"].close()

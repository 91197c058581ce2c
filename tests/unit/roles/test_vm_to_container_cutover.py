"""The cut-over the vm_to_container role runs on the VM (files/cutover.py): the gap runs from the first
refused connection to the first accepted one after it, measured against a real listening socket that is
closed and opened again, and with a scripted probe and clock for the exact arithmetic; the stop and the
start run while the watcher samples, and a failed step ends the watch at once with the error."""
import http.server
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                      "roles", "vm_to_container", "files", "cutover.py")
spec = importlib.util.spec_from_file_location("cutover", SCRIPT)
cutover = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cutover)


class ScriptedClock:
    """Each probe costs 0.1 s; sleep adds the interval."""

    def __init__(self, answers):
        self.now, self.answers = 0.0, list(answers)

    def clock(self):
        return self.now

    def probe(self, _host, _port):
        self.now += 0.1
        return self.answers.pop(0)

    def sleep(self, seconds):
        self.now += seconds


def test_gap_from_first_refusal_to_first_answer():
    script = ScriptedClock([True, True, False, False, False, True, True])
    result = cutover.watch("127.0.0.1", 1, 60, probe=script.probe, clock=script.clock, sleep=script.sleep)
    step = 0.1 + cutover.INTERVAL_S
    assert result["closed"] and result["reopened"] and result["samples"] == 6
    assert abs(result["gap_s"] - 3 * step) < 1e-6 and abs(result["closed_after_s"] - 2 * step) < 1e-6


def test_a_port_that_never_closes_or_never_reopens_ends_at_the_deadline():
    never_closed = ScriptedClock([True] * 100)
    result = cutover.watch("127.0.0.1", 1, 1.0, probe=never_closed.probe, clock=never_closed.clock,
                           sleep=never_closed.sleep)
    assert result == {"closed": False, "reopened": False, "gap_s": 0.0, "closed_after_s": None,
                      "samples": result["samples"]} and 1 < result["samples"] < 100
    never_reopened = ScriptedClock([True] + [False] * 100)
    result = cutover.watch("127.0.0.1", 1, 1.0, probe=never_reopened.probe, clock=never_reopened.clock,
                           sleep=never_reopened.sleep)
    assert result["closed"] and not result["reopened"] and result["gap_s"] > 0.5


def test_a_real_port_closed_and_opened_again():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    watcher = subprocess.Popen([sys.executable, "-c", open(SCRIPT).read(), "--host", "127.0.0.1", "--port", str(port),
                                "--deadline", "30"], stdout=subprocess.PIPE, text=True)
    stop = threading.Event()

    def accept_all(sock):
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                sock.accept()[0].close()
            except OSError:
                pass

    server = threading.Thread(target=accept_all, args=(listener,))
    server.start()
    time.sleep(0.5)
    stop.set()
    server.join()
    listener.close()  # the unit stops
    time.sleep(0.6)
    reopened = socket.socket()  # the container starts on the same port
    reopened.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reopened.bind(("127.0.0.1", port))
    reopened.listen(8)
    try:
        out = watcher.communicate(timeout=30)[0]
    finally:
        reopened.close()
    result = json.loads(out)
    assert result["closed"] and result["reopened"], result
    # closed for the 0.6 s sleep, give or take a sample interval (and this host's scheduling)
    assert result["gap_s"] >= 0.6 - cutover.INTERVAL_S - 0.05, result
    assert result["closed_after_s"] >= 0.4, result


def test_http_mode_counts_an_accepted_connection_without_an_answer_as_closed():
    """What Docker's userland proxy does while the application in a just-started container is not up yet."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    stop = threading.Event()

    def accept_and_hang_up():
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                silent.accept()[0].close()
            except OSError:
                pass

    thread = threading.Thread(target=accept_and_hang_up)
    thread.start()
    try:
        assert cutover.accepts("127.0.0.1", port)
        assert not cutover.http_answers("/")("127.0.0.1", port)
    finally:
        stop.set()
        thread.join()
        silent.close()

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        assert cutover.http_answers("/")("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_cut_over_runs_the_steps_while_the_watcher_samples():
    order = []
    result = cutover.cut_over(lambda: order.append("watch") or {"closed": True, "reopened": True, "gap_s": 0.1},
                              stop=lambda: order.append("stop"), start=lambda: order.append("start"))
    assert sorted(order) == ["start", "stop", "watch"] and order.index("stop") < order.index("start")
    assert result["gap_s"] == 0.1 and set(result["steps"]) == {"stop", "start"}
    assert result["steps"]["stop"]["error"] is None and result["steps"]["stop"]["s"] >= 0
    # a failed stop: no start
    result = cutover.cut_over(lambda: {}, stop=lambda: "systemctl said no", start=lambda: order.append("again"))
    assert result["steps"] == {"stop": {"s": result["steps"]["stop"]["s"], "error": "systemctl said no"}}
    assert "again" not in order


def test_an_engine_that_is_not_there_is_named(tmp_path):
    error = cutover.start_container(str(tmp_path / "docker.sock"), "web", timeout=2)
    assert error.startswith("cannot reach the engine at %s" % (tmp_path / "docker.sock")), error


def test_a_failed_start_ends_the_watch_and_the_script_fails(tmp_path):
    """A port nobody listens on and an engine that is not there: exit 1 at once (not at the deadline), the
    error on stderr and in the JSON, no gap claimed."""
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", open(SCRIPT).read(), "--host", "127.0.0.1", "--port", str(port),
                           "--deadline", "300", "--start-container", "web", "--docker-socket",
                           str(tmp_path / "docker.sock")], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done
    result = json.loads(done.stdout)
    assert result["reopened"] is False and result["gap_s"] is None
    assert "cannot reach the engine" in result["steps"]["start"]["error"] and "cannot reach the engine" in done.stderr
    assert time.monotonic() - began < 300  # ended by the failure, not by the deadline


def test_cleanup_runs_only_after_the_port_answered_again(tmp_path):
    copy = tmp_path / "data"
    (copy / "srv").mkdir(parents=True)
    removed = []
    cleanup = [("remove", lambda: removed.append("candidate")), ("drop", lambda: cutover.drop_path(str(copy)))]
    result = cutover.cut_over(lambda: {"reopened": False}, stop=lambda: None, start=lambda: None, cleanup=cleanup)
    assert removed == [] and copy.exists() and set(result["steps"]) == {"stop", "start"}
    result = cutover.cut_over(lambda: {"reopened": True}, stop=lambda: None, start=lambda: "refused", cleanup=cleanup)
    assert removed == [] and copy.exists()
    result = cutover.cut_over(lambda: {"reopened": True}, stop=lambda: None, start=lambda: None, cleanup=cleanup)
    assert removed == ["candidate"] and not copy.exists()
    assert [result["steps"][name]["error"] for name in ("stop", "start", "remove", "drop")] == [None] * 4
    assert cutover.drop_path(str(copy)) is None  # already gone is done

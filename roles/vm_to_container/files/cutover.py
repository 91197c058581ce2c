"""cutover.py: the cut-over of the vm_to_container role, run on the VM, and how long the port did not answer.

    cutover.py --host H --port P --deadline S [--http-path PATH] [--stop-unit UNIT]
               [--start-container NAME --docker-socket SOCKET] [--remove-container NAME] [--drop-path PATH]

A watcher thread tries H:P every 20 ms. With --stop-unit the script then stops and disables the unit
(`systemctl disable --now`) and, with --start-container, starts the already created container through the
Docker Engine API on SOCKET, all in this one process: no task round trip between the stop and the start.
Once the port answers again it removes the container --remove-container names (the candidate) and the
directory --drop-path names (the candidate's copy of the data). It prints one JSON object (exit 1 when a
step failed, or the port did not answer again before the deadline). With --http-path an answer is an HTTP status line for a GET of that path
(Docker's userland proxy accepts connections as soon as a container starts, before the application in it
listens, so an accepted connection alone would hide part of the gap); without it, an accepted TCP
connection (closed at once, nothing sent). Standard library only.
"""
import argparse
import http.client
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

INTERVAL_S = 0.02
CONNECT_TIMEOUT_S = 0.5


def accepts(host, port):
    try:
        socket.create_connection((host, port), CONNECT_TIMEOUT_S).close()
        return True
    except OSError:
        return False


def http_answers(path):
    request = ("GET %s HTTP/1.0\r\nConnection: close\r\n\r\n" % path).encode()

    def probe(host, port):
        try:
            with socket.create_connection((host, port), CONNECT_TIMEOUT_S) as conn:
                conn.settimeout(CONNECT_TIMEOUT_S * 4)
                conn.sendall(request)
                return conn.recv(5) == b"HTTP/"
        except OSError:
            return False
    return probe


def watch(host, port, deadline_s, probe=accepts, clock=time.monotonic, sleep=time.sleep):
    """Samples the port until it stopped answering and answers again, or until the deadline.

    The gap runs from the first failed sample to the first answered one after it; its error is one
    sample interval (plus a connect timeout when the port drops packets instead of refusing them).
    """
    started = clock()
    closed_at = None
    samples = 0
    while True:
        now = clock()
        ok = probe(host, port)
        samples += 1
        if not ok and closed_at is None:
            closed_at = now
        elif ok and closed_at is not None:
            return {"closed": True, "reopened": True, "gap_s": round(now - closed_at, 3),
                    "closed_after_s": round(closed_at - started, 3), "samples": samples}
        if now - started >= deadline_s:
            return {"closed": closed_at is not None, "reopened": False,
                    "gap_s": round(now - closed_at, 3) if closed_at is not None else 0.0,
                    "closed_after_s": round(closed_at - started, 3) if closed_at is not None else None,
                    "samples": samples}
        sleep(INTERVAL_S)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def start_container(socket_path, name, timeout=120):
    """POST /containers/NAME/start; None when it runs (204, or 304: already running), else the error."""
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request("POST", "/containers/%s/start" % urllib.parse.quote(name, safe=""), body=b"",
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        if response.status in (204, 304):
            return None
        try:
            body = json.loads(body).get("message", body)
        except ValueError:
            pass
        return "the engine answered %d: %s" % (response.status, body.strip())
    except OSError as exc:
        return "cannot reach the engine at %s: %s" % (socket_path, exc)
    finally:
        conn.close()


def remove_container(socket_path, name, timeout=120):
    """DELETE /containers/NAME?force=true; None when it is gone (or was not there), else the error."""
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request("DELETE", "/containers/%s?force=true" % urllib.parse.quote(name, safe=""))
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        return None if response.status in (204, 404) else "the engine answered %d: %s" % (response.status, body.strip())
    except OSError as exc:
        return "cannot reach the engine at %s: %s" % (socket_path, exc)
    finally:
        conn.close()


def drop_path(path):
    try:
        shutil.rmtree(path)
        return None
    except FileNotFoundError:
        return None
    except OSError as exc:
        return "cannot remove %s: %s" % (path, exc)


def stop_unit(unit):
    """systemctl disable --now UNIT; None when done, else the error."""
    done = subprocess.run(["systemctl", "disable", "--now", unit], capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else "systemctl disable --now %s: %s" % (unit, done.stderr.strip())


def _timed(steps, name, step, clock):
    began = clock()
    error = step()
    steps[name] = {"s": round(clock() - began, 3), "error": error}
    return error


def cut_over(watcher, stop=None, start=None, cleanup=(), clock=time.monotonic):
    """Runs watcher() on a thread, then stop() and start() (each None or a callable returning None or an
    error); once the watcher has seen the port answer again, the cleanup steps ((name, callable) pairs).
    The watcher's result with every step's duration and error; the first error ends the steps."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(watcher()))
    thread.start()
    time.sleep(INTERVAL_S * 2)  # the watcher's first sample sees the service still answering
    steps = {}
    failed = any(_timed(steps, name, step, clock) for name, step in (("stop", stop), ("start", start)) if step)
    thread.join()
    if not failed and result.get("reopened"):
        any(_timed(steps, name, step, clock) for name, step in cleanup)
    result["steps"] = steps
    return result


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deadline", type=float, required=True)
    parser.add_argument("--http-path")
    parser.add_argument("--stop-unit")
    parser.add_argument("--start-container")
    parser.add_argument("--docker-socket", default="/var/run/docker.sock")
    parser.add_argument("--remove-container")
    parser.add_argument("--drop-path")
    args = parser.parse_args(argv)
    probe = http_answers(args.http_path) if args.http_path else accepts
    stop = (lambda: stop_unit(args.stop_unit)) if args.stop_unit else None
    start = (lambda: start_container(args.docker_socket, args.start_container)) if args.start_container else None
    failed = {"error": False}

    def watcher():
        # a failed step ends the watch early: waiting out the deadline for a port that will not answer helps
        # nobody (the role rolls back)
        return watch(args.host, args.port, args.deadline, probe=lambda h, p: probe(h, p) or failed["error"])

    def guarded(step):
        def run():
            error = step()
            failed["error"] = failed["error"] or bool(error)
            return error
        return run

    cleanup = []
    if args.remove_container:
        cleanup.append(("remove", lambda: remove_container(args.docker_socket, args.remove_container)))
    if args.drop_path:
        cleanup.append(("drop", lambda: drop_path(args.drop_path)))
    result = cut_over(watcher, guarded(stop) if stop else None, guarded(start) if start else None, cleanup)
    errors = [step["error"] for step in result["steps"].values() if step["error"]]
    if failed["error"]:
        result.update(reopened=False, gap_s=None)
    elif not result.get("reopened"):
        errors.append("port %d did not answer again within %s s" % (args.port, args.deadline))
    if errors:
        sys.stderr.write("; ".join(errors) + "\n")
    print(json.dumps(result))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""port_gap.py HOST PORT DEADLINE_S [HTTP_PATH]: how long HOST:PORT stopped answering during a cut-over.

Run on the VM by the vm_to_container role (asynchronously, just before the unit stops): it tries the port
every 20 ms until it has stopped answering and answers again, or until DEADLINE_S seconds have passed, and
prints one JSON object. Standard library only. With HTTP_PATH an answer is an HTTP status line for a GET of
that path (Docker's userland proxy accepts connections as soon as the container starts, before the
application inside listens, so an accepted connection alone would hide part of the gap); without it, an
accepted TCP connection (closed at once, nothing sent).
"""
import json
import socket
import sys
import time

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
    """Samples the port until it closed and reopened, or until the deadline.

    The gap runs from the first refused sample to the first accepted one after it; its error is one
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


if __name__ == "__main__":
    PROBE = http_answers(sys.argv[4]) if len(sys.argv) > 4 else accepts
    print(json.dumps(watch(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), probe=PROBE)))

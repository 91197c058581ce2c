# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probes of a service from the host: one HTTP request (status and body) or one TCP connect.

``http_verdict`` and ``tcp_verdict`` are pure; ``probe_until`` repeats a probe until it
passes or its time is up and returns why it did not pass (None when it did).
"""

from __future__ import annotations

import http.client
import re
import socket
import time

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard

PROBE_TYPES = ("http", "tcp")
BODY_READ_LIMIT = 65536


def url_of(spec, host, port):
    if spec["type"] == "tcp":
        return "tcp://%s:%s" % (host, port)
    return "http://%s:%s%s" % (host, port, spec["path"])


def http_verdict(status, body, expected_status, body_pattern):
    """Why an HTTP answer fails the probe, or None when it passes."""
    if status not in expected_status:
        return "HTTP status %s (expected %s)" % (status, " or ".join(str(s) for s in expected_status))
    if body_pattern and not re.search(body_pattern, body or ""):
        snippet = (body or "").strip().replace("\n", " ")[:120]
        return "the body does not match %r (it begins %r)" % (body_pattern, snippet)
    return None


def http_once(host, port, spec):
    """One GET; returns a failure reason or None."""
    conn = http.client.HTTPConnection(host, port, timeout=spec["request_timeout"])
    try:
        headers = {"Connection": "close"}
        if spec.get("host_header"):
            headers["Host"] = spec["host_header"]
        conn.request("GET", spec["path"], headers=headers)
        response = conn.getresponse()
        body = response.read(BODY_READ_LIMIT).decode("utf-8", "replace")
        return http_verdict(response.status, body, spec["status"], spec.get("body"))
    except (OSError, http.client.HTTPException) as exc:
        return "request failed: %s" % (exc or type(exc).__name__)
    finally:
        conn.close()


def tcp_verdict(error):
    return None if error is None else "connect failed: %s" % error


def tcp_once(host, port, spec):
    try:
        sock = socket.create_connection((host, port), timeout=spec["request_timeout"])
    except OSError as exc:
        return tcp_verdict(exc)
    sock.close()
    return tcp_verdict(None)


def probe_until(spec, host, port, timeout, interval=1.0):
    """Probe until ``spec["successes"]`` passes in a row or ``timeout`` seconds; None or the last reason."""
    once = tcp_once if spec["type"] == "tcp" else http_once
    deadline = time.time() + timeout
    passed = 0
    while True:
        reason = once(host, port, spec)
        passed = passed + 1 if reason is None else 0
        if passed >= spec.get("successes", 1):
            return None
        if time.time() >= deadline:
            return reason or "only %d of %d probes in a row passed" % (passed, spec.get("successes", 1))
        guard.sleep(interval)

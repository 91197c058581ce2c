# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only Docker Engine calls over a Unix socket, with the standard library only.

Importing the Docker SDK (requests, urllib3, paramiko) costs more than a whole
no-op converge, so on a ``unix://`` engine the read calls the managers make go
through ``UnixEngineReader``: the same method names, arguments and return values
as ``docker.APIClient``, on unversioned API paths (the engine answers them with
its own API version, which is what the SDK's ``version="auto"`` picks).
``EngineAPI`` is what managers get as ``client.api``: read calls go to the
reader, every other call to the SDK's ``APIClient``, built on first use.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from urllib.parse import quote, urlencode

READ_CALLS = frozenset(("containers", "inspect_container", "images", "inspect_image", "networks",
                        "inspect_network", "volumes", "inspect_volume", "version", "stats"))


class EngineAPIError(Exception):
    """The engine answered a request with an error status (``explanation`` is its message)."""

    def __init__(self, status_code, explanation):
        super().__init__("%s engine error: %s" % (status_code, explanation))
        self.status_code = status_code
        self.explanation = explanation


class EngineNotFound(EngineAPIError):
    """404: no such container, image, network or volume."""


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except Exception:
            sock.close()
            raise
        self.sock = sock


def convert_filters(filters):
    """The engine's ``filters`` query value, as docker.utils.convert_filters encodes it."""
    result = {}
    for key, value in filters.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, list):
            value = [value]
        result[key] = [item if isinstance(item, str) else str(item) for item in value]
    return json.dumps(result)


def _resource(value):
    # like the SDK's check_resource: an id, a name, or a dict with Id/ID
    if isinstance(value, dict):
        value = value.get("Id", value.get("ID"))
    if not value:
        raise ValueError("Resource ID was not provided")
    return quote(value, safe="/:")


class UnixEngineReader:
    """GET requests to the engine at ``socket_path``; one keep-alive connection per thread."""

    def __init__(self, socket_path, timeout=60):
        self.socket_path = socket_path
        self.timeout = timeout
        self._local = threading.local()

    def _get(self, path, params=None):
        query = urlencode([(k, v) for k, v in (params or {}).items() if v is not None])
        url = path + ("?" + query if query else "")
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = _UnixHTTPConnection(self.socket_path, self.timeout)
            try:
                conn.request("GET", url, headers={"Accept": "application/json"})
                response = conn.getresponse()
                body = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # a kept-alive connection the engine has closed: one retry on a new one
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
            except Exception:
                conn.close()
                self._local.conn = None
                raise
        text = body.decode("utf-8", "replace")
        if response.status >= 400:
            try:
                message = json.loads(text).get("message") or text
            except (ValueError, AttributeError):
                message = text
            error = EngineNotFound if response.status == 404 else EngineAPIError
            raise error(response.status, message.strip() or response.reason)
        return json.loads(text) if text else None

    def close(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ docker.APIClient's read calls

    def containers(self, quiet=False, all=False, trunc=False, latest=False,  # pylint: disable=redefined-builtin
                   since=None, before=None, limit=-1, size=False, filters=None):
        params = {"limit": 1 if latest else limit, "all": 1 if all else 0, "size": 1 if size else 0,
                  "trunc_cmd": 1 if trunc else 0, "since": since, "before": before}
        if filters:
            params["filters"] = convert_filters(filters)
        result = self._get("/containers/json", params)
        if quiet:
            return [{"Id": item["Id"]} for item in result]
        if trunc:
            for item in result:
                item["Id"] = item["Id"][:12]
        return result

    def inspect_container(self, container):
        return self._get("/containers/%s/json" % _resource(container))

    def images(self, name=None, quiet=False, all=False, filters=None):  # pylint: disable=redefined-builtin
        params = {"only_ids": 1 if quiet else 0, "all": 1 if all else 0}
        if name:
            filters = dict(filters or {}, reference=name)
        if filters:
            params["filters"] = convert_filters(filters)
        result = self._get("/images/json", params)
        if quiet:
            return [item["Id"] for item in result]
        return result

    def inspect_image(self, image):
        return self._get("/images/%s/json" % _resource(image))

    def networks(self, names=None, ids=None, filters=None):
        filters = dict(filters or {})
        if names:
            filters["name"] = names
        if ids:
            filters["id"] = ids
        return self._get("/networks", {"filters": convert_filters(filters)})

    def inspect_network(self, net_id, verbose=None, scope=None):
        params = {"scope": scope}
        if verbose is not None:
            params["verbose"] = "true" if verbose else "false"
        return self._get("/networks/%s" % _resource(net_id), params)

    def volumes(self, filters=None):
        return self._get("/volumes", {"filters": convert_filters(filters) if filters else None})

    def inspect_volume(self, name):
        return self._get("/volumes/%s" % _resource(name))

    def version(self, api_version=True):  # pylint: disable=unused-argument
        return self._get("/version")

    def stats(self, container, decode=None, stream=True, one_shot=None):  # pylint: disable=unused-argument
        """One stats sample (``stream=False``, the only form the managers use; a stream is refused)."""
        if stream:
            raise ValueError("UnixEngineReader.stats reads one sample: call it with stream=False")
        params = {"stream": "false"}
        if one_shot is not None:
            params["one-shot"] = "true" if one_shot else "false"
        return self._get("/containers/%s/stats" % _resource(container), params)


class EngineAPI:
    """``client.api``: READ_CALLS go to ``reader``; anything else to ``build()``'s APIClient, built once on first use."""

    def __init__(self, reader, build):
        self.reader = reader
        self._build = build
        self._sdk = None
        self._lock = threading.Lock()

    @property
    def sdk(self):
        if self._sdk is None:
            with self._lock:
                if self._sdk is None:
                    self._sdk = self._build()
        return self._sdk

    def __getattr__(self, name):
        # only called for names this object does not have
        if name.startswith("__") or name in ("reader", "_build", "_sdk", "_lock"):
            raise AttributeError(name)
        if name in READ_CALLS:
            return getattr(self.reader, name)
        return getattr(self.sdk, name)

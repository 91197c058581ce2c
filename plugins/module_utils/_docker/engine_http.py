# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker Engine calls over a Unix socket, with the standard library only.

Importing the Docker SDK (requests, urllib3, paramiko) costs more than a whole
converge on a slow host (7 s of CPU on a TCG guest, against 0.5 s for Python
itself), so on a ``unix://`` engine every call the managers make but pull and
build goes through ``UnixEngineHTTP``: the same method names, arguments and
return values as ``docker.APIClient``, on unversioned API paths (the engine
answers them with its own API version, which is what the SDK's
``version="auto"`` picks). ``EngineAPI`` is what managers get as
``client.api``: those calls go to ``UnixEngineHTTP``, any other (pull, build)
to the SDK's ``APIClient``, built on first use.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
from urllib.parse import quote, urlencode

# the APIClient calls UnixEngineHTTP makes itself; everything else goes to the SDK
STDLIB_CALLS = frozenset(
    (
        "containers",
        "inspect_container",
        "images",
        "inspect_image",
        "networks",
        "inspect_network",
        "volumes",
        "inspect_volume",
        "version",
        "stats",
        "info",
        "plugins",
        "create_container_from_config",
        "start",
        "stop",
        "kill",
        "restart",
        "pause",
        "unpause",
        "rename",
        "remove_container",
        "connect_container_to_network",
        "disconnect_container_from_network",
        "create_network",
        "remove_network",
        "create_volume",
        "remove_volume",
        "tag",
        "remove_image",
        "load_image",
    )
)


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


def _answer(response, body):
    """The decoded JSON answer (None when empty); an error status raises EngineAPIError/EngineNotFound."""
    text = body.decode("utf-8", "replace")
    if response.status >= 400:
        try:
            message = json.loads(text).get("message") or text
        except (ValueError, AttributeError):
            message = text
        error = EngineNotFound if response.status == 404 else EngineAPIError
        raise error(response.status, message.strip() or response.reason)
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:  # a stream of JSON objects (docker load), or plain text
        return text


def _resource(value):
    # like the SDK's check_resource: an id, a name, or a dict with Id/ID
    if isinstance(value, dict):
        value = value.get("Id", value.get("ID"))
    if not value:
        raise ValueError("Resource ID was not provided")
    return quote(value, safe="/:")


def _url(path, params):
    """``path`` with the query of ``params`` (None values left out; booleans as the engine reads them: the SDK
    sends requests' "True"/"False", which it reads alike)."""
    pairs = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        pairs.append((key, ("1" if value else "0") if isinstance(value, bool) else value))
    query = urlencode(pairs)
    return path + ("?" + query if query else "")


def _json_body(data):
    # as the SDK's _post_json: top-level None values are left out
    if isinstance(data, dict):
        data = dict((k, v) for k, v in data.items() if v is not None)
    return json.dumps(data).encode("utf-8")


def _json_stream(text):
    """The JSON objects of a streamed answer (docker load's progress lines)."""
    decoder = json.JSONDecoder()
    items, index = [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return items
        item, index = decoder.raw_decode(text, index)
        items.append(item)


class UnixEngineHTTP:
    """Requests to the engine at ``socket_path``: reads on one keep-alive connection per thread, each write on a
    connection of its own (a write is never sent twice, and its timeout can be longer than the client's)."""

    def __init__(self, socket_path, timeout=60):
        self.socket_path = socket_path
        self.timeout = timeout
        self._local = threading.local()

    def _get(self, path, params=None):
        url = _url(path, params)
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
        return _answer(response, body)

    def _write(self, method, path, params=None, data=None, upload=None, timeout=None):
        """One write request; ``data`` is sent as JSON, ``upload`` (an open file) as the raw body."""
        url = _url(path, params)
        headers = {"Accept": "application/json"}
        if upload is not None:
            body = upload
            headers["Content-Type"] = "application/x-tar"
            headers["Content-Length"] = str(os.fstat(upload.fileno()).st_size - upload.tell())
        elif data is not None:
            body = _json_body(data)
            headers["Content-Type"] = "application/json"
        else:
            body = None
        conn = _UnixHTTPConnection(self.socket_path, timeout or self.timeout)
        try:
            conn.request(method, url, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        finally:
            conn.close()
        return _answer(response, answer)

    def _post(self, path, params=None, data=None, timeout=None):
        return self._write("POST", path, params, data, timeout=timeout)

    def _longer(self, seconds):
        # the SDK's stop/restart: the engine may take the stop timeout before it answers
        return (self.timeout or 60) + (seconds if seconds is not None else 10)

    # ------------------------------------------------------------------ docker.APIClient's read calls

    def containers(
        self,
        quiet=False,
        all=False,
        trunc=False,
        latest=False,  # pylint: disable=redefined-builtin
        since=None,
        before=None,
        limit=-1,
        size=False,
        filters=None,
    ):
        params = {
            "limit": 1 if latest else limit,
            "all": 1 if all else 0,
            "size": 1 if size else 0,
            "trunc_cmd": 1 if trunc else 0,
            "since": since,
            "before": before,
        }
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
            raise ValueError("UnixEngineHTTP.stats reads one sample: call it with stream=False")
        params = {"stream": "false"}
        if one_shot is not None:
            params["one-shot"] = "true" if one_shot else "false"
        return self._get("/containers/%s/stats" % _resource(container), params)

    def info(self):
        return self._get("/info")

    def plugins(self):
        return self._get("/plugins")

    # ------------------------------------------------------------------ docker.APIClient's write calls

    def create_container_from_config(self, config, name=None, platform=None):
        return self._post("/containers/create", {"name": name, "platform": platform}, config)

    def update_container_body(self, container, body):
        """POST /containers/{id}/update with an engine-format body (client.update_container)."""
        return self._post("/containers/%s/update" % _resource(container), data=body)

    def start(self, container):
        self._post("/containers/%s/start" % _resource(container))

    def stop(self, container, timeout=None):
        self._post("/containers/%s/stop" % _resource(container), {"t": timeout}, timeout=self._longer(timeout))

    def kill(self, container, signal=None):
        if signal is not None and not isinstance(signal, str):
            signal = int(signal)
        self._post("/containers/%s/kill" % _resource(container), {"signal": signal})

    def restart(self, container, timeout=10):
        self._post("/containers/%s/restart" % _resource(container), {"t": timeout}, timeout=self._longer(timeout))

    def pause(self, container):
        self._post("/containers/%s/pause" % _resource(container))

    def unpause(self, container):
        self._post("/containers/%s/unpause" % _resource(container))

    def rename(self, container, name):
        self._post("/containers/%s/rename" % _resource(container), {"name": name})

    def remove_container(self, container, v=False, link=False, force=False):  # pylint: disable=invalid-name
        self._write("DELETE", "/containers/%s" % _resource(container), {"v": v, "link": link, "force": force})

    def connect_container_to_network(
        self,
        container,
        net_id,
        ipv4_address=None,
        ipv6_address=None,
        aliases=None,
        links=None,
        link_local_ips=None,
        driver_opt=None,
        mac_address=None,
    ):
        endpoint = {}
        if aliases:
            endpoint["Aliases"] = aliases
        if links:
            pairs = links.items() if isinstance(links, dict) else links
            endpoint["Links"] = ["%s:%s" % (k, v) if v else k for k, v in sorted(pairs)]  # the SDK's normalize_links
        ipam = {}
        if ipv4_address:
            ipam["IPv4Address"] = ipv4_address
        if ipv6_address:
            ipam["IPv6Address"] = ipv6_address
        if link_local_ips is not None:
            ipam["LinkLocalIPs"] = link_local_ips
        if ipam:
            endpoint["IPAMConfig"] = ipam
        if mac_address:
            endpoint["MacAddress"] = mac_address
        if driver_opt:
            endpoint["DriverOpts"] = driver_opt
        self._post(
            "/networks/%s/connect" % _resource(net_id), data={"Container": container, "EndpointConfig": endpoint}
        )

    def disconnect_container_from_network(self, container, net_id, force=False):
        data = {"Container": container}
        if force:
            data["Force"] = True
        self._post("/networks/%s/disconnect" % _resource(net_id), data=data)

    def create_network(
        self,
        name,
        driver=None,
        options=None,
        ipam=None,
        check_duplicate=None,
        internal=False,
        labels=None,
        enable_ipv6=False,
        attachable=None,
        scope=None,
        ingress=None,
    ):
        data = {
            "Name": name,
            "Driver": driver,
            "Options": options,
            "IPAM": ipam,
            "CheckDuplicate": check_duplicate,
            "Labels": labels,
            "Attachable": attachable,
            "Ingress": ingress,
            "Scope": scope,
        }
        if enable_ipv6:
            data["EnableIPv6"] = True
        if internal:
            data["Internal"] = True
        return self._post("/networks/create", data=data)

    def remove_network(self, net_id):
        self._write("DELETE", "/networks/%s" % _resource(net_id))

    def create_volume(self, name=None, driver=None, driver_opts=None, labels=None):
        return self._post(
            "/volumes/create", data={"Name": name, "Driver": driver, "DriverOpts": driver_opts, "Labels": labels}
        )

    def remove_volume(self, name, force=False):
        self._write("DELETE", "/volumes/%s" % _resource(name), {"force": force or None})

    def tag(self, image, repository, tag=None, force=False):
        self._post("/images/%s/tag" % _resource(image), {"repo": repository, "tag": tag, "force": force})
        return True

    def remove_image(self, image, force=False, noprune=False):
        return self._write("DELETE", "/images/%s" % _resource(image), {"force": force, "noprune": noprune})

    def load_image(self, data, quiet=None):
        """POST /images/load with the archive ``data`` (an open file) as the body; returns its progress messages."""
        answer = self._write("POST", "/images/load", {"quiet": quiet}, upload=data)
        if isinstance(answer, str):
            return _json_stream(answer)
        return [answer] if answer is not None else []


class EngineAPI:
    """``client.api``: STDLIB_CALLS go to ``http`` (a UnixEngineHTTP); anything else to ``build()``'s APIClient,
    built once on first use."""

    def __init__(self, http, build):
        self.http = http
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
        if name.startswith("__") or name in ("http", "_build", "_sdk", "_lock"):
            raise AttributeError(name)
        if name in STDLIB_CALLS:
            return getattr(self.http, name)
        return getattr(self.sdk, name)

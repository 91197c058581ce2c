# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place that connects to a Docker engine.

Works with the Docker SDK for Python >= 5.0.3 (Debian 12's python3-docker).
Managers use the low-level ``client.api`` (``APIClient`` calls) so that one HTTP
request is one engine operation (the high-level ``containers.list()`` inspects
every container it lists).

On a ``unix://`` engine the SDK is not even imported until a call needs it:
``client.api`` is an ``engine_http.EngineAPI`` whose calls (listings, inspects,
creates, starts, stops, removals, network and volume changes, tags, loads) are
plain HTTP over the socket, so only a pull or a build pays the SDK's import
(requests, urllib3, paramiko). ``ssh://`` and ``tcp://`` engines use the SDK
for everything.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.engine_http import (
    EngineAPI,
    EngineAPIError,
    EngineNotFound,
    UnixEngineHTTP,
)


def _find_sdk() -> bool:
    try:
        return importlib.util.find_spec("docker") is not None
    except (ImportError, ValueError):  # pragma: no cover - a broken or odd installation
        return False


# the SDK stays a requirement (every mutation needs it): modules fail early without it
HAS_DOCKER = _find_sdk()
DOCKER_IMPORT_ERROR = None if HAS_DOCKER else "ModuleNotFoundError: No module named 'docker'"

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# argument spec of the connection options (documented in doc_fragments/docker.py)
DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", aliases=["docker_url"]),
    tls_ca_cert=dict(type="path"),
    tls_client_cert=dict(type="path"),
    tls_client_key=dict(type="path", no_log=False),
    validate_certs=dict(type="bool", default=True),
    use_ssh_client=dict(type="bool", default=False),
    timeout=dict(type="int", default=60),
)


def docker_host_from(params: Mapping[str, Any]) -> str:
    return params.get("docker_host") or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def _check_address(host: str, params: Mapping[str, Any]) -> str:
    scheme = host.split("://", 1)[0].lower() if "://" in host else ""
    tls = bool(params.get("tls_ca_cert") or params.get("tls_client_cert"))
    if scheme in ("unix", "npipe", "ssh"):
        return scheme
    if scheme in ("tcp", "https"):
        if not tls:
            raise ValidationError(
                "docker_host",
                "%s is a TCP address without TLS; an engine on plain TCP gives root to anyone "
                "who can reach it, so it is refused. Give tls_ca_cert (and tls_client_cert/tls_client_key) "
                "or use unix:// or ssh://" % host,
                accepted="unix:///path/docker.sock, ssh://user@host, tcp://host:2376 with TLS options",
            )
        if bool(params.get("tls_client_cert")) != bool(params.get("tls_client_key")):
            raise ValidationError("tls_client_cert", "tls_client_cert and tls_client_key go together")
        return "tcp"
    raise ValidationError(
        "docker_host",
        "unsupported address %r" % host,
        accepted="unix:///path/docker.sock, ssh://user@host, tcp://host:2376 with TLS options",
    )


def _sdk() -> ModuleType:
    """The ``docker`` package, imported on first need."""
    try:
        import docker  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise BackendError("the Docker SDK for Python (docker >= 5.0.3) cannot be imported: %s" % exc)
    return docker


class EngineClient:
    """What managers get: ``api`` (APIClient calls) and the engine's address (for messages)."""

    def __init__(self, api: Any, host: str) -> None:
        self.api = api
        self.hybridops_address = host


def connect(params: Mapping[str, Any], pool_size: int | None = None) -> EngineClient:
    """Connect to the engine of ``params`` and check that it answers; returns an EngineClient.

    ``pool_size``: HTTP connections the SDK keeps open (at least the number of
    threads that use the client at once). Raises ValidationError (bad address) or
    BackendError (engine unreachable), both carrying the address tried.
    """
    host = docker_host_from(params)
    scheme = _check_address(host, params)
    if scheme != "unix":
        return EngineClient(_api_client(host, scheme, params, pool_size, "auto"), host)
    # unix://var/run/docker.sock is the legacy spelling of unix:///var/run/docker.sock (the SDK takes both)
    http = UnixEngineHTTP("/" + host.split("://", 1)[1].lstrip("/"), params.get("timeout") or 60)
    try:
        version = http.version()
    except Exception as exc:
        raise BackendError("cannot reach the Docker engine at %s: %s" % (host, _short(exc)), docker_host=host)
    # the version the engine just reported is what the SDK's "auto" would ask it again
    api_version = (version or {}).get("ApiVersion") or "auto"
    return EngineClient(EngineAPI(http, lambda: _api_client(host, scheme, params, pool_size, api_version)), host)


def _api_client(host: str, scheme: str, params: Mapping[str, Any], pool_size: int | None, version: str) -> Any:
    docker = _sdk()
    kwargs = dict(base_url=host.replace("https://", "tcp://", 1), version=version, timeout=params.get("timeout") or 60)
    if pool_size and pool_size > 10:
        kwargs["max_pool_size"] = pool_size
    if scheme == "tcp":
        client_cert = None
        if params.get("tls_client_cert"):
            client_cert = (params["tls_client_cert"], params["tls_client_key"])
        kwargs["tls"] = docker.tls.TLSConfig(
            client_cert=client_cert,
            ca_cert=params.get("tls_ca_cert"),
            verify=params.get("tls_ca_cert") if params.get("validate_certs", True) else False,
        )
    if scheme == "ssh" and params.get("use_ssh_client"):
        kwargs["use_ssh_client"] = True
    try:
        return docker.APIClient(**kwargs)
    except Exception as exc:  # the SDK's, paramiko, requests and socket errors surface here
        raise BackendError("cannot reach the Docker engine at %s: %s" % (host, _short(exc)), docker_host=host)


def _short(exc: BaseException) -> str:
    # requests wraps socket errors several times; name the reason, not the wrapping
    text = str(exc)
    if "No such file or directory" in text:
        return "socket not found (No such file or directory)"
    if "Permission denied" in text:
        return "permission denied on the socket"
    if "Connection refused" in text:
        return "connection refused"
    return text[:300]


def address(client: object) -> str:
    return getattr(client, "hybridops_address", None) or "the Docker engine"


def _sdk_errors() -> ModuleType | None:
    # an exception of the SDK can only exist once the SDK has been imported
    return sys.modules.get("docker.errors")


def is_not_found(exc: BaseException) -> bool:
    if isinstance(exc, EngineNotFound):
        return True
    errors = _sdk_errors()
    return errors is not None and isinstance(exc, errors.NotFound)


def backend_error(client: object, what: str, exc: BaseException) -> BackendError:
    """A BackendError for a failed engine call, with the engine's own explanation."""
    errors = _sdk_errors()
    if isinstance(exc, EngineAPIError) or (errors is not None and isinstance(exc, errors.APIError)):
        reason = exc.explanation or str(exc)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
    else:
        reason = _short(exc)
    return BackendError("%s failed on %s: %s" % (what, address(client), reason))


_RAISE = object()


def call(
    client: object, what: str, func: Callable[..., Any], *args: Any, if_missing: Any = _RAISE, **kwargs: Any
) -> Any:
    """One engine call ``func(*args, **kwargs)``: the one place engine errors are mapped.

    A FleetError passes through; any other error becomes a BackendError naming
    ``what`` and carrying the engine's own message. With ``if_missing``, a 404
    (no such container, image, network or volume) returns that value instead.
    """
    try:
        return func(*args, **kwargs)
    except FleetError:
        raise
    except Exception as exc:
        if if_missing is not _RAISE and is_not_found(exc):
            return if_missing
        raise backend_error(client, what, exc)


def update_container(client: EngineClient, container: str, body: Mapping[str, Any]) -> Any:
    """POST /containers/{id}/update with an engine-format body (Memory, NanoCpus, RestartPolicy...).

    The SDK's ``update_container`` takes only some of these keys as keyword
    arguments, so on an SDK client the body goes through the SDK's own request
    helpers here, the one place that knows about them.
    """
    api = client.api
    if isinstance(api, EngineAPI):
        return api.http.update_container_body(container, body)
    response = api._post_json(api._url("/containers/{0}/update", container), data=body)
    return api._result(response, True)


def create_container(client: EngineClient, body: Mapping[str, Any], name: str, platform: str | None = None) -> Any:
    """POST /containers/create; ``platform`` (OS/ARCH[/VARIANT]) goes in the query.

    SDKs before 6.0 take no platform, so a create with one goes through the SDK's own request
    helpers here (as ``update_container`` does); one without uses the public call.
    """
    api = client.api
    if isinstance(api, EngineAPI):
        return api.http.create_container_from_config(body, name, platform)
    if not platform:
        return api.create_container_from_config(body, name)
    response = api._post_json(api._url("/containers/create"), data=body, params={"name": name, "platform": platform})
    return api._result(response, True)


def split_image_ref(ref: str) -> tuple[str, str]:
    """'repo:tag' / 'repo@sha256:..' -> (repository, tag or digest); tag defaults to latest.

    The SDK's parse_repository_tag: a digest after the last '@', else a tag after
    the last ':' unless that ':' is a registry port ('host:5000/repo').
    """
    if "@" in ref:
        repo, digest = ref.rsplit("@", 1)
        return repo, digest or "latest"
    repo, sep, tag = ref.rpartition(":")
    if sep and "/" not in tag:
        return repo, tag or "latest"
    return ref, "latest"

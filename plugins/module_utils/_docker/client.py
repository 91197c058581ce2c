# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place that builds a ``docker.DockerClient``.

Works with the Docker SDK for Python >= 5.0.3 (Debian 12's python3-docker).
Managers use the low-level ``client.api`` (``APIClient``) so that one HTTP
request is one engine operation (the high-level ``containers.list()`` inspects
every container it lists).
"""

from __future__ import annotations

import os
import traceback

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError, ValidationError

try:
    import docker
    from docker import errors as docker_errors
    from docker.utils import parse_repository_tag
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where the SDK is missing
    docker = None
    docker_errors = None
    parse_repository_tag = None
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
MIN_SDK = (5, 0, 3)

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


def docker_host_from(params):
    return params.get("docker_host") or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def _check_address(host, params):
    scheme = host.split("://", 1)[0].lower() if "://" in host else ""
    tls = bool(params.get("tls_ca_cert") or params.get("tls_client_cert"))
    if scheme in ("unix", "npipe", "ssh"):
        return scheme
    if scheme in ("tcp", "https"):
        if not tls:
            raise ValidationError(
                "docker_host", "%s is a TCP address without TLS; an engine on plain TCP gives root to anyone "
                "who can reach it, so it is refused. Give tls_ca_cert (and tls_client_cert/tls_client_key) "
                "or use unix:// or ssh://" % host,
                accepted="unix:///path/docker.sock, ssh://user@host, tcp://host:2376 with TLS options")
        if bool(params.get("tls_client_cert")) != bool(params.get("tls_client_key")):
            raise ValidationError("tls_client_cert", "tls_client_cert and tls_client_key go together")
        return "tcp"
    raise ValidationError("docker_host", "unsupported address %r" % host,
                          accepted="unix:///path/docker.sock, ssh://user@host, tcp://host:2376 with TLS options")


def sdk_version():
    if not HAS_DOCKER:
        return None
    parts = []
    for item in docker.__version__.split(".")[:3]:
        digits = "".join(ch for ch in item if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def connect(params, pool_size=None):
    """Build a DockerClient for ``params`` and check that the engine answers.

    ``pool_size``: HTTP connections kept open (at least the number of threads
    that use the client at once). Raises ValidationError (bad address) or
    BackendError (engine unreachable), both carrying the address tried.
    """
    host = docker_host_from(params)
    scheme = _check_address(host, params)
    kwargs = dict(base_url=host.replace("https://", "tcp://", 1), version="auto",
                  timeout=params.get("timeout") or 60)
    if pool_size and pool_size > 10:
        kwargs["max_pool_size"] = pool_size
    if scheme == "tcp":
        client_cert = None
        if params.get("tls_client_cert"):
            client_cert = (params["tls_client_cert"], params["tls_client_key"])
        kwargs["tls"] = docker.tls.TLSConfig(client_cert=client_cert, ca_cert=params.get("tls_ca_cert"),
                                             verify=params.get("tls_ca_cert") if params.get("validate_certs", True) else False)
    if scheme == "ssh" and params.get("use_ssh_client"):
        kwargs["use_ssh_client"] = True
    try:
        client = docker.DockerClient(**kwargs)
    except docker_errors.DockerException as exc:
        raise BackendError("cannot reach the Docker engine at %s: %s" % (host, _short(exc)), docker_host=host)
    except Exception as exc:  # paramiko, requests and socket errors surface here
        raise BackendError("cannot reach the Docker engine at %s: %s" % (host, _short(exc)), docker_host=host)
    client.hybridops_address = host
    return client


def _short(exc):
    # requests wraps socket errors several times; name the reason, not the wrapping
    text = str(exc)
    if "No such file or directory" in text:
        return "socket not found (No such file or directory)"
    if "Permission denied" in text:
        return "permission denied on the socket"
    if "Connection refused" in text:
        return "connection refused"
    return text[:300]


def address(client):
    return getattr(client, "hybridops_address", None) or "the Docker engine"


def is_not_found(exc):
    return HAS_DOCKER and isinstance(exc, docker_errors.NotFound)


def backend_error(client, what, exc):
    """A BackendError for a failed engine call, with the engine's own explanation."""
    if HAS_DOCKER and isinstance(exc, docker_errors.APIError):
        reason = exc.explanation or str(exc)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
    else:
        reason = _short(exc)
    return BackendError("%s failed on %s: %s" % (what, address(client), reason))


def split_image_ref(ref):
    """'repo:tag' / 'repo@sha256:..' -> (repository, tag or digest); tag defaults to latest."""
    repo, tag = parse_repository_tag(ref)
    return repo, tag or "latest"

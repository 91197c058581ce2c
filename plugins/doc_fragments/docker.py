# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Connection to the Docker engine (every container_* module)
    DOCUMENTATION = r'''
attributes:
  action_group:
    description: Use C(group/hybridops.fleet.docker) in C(module_defaults) to set the Docker engine connection
      (O(docker_host), TLS files, timeout) once for every task of the group.
    support: full
    membership:
      - hybridops.fleet.docker
options:
  docker_host:
    description:
      - Address of the Docker engine.
      - C(unix:///path/to/docker.sock) (the usual case, the module runs on the VM and talks to the local
        engine), C(ssh://user@host) (needs paramiko on the target), or C(tcp://host:2376) B(only) together
        with O(tls_ca_cert) (and usually O(tls_client_cert)/O(tls_client_key)).
      - A plain TCP address without TLS is refused, because anyone who can reach it gets root on the host.
      - Defaults to the E(DOCKER_HOST) environment variable, else C(unix:///var/run/docker.sock).
    type: str
    aliases: [docker_url]
  tls_ca_cert:
    description: CA certificate that signed the engine's TLS certificate (for C(tcp://) addresses).
    type: path
  tls_client_cert:
    description: Client certificate for TLS client authentication; requires O(tls_client_key).
    type: path
  tls_client_key:
    description: Private key of O(tls_client_cert).
    type: path
  validate_certs:
    description: Verify the engine's TLS certificate against O(tls_ca_cert).
    type: bool
    default: true
  use_ssh_client:
    description: For C(ssh://) addresses, use the C(ssh) command line client instead of paramiko.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for one engine API call (an integer of at least 1).
    type: int
    default: 60
requirements:
  - Docker SDK for Python >= 5.0.3 (C(python3-docker) on Debian 12) on the host the module runs on.
notes:
  - When the engine cannot be reached the module fails with one message naming the address it tried.
'''

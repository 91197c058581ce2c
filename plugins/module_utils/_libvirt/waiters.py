# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waits for a guest: IP address (lease, agent, arp), SSH port, guest agent, cloud-init.

Every wait has a deadline and polls gently (a busy poll slows TCG guests). On
timeout a :class:`WaitTimeout` carries a diagnosis: domain state, interfaces
with MACs, what each IP source answered, and the end of the console log.
"""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import subprocess
import time
import urllib.parse

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    WaitTimeout,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import domain_xml
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import (
    domain_state,
    error_message,
    libvirt,
)

IP_SOURCES = ("lease", "agent", "arp")
WAIT_GOALS = ("ip", "ssh", "agent", "cloud_init")  # the wait options that make the module wait at all
# cloud-init writes result.json when its last stage is over, and "disabled" when
# ds-identify found no datasource for this boot; /run is fresh at every boot.
CLOUD_INIT_RESULT = "/run/cloud-init/result.json"
CLOUD_INIT_DISABLED = "/run/cloud-init/disabled"
AGENT_TIMEOUT = 10


def _source_const(name):
    return {
        "lease": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
        "agent": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
        "arp": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
    }[name]


def query_addresses(dom, source, macs=None):
    """(addresses, answer) for one source. addresses: [{'mac','ip','family','prefix','source'}];
    answer: a short text of what the source said (for diagnosis)."""
    try:
        data = dom.interfaceAddresses(_source_const(source), 0) or {}
    except libvirt.libvirtError as exc:
        return [], "error: %s" % error_message(exc)
    found = []
    for ifname, iface in data.items():
        mac = (iface.get("hwaddr") or "").lower()
        if macs is not None and mac not in macs:
            continue
        for addr in iface.get("addrs") or []:
            family = "ipv4" if addr.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4 else "ipv6"
            ip = addr.get("addr")
            if not ip or ip.startswith("127.") or ip == "::1" or ip.startswith("fe80:"):
                continue
            found.append({"interface": ifname, "mac": mac, "ip": ip, "family": family,
                          "prefix": addr.get("prefix"), "source": source})
    return found, ("%d address(es)" % len(found)) if found else "no addresses"


def guest_macs(dom):
    try:
        root = domain_xml.parse(dom.XMLDesc(0))
    except Exception:  # pylint: disable=broad-except
        return set()
    return set(n["mac"] for n in domain_xml.read_networks(root) if n.get("mac"))


def addresses(dom, sources=("lease", "arp"), macs=None):
    """All guest addresses found by the first sources that answer (no waiting); ``macs``: the guest's MACs when
    the caller has its XML already (otherwise read from it)."""
    if macs is None:
        macs = guest_macs(dom)
    result = []
    for source in sources:
        found, _answer = query_addresses(dom, source, macs or None)
        for item in found:
            if not any(r["ip"] == item["ip"] for r in result):
                result.append(item)
    return result


def hypervisor_ssh(uri):
    """The ssh argv prefix that reaches the hypervisor of a ``DRIVER+ssh://[USER@]HOST[:PORT]/...`` URI, with the
    URI's own ``command`` (the ssh binary), ``keyfile``, ``known_hosts`` and ``no_verify`` parameters (as libvirt's
    ssh transport uses them).

    Raises ValueError for a URI that is not reached over SSH.
    """
    parsed = urllib.parse.urlsplit(uri or "")
    if not parsed.scheme.endswith("+ssh") or not parsed.hostname:
        raise ValueError("wait.ssh_via=hypervisor needs a DRIVER+ssh://[USER@]HOST/... URI (the hypervisor is the "
                         "SSH jump host); %s is not one: use ssh_via=controller, or wait.agent" % (uri or "no URI"))
    query = dict(urllib.parse.parse_qsl(parsed.query))
    argv = [query.get("command") or "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]
    if parsed.port:
        argv += ["-p", str(parsed.port)]
    if query.get("keyfile"):
        argv += ["-i", query["keyfile"]]
    if query.get("known_hosts"):
        argv += ["-o", "UserKnownHostsFile=%s" % query["known_hosts"]]
    if query.get("no_verify") == "1":
        argv += ["-o", "StrictHostKeyChecking=no"]
    if parsed.username:
        argv += ["-l", urllib.parse.unquote(parsed.username)]
    return argv + [parsed.hostname]


def ssh_banner_via(jump, host, port, timeout=10.0):
    """ssh_banner of host:port as the hypervisor sees it: ``ssh -W host:port`` through the jump argv
    (hypervisor_ssh); for guests on networks only the hypervisor reaches."""
    target = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    try:
        # not AnsibleModule.run_command: it waits for the process to end, and a forwarded connection to a port
        # that accepts but says nothing would never end; the banner is read with a deadline, then ssh is killed
        proc = subprocess.Popen(jump + ["-W", target], stdin=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    try:
        ready = select.select([proc.stdout], [], [], timeout)[0]
        data = os.read(proc.stdout.fileno(), 256) if ready else b""
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    if data.startswith(b"SSH-"):
        return data.split(b"\r\n")[0].decode("ascii", "replace")
    return None


def ssh_banner(host, port, timeout=5.0):
    """'SSH-2.0-...' when an SSH server answers on host:port, else None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = sock.recv(256)
    except (OSError, socket.timeout):
        return None
    if data.startswith(b"SSH-"):
        return data.split(b"\r\n")[0].decode("ascii", "replace")
    return None


def agent_ping(dom):
    """True when the guest agent answers (an agent address query succeeds)."""
    try:
        dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0)
        return True, "answered"
    except libvirt.libvirtError as exc:
        return False, error_message(exc)


def _agent(dom, execute, **arguments):
    from libvirt_qemu import qemuAgentCommand  # pylint: disable=import-error
    payload = {"execute": execute}
    if arguments:
        payload["arguments"] = arguments
    return json.loads(qemuAgentCommand(dom, json.dumps(payload), AGENT_TIMEOUT, 0)).get("return")


def agent_read_file(dom, path, limit=65536):
    """The first ``limit`` bytes of a guest file, read through the guest agent.

    Raises libvirt.libvirtError when the agent does not answer or the file cannot be opened.
    """
    handle = _agent(dom, "guest-file-open", path=path, mode="r")
    try:
        data = _agent(dom, "guest-file-read", handle=handle, count=limit) or {}
    finally:
        _agent(dom, "guest-file-close", handle=handle)
    return base64.b64decode(data.get("buf-b64") or "")


def cloud_init_errors(text):
    """The errors listed in cloud-init's result.json (an empty list when it finished cleanly)."""
    try:
        data = json.loads(text)
    except ValueError:
        return ["result.json is not JSON: %r" % text[:200]]
    v1 = data.get("v1") if isinstance(data, dict) else None
    if not isinstance(v1, dict):
        return ["result.json has no v1 section: %r" % text[:200]]
    return [str(e) for e in v1.get("errors") or []]


def cloud_init_state(dom):
    """(state, errors, answer): state is 'done', 'disabled' or None (still running or agent not up yet)."""
    try:
        text = agent_read_file(dom, CLOUD_INIT_RESULT).decode("utf-8", "replace")
    except libvirt.libvirtError as exc:
        answer = error_message(exc)
        if "No such file" not in answer:
            return None, [], answer
        try:
            agent_read_file(dom, CLOUD_INIT_DISABLED, limit=1)
        except libvirt.libvirtError:
            return None, [], "not finished (no %s yet)" % CLOUD_INIT_RESULT
        return "disabled", [], "disabled for this boot (%s exists)" % CLOUD_INIT_DISABLED
    errors = cloud_init_errors(text)
    return "done", errors, ("finished with %d error(s)" % len(errors)) if errors else "finished"


def console_tail(path, lines=20):
    if not path or not os.access(path, os.R_OK):
        return None
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    return "\n".join(data.splitlines()[-lines:])


def wait_for_guest(client, dom, options, sleep=time.sleep, clock=time.monotonic):
    """Wait for what ``options`` asks (ip, ssh, agent, cloud_init).

    Returns {'ip', 'addresses', 'ssh', 'agent', 'cloud_init', 'waited'}. options: ip (bool),
    ip_sources (list), ssh (bool), ssh_port (int), agent (bool), cloud_init (bool),
    timeout (s), interval (s), family (ipv4/ipv6/any).

    cloud_init is checked before the SSH banner: cloud-init may restart sshd while it
    runs (set-passwords rewrites sshd_config), so a banner seen earlier does not mean
    SSH stays up.
    """
    sources = list(options.get("ip_sources") or IP_SOURCES)
    want_ip = options.get("ip") or options.get("ssh")
    want_ssh = options.get("ssh")
    want_cloud_init = options.get("cloud_init")
    want_agent = options.get("agent") or want_cloud_init
    port = options.get("ssh_port") or 22
    # guests on a remote hypervisor's private network: the banner is read through the hypervisor
    jump = hypervisor_ssh(client.uri) if want_ssh and options.get("ssh_via") == "hypervisor" else None
    family = options.get("family") or "ipv4"
    timeout = float(options.get("timeout") or 300)
    interval = float(options.get("interval") or 3)
    start = clock()
    deadline = start + timeout
    answers = dict((s, "not asked yet") for s in sources)
    result = {"ip": None, "addresses": [], "ssh": None, "agent": None, "cloud_init": None}
    macs = guest_macs(dom)
    while True:
        state = domain_state(client, dom)
        if state not in ("running",):
            raise WaitTimeout("wait: domain %s is %s, not running" % (dom.name(), state),
                              diagnosis=_diagnosis(client, dom, answers, macs))
        if want_agent and not result["agent"]:
            ok, answer = agent_ping(dom)
            answers["agent_ping"] = answer
            if ok:
                result["agent"] = True
        if want_cloud_init and result["agent"] and not result["cloud_init"]:
            state_ci, errors, answers["cloud_init"] = cloud_init_state(dom)
            if errors:
                raise BackendError("wait: cloud-init finished with errors on domain %s: %s" % (
                    dom.name(), "; ".join(errors)), cloud_init_errors=errors,
                    diagnosis=_diagnosis(client, dom, answers, macs))
            result["cloud_init"] = state_ci
        if want_ip and not result["ip"]:
            for source in sources:
                found, answers[source] = query_addresses(dom, source, macs or None)
                found = [f for f in found if family == "any" or f["family"] == family]
                if found:
                    result["ip"] = found[0]["ip"]
                    result["ip_source"] = source
                    result["addresses"] = found
                    break
        if want_ssh and result["ip"] and not result["ssh"] and (result["cloud_init"] or not want_cloud_init):
            banner = ssh_banner_via(jump, result["ip"], port) if jump else ssh_banner(result["ip"], port)
            answers["ssh"] = banner or "no SSH banner on %s:%s%s" % (
                result["ip"], port, " (through %s)" % jump[-1] if jump else "")
            if banner:
                result["ssh"] = banner
        done = ((not want_ip or result["ip"]) and (not want_ssh or result["ssh"])
                and (not want_agent or result["agent"]) and (not want_cloud_init or result["cloud_init"]))
        if done:
            result["waited"] = round(clock() - start, 1)
            return result
        if clock() + interval > deadline:
            goals = (("ip", want_ip), ("ssh", want_ssh), ("agent", want_agent), ("cloud_init", want_cloud_init))
            raise WaitTimeout(
                "wait: timed out after %ss waiting for %s of domain %s" % (
                    int(timeout), ", ".join(k for k, v in goals if v), dom.name()),
                diagnosis=_diagnosis(client, dom, answers, macs))
        sleep(interval)


def _diagnosis(client, dom, answers, macs):
    try:
        state = domain_state(client, dom)
    except BackendError as exc:
        state = "unknown (%s)" % exc
    try:
        root = domain_xml.parse(dom.XMLDesc(0))
        nics = domain_xml.read_networks(root)
        log = domain_xml.FIELD_MAP["console_log"].read(root)
    except Exception:  # pylint: disable=broad-except
        nics, log = [], None
    diagnosis = {"state": state, "interfaces": nics, "macs": sorted(macs), "answers": dict(answers)}
    tail = console_tail(log) if client.is_local() else None  # a remote hypervisor's path is not ours
    if log:
        diagnosis["console_log"] = log
        diagnosis["console_tail"] = tail if tail is not None else "(not readable from the controller)"
    return diagnosis

"""Remote hypervisors for the lab: more libvirtd instances, each a "host" of its own reached by qemu+ssh://.

    lab.py hypervisors up [--count N]   start N (default 2) remote hypervisors (idempotent)
    lab.py hypervisors down             stop them (by PID) and remove their namespaces and directories
    lab.py hypervisors status           what runs, and the URIs to reach them from the lab's namespace

Each remote hypervisor ``hybridops-hvN`` is:

- a network namespace ``hybridops-hvN``, linked to the lab's namespace by a veth pair (the lab end is named
  ``hybridops-hvN`` and holds 10.239.N.1/24, the far end is named ``hybridops-lab`` and holds 10.239.N.2/24);
  nothing routes beyond the pair, so the hypervisor is reachable from the lab's namespace only;
- a mount namespace and a UTS namespace (its host name is ``hybridops-hvN``) of its own, made by
  ``unshare --mount --uts`` for its libvirtd, in which /run/libvirt,
  /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt are bind mounts of directories of its
  own (so it shares no socket, configuration, domain or pool with the lab's libvirtd), /dev/kvm is hidden as for
  the lab's libvirtd when KVM does not work, and libvirtd writes its pidfile elsewhere than the lab's;
- an sshd that enters those very namespaces (and the network namespace), listening on 10.239.N.2:22 only,
  with a host key the harness generates and one authorized client key, so ``qemu+ssh://`` runs libvirt's
  ``virt-ssh-helper`` on the "remote" side against that hypervisor's own socket, as on a real remote host;
- a dir storage pool ``hybridops`` and a network ``default`` (defined, not started: VMs on the remote
  hypervisors are defined, not booted).

The client key, a known_hosts file with the host keys and an ``ssh`` wrapper that pins them (passed as the
URI's ``command=``) are under RUN_DIR/hybridops-hv/, so reaching a remote hypervisor verifies its host key
and writes nothing into the invoking user's ~/.ssh.

The harness itself (not only the lab namespace) reaches each daemon through its socket's bind-mount source,
``qemu+unix:///system?socket=...``: that is how it sets them up and empties them.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import lab

PREFIX = "hybridops-hv"
DEFAULT_COUNT = 2
SUBNET = "10.239.%d.%d"
KEYS_DIR = os.path.join(lab.RUN_DIR, PREFIX)  # the client key, known_hosts, ssh wrapper, shared by all
CLIENT_KEY = os.path.join(KEYS_DIR, "id_ed25519")
KNOWN_HOSTS = os.path.join(KEYS_DIR, "known_hosts")
SSH_WRAPPER = os.path.join(KEYS_DIR, "ssh")
# bind-mounted over the system paths in each hypervisor's mount namespace: (system path, which root, name)
BIND_MOUNTS = (
    ("/run/libvirt", "run", "libvirt"),
    ("/etc/libvirt", "run", "etc"),
    ("/var/lib/libvirt", "state", "lib"),
    ("/var/cache/libvirt", "state", "cache"),
    ("/var/log/libvirt", "state", "log"),
)
# the configuration files a fresh libvirtd reads; no domain, network or pool definitions of the host's
CONFIG_FILES = ("libvirt.conf", "libvirtd.conf", "qemu.conf", "virtlogd.conf", "virtlockd.conf")


class Hypervisor:
    """Paths and addresses of the remote hypervisor number ``index`` (1, 2, ...)."""

    def __init__(self, index):
        self.index = index
        self.name = "%s%d" % (PREFIX, index)
        self.netns = self.name
        self.run_dir = os.path.join(lab.RUN_DIR, self.name)
        self.state_dir = os.path.join(lab.STATE_DIR, self.name)
        self.address = SUBNET % (index, 2)
        self.lab_address = SUBNET % (index, 1)
        self.lab_link = self.name  # the lab end of the veth pair, in the lab's namespace
        self.far_link = "hybridops-lab"  # the far end, in this hypervisor's namespace
        self.pool_dir = os.path.join(self.state_dir, "pool")
        self.socket = os.path.join(self.run_dir, "libvirt", "libvirt-sock")
        self.host_key = os.path.join(self.run_dir, "ssh_host_ed25519_key")
        self.sshd_config = os.path.join(self.run_dir, "sshd_config")

    def path(self, root, name):
        return os.path.join(self.run_dir if root == "run" else self.state_dir, name)

    def pidfile(self, daemon):
        return os.path.join(self.run_dir, daemon + ".pid")

    @property
    def uri(self):
        """The URI that reaches this hypervisor from the lab's namespace, over SSH."""
        return "qemu+ssh://root@%s/system?keyfile=%s&command=%s" % (self.address, CLIENT_KEY, SSH_WRAPPER)

    @property
    def local_uri(self):
        """The URI that reaches this hypervisor's libvirtd from this machine through its socket (no SSH)."""
        return "qemu+unix:///system?socket=" + self.socket

    def as_dict(self):
        return {"name": self.name, "netns": self.netns, "address": self.address, "uri": self.uri,
                "local_uri": self.local_uri, "pool": lab.POOL_NAME, "pool_dir": self.pool_dir,
                "network": lab.NETWORK_NAME,
                "libvirtd_pid": lab.read_pid(self.pidfile("libvirtd")), "sshd_pid": lab.read_pid(self.pidfile("sshd"))}


def unreachable_uri():
    """A qemu+ssh:// URI like the remote hypervisors' whose address (10.239.1.3, in hybridops-hv1's subnet) no
    host holds: a hypervisor that is down, as the lab's namespace sees it (ssh fails with "No route to host"
    once ARP gives up, in about 3 s)."""
    return Hypervisor(1).uri.replace(SUBNET % (1, 2), SUBNET % (1, 3), 1)


def existing():
    """The remote hypervisors whose run directory exists (up, or left half up), by index."""
    found = []
    if os.path.isdir(lab.RUN_DIR):
        for entry in os.listdir(lab.RUN_DIR):
            rest = entry[len(PREFIX):]
            if entry.startswith(PREFIX) and rest.isdigit():
                found.append(Hypervisor(int(rest)))
    return sorted(found, key=lambda hv: hv.index)


# --------------------------------------------------------------------------------- keys and ssh

def ensure_client_key():
    os.makedirs(KEYS_DIR, mode=0o700, exist_ok=True)
    if not os.path.exists(CLIENT_KEY):
        lab.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hybridops-hv-client", "-f", CLIENT_KEY])
    # the host keys are pinned: the wrapper's options come first, and ssh keeps the first value of an option
    with open(SSH_WRAPPER, "w") as handle:
        handle.write("#!/bin/sh\n# libvirt's ssh transport (command=) for the lab's remote hypervisors\n"
                     "exec ssh -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes "
                     "-o ConnectTimeout=10 -o LogLevel=ERROR \"$@\"\n" % KNOWN_HOSTS)
    os.chmod(SSH_WRAPPER, 0o755)


def write_known_hosts():
    lines = []
    for hv in existing():
        if os.path.exists(hv.host_key + ".pub"):
            with open(hv.host_key + ".pub") as handle:
                key_type, key = handle.read().split()[:2]
            lines.append("%s %s %s\n" % (hv.address, key_type, key))
    with open(KNOWN_HOSTS, "w") as handle:
        handle.writelines(lines)


def write_sshd_config(hv):
    if not os.path.exists(hv.host_key):
        lab.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", hv.name, "-f", hv.host_key])
    authorized = os.path.join(hv.run_dir, "authorized_keys")
    shutil.copyfile(CLIENT_KEY + ".pub", authorized)
    os.chmod(authorized, 0o600)
    with open(hv.sshd_config, "w") as handle:
        handle.write("\n".join([
            "# sshd of the lab's remote hypervisor %s (its own network and mount namespace)" % hv.name,
            "ListenAddress %s:22" % hv.address,
            "HostKey " + hv.host_key,
            "PidFile " + os.path.join(hv.run_dir, "sshd-own.pid"),
            "AuthorizedKeysFile " + authorized,
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "X11Forwarding no",
            # as a jump host (libvirt_vm wait.ssh_via=hypervisor): `ssh -W` to SSH ports only, and from this
            # namespace only its own addresses and its guests' NAT network are reachable
            "AllowTcpForwarding local",
            "PermitOpen *:22",
            "PrintMotd no",
            "Subsystem sftp internal-sftp",
            "",
        ]))


# --------------------------------------------------------------------------------- namespaces

def ensure_link(hv):
    if not os.path.exists("/run/netns/" + hv.netns):
        lab.log("creating network namespace %s" % hv.netns)
        lab.run(["ip", "netns", "add", hv.netns])
    lab.run(["ip", "-n", hv.netns, "link", "set", "lo", "up"])
    if lab.run(["ip", "-n", lab.NETNS, "link", "show", hv.lab_link], check=False).returncode != 0:
        lab.run(["ip", "-n", lab.NETNS, "link", "add", hv.lab_link, "type", "veth", "peer", "name", hv.far_link,
                 "netns", hv.netns])
        lab.run(["ip", "-n", lab.NETNS, "addr", "add", hv.lab_address + "/24", "dev", hv.lab_link])
        lab.run(["ip", "-n", hv.netns, "addr", "add", hv.address + "/24", "dev", hv.far_link])
    lab.run(["ip", "-n", lab.NETNS, "link", "set", hv.lab_link, "up"])
    lab.run(["ip", "-n", hv.netns, "link", "set", hv.far_link, "up"])


def prepare_dirs(hv):
    os.makedirs(hv.run_dir, mode=0o700, exist_ok=True)
    for _source, root, name in BIND_MOUNTS:
        os.makedirs(hv.path(root, name), exist_ok=True)
    os.makedirs(hv.pool_dir, exist_ok=True)
    etc = hv.path("run", "etc")
    for name in CONFIG_FILES:
        source = os.path.join("/etc/libvirt", name)
        if os.path.exists(source) and not os.path.exists(os.path.join(etc, name)):
            shutil.copyfile(source, os.path.join(etc, name))
    if os.path.exists(lab.NO_KVM_FILE):
        # as for the lab's libvirtd (lab.libvirtd_command): /dev/kvm hidden, so no private /dev per guest
        with open(os.path.join(etc, "qemu.conf"), "a") as handle:
            handle.write("\n# hybridops lab: /dev/kvm is hidden by a file mount\nnamespaces = []\n")


def libvirtd_command(hv):
    mounts = ["mount --bind %s %s" % (hv.path(root, name), target) for target, root, name in BIND_MOUNTS]
    if os.path.exists(lab.NO_KVM_FILE) and os.path.exists("/dev/kvm"):
        mounts.append("mount --bind %s /dev/kvm" % lab.NO_KVM_FILE)
    script = " && ".join(["hostname " + hv.name] + mounts + ["exec libvirtd --pid-file %s" % os.path.join(hv.run_dir, "libvirtd-own.pid")])
    return ["nsenter", "--net=/run/netns/" + hv.netns, "unshare", "--mount", "--uts", "--propagation", "private",
            "sh", "-c", script]


def spawn(hv, daemon, cmd):
    os.makedirs(lab.LOG_DIR, exist_ok=True)
    logfile = open(os.path.join(lab.LOG_DIR, "%s-%s.log" % (hv.name, daemon)), "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                            start_new_session=True)
    logfile.close()
    with open(hv.pidfile(daemon), "w") as handle:
        handle.write(str(proc.pid))
    return proc.pid


def virsh_ok(uri, netns=None):
    cmd = ["virsh", "-q", "-c", uri, "version"]
    if netns and not lab.in_netns():
        cmd = ["nsenter", "--net=/run/netns/" + netns] + cmd
    return lab.run(cmd, check=False).returncode == 0


def ensure_daemons(hv):
    def logs(daemon):
        return lambda: lab.tail(os.path.join(lab.LOG_DIR, "%s-%s.log" % (hv.name, daemon)))

    libvirtd = lab.read_pid(hv.pidfile("libvirtd"))
    if libvirtd is None:
        lab.log("starting libvirtd of %s (network and mount namespace of its own)" % hv.name)
        libvirtd = spawn(hv, "libvirtd", libvirtd_command(hv))
    lab.wait_for("libvirtd of %s (%s)" % (hv.name, hv.local_uri), lambda: virsh_ok(hv.local_uri), 60,
                 diagnose=logs("libvirtd"))
    if lab.read_pid(hv.pidfile("sshd")) is None:
        lab.log("starting sshd of %s on %s:22" % (hv.name, hv.address))
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation directory (/run is not bind-mounted)
        spawn(hv, "sshd", ["nsenter", "--net=/run/netns/" + hv.netns, "--mount=/proc/%d/ns/mnt" % libvirtd,
                           "--uts=/proc/%d/ns/uts" % libvirtd,
                           "/usr/sbin/sshd", "-D", "-e", "-f", hv.sshd_config])


def ensure_objects(hv):
    """The hypervisor's storage pool (started) and network (defined only)."""
    libvirt = lab.libvirt_module()
    libvirt.registerErrorHandler(lambda *_: None, None)
    conn = libvirt.open(hv.local_uri)
    try:
        try:
            pool = conn.storagePoolLookupByName(lab.POOL_NAME)
        except libvirt.libvirtError:
            pool = conn.storagePoolDefineXML("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>"
                                             % (lab.POOL_NAME, hv.pool_dir), 0)
        if not pool.isActive():
            pool.create(0)
        try:
            conn.networkLookupByName(lab.NETWORK_NAME)
        except libvirt.libvirtError:
            with open("/usr/share/libvirt/networks/default.xml") as handle:
                conn.networkDefineXML(handle.read())
    finally:
        conn.close()


def up(count=DEFAULT_COUNT):
    """Start remote hypervisors 1..count (those already up are kept); returns them."""
    if not os.path.exists(lab.netns_path()):
        raise lab.LabError("the lab is not up (namespace %s missing): run `lab.py up` first" % lab.NETNS)
    if not shutil.which("sshd") and not os.path.exists("/usr/sbin/sshd"):
        raise lab.LabError("the remote hypervisors need sshd (apt package openssh-server; scripts/setup.sh installs it)")
    ensure_client_key()
    hvs = [Hypervisor(i) for i in range(1, count + 1)]
    for hv in hvs:
        prepare_dirs(hv)
        write_sshd_config(hv)
        ensure_link(hv)
    write_known_hosts()
    for hv in hvs:
        ensure_daemons(hv)
    for hv in hvs:
        ensure_objects(hv)
    for hv in hvs:
        lab.wait_for("%s over SSH from %s (%s)" % (hv.name, lab.NETNS, hv.uri), lambda hv=hv: virsh_ok(hv.uri, lab.NETNS),
                     30, diagnose=lambda hv=hv: lab.tail(os.path.join(lab.LOG_DIR, "%s-sshd.log" % hv.name)))
        lab.log("%s up: %s" % (hv.name, hv.uri))
    return hvs


def stop(hv, daemon):
    pid = lab.read_pid(hv.pidfile(daemon))
    if pid is not None:
        lab.log("stopping %s of %s (pid %d, started by the lab)" % (daemon, hv.name, pid))
        os.kill(pid, signal.SIGTERM)
        try:
            lab.wait_for("%s of %s to exit" % (daemon, hv.name), lambda: not lab.pid_alive(pid), 30, interval=0.2)
        except lab.LabError:
            os.kill(pid, signal.SIGKILL)
    if os.path.exists(hv.pidfile(daemon)):
        os.unlink(hv.pidfile(daemon))


def down():
    """Stop every remote hypervisor the harness started (by PID) and remove its namespace and directories."""
    for hv in existing():
        stop(hv, "sshd")
        stop(hv, "libvirtd")
        if lab.run(["ip", "-n", lab.NETNS, "link", "show", hv.lab_link], check=False).returncode == 0:
            lab.run(["ip", "-n", lab.NETNS, "link", "del", hv.lab_link])  # removes both ends
        if os.path.exists("/run/netns/" + hv.netns):
            lab.run(["ip", "netns", "del", hv.netns])
        shutil.rmtree(hv.run_dir, ignore_errors=True)
        shutil.rmtree(hv.state_dir, ignore_errors=True)
        lab.log("%s removed" % hv.name)
    shutil.rmtree(KEYS_DIR, ignore_errors=True)


def status():
    return [dict(hv.as_dict(), answers=virsh_ok(hv.local_uri)) for hv in existing()]


def main(args):
    if args.action == "up":
        print(json.dumps([hv.as_dict() for hv in up(args.count)], indent=2))
    elif args.action == "down":
        down()
    else:
        print(json.dumps(status(), indent=2))

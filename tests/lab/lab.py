"""The lab harness: real libvirtd + qemu and a real dockerd inside a private network namespace.

Used by scripts/lab (the main job), scripts/test and the integration tests.

    lab.py up          network namespace, dockerd, virtlogd + libvirtd, default network, storage pool
    lab.py image       build (or reuse) the cached Debian guest base image and import it into the pool
    lab.py images      build the local container images (no registry) and save them as an archive
    lab.py boot NAME.. boot guests from overlays of the base image, wait for SSH and dockerd
    lab.py destroy NAME..  destroy guests made by the lab (and their overlays)
    lab.py hypervisors up|down|status  remote hypervisors: libvirtd + sshd in namespaces of their own, reached
                       by qemu+ssh:// from the lab's namespace (tests/lab/hypervisors.py)
    lab.py down        destroy lab guests, stop the remote hypervisors and the daemons the lab started (by PID)
    lab.py restart-dockerd  restart the lab's dockerd so it runs with the current daemon.json
    lab.py status      what is running

Network rule: every command that reaches a VM or container address runs inside
the namespace; this script re-enters it with nsenter (not `ip netns exec`, which
remounts /sys and breaks dockerd's cgroups).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

NETNS = os.environ.get("HYBRIDOPS_LAB_NETNS", "hybridops-lab")
# a second, private lab (its own namespace and dockerd) can run beside the shared one
RUN_DIR = os.environ.get("HYBRIDOPS_LAB_RUN_DIR", "/run/hybridops-lab")
STATE_DIR = os.environ.get("HYBRIDOPS_LAB_STATE_DIR", "/var/lib/hybridops-lab")
LOG_DIR = os.environ.get("HYBRIDOPS_LAB_LOG_DIR", "/var/log/hybridops-lab")
POOL_NAME = "hybridops"
POOL_DIR = STATE_DIR + "/pool"
BOOT_DIR = STATE_DIR + "/boot"
NETWORK_NAME = "default"
LIBVIRT_URI = "qemu:///system"
DOCKER_SOCK = RUN_DIR + "/docker.sock"
DOCKER_CONFIG = RUN_DIR + "/daemon.json"
# what production engines set in daemon.json: the container modules must converge on such an engine
# (the daemon merges log-opts into every container's LogConfig; the pools keep clear of libvirt's
# 192.168.122.0/24 and of docker's 172.17.0.0/16 default bridge)
DOCKERD_SETTINGS = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
    "default-address-pools": [{"base": "10.231.0.0/16", "size": 24}],  # clear of the 10.213.x.0/24 libvirt test networks
    "live-restore": True,
}
DOCKER_HOST = "unix://" + DOCKER_SOCK
IMAGE_CACHE = os.environ.get("HYBRIDOPS_IMAGE_CACHE", "/var/cache/hybridops/images")
LAB_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(LAB_DIR, "..", ".."))
# the harness's own marker on the guests it defines: not the collection's namespace, so its guests are VMs
# "defined elsewhere", as a user's existing estate is (the existing-estate test relies on it)
METADATA_NS = "https://hybridops.dev/lab/1"
GUEST_PREFIX = "hybridops-lab-"


def log(msg):
    print("==> [lab] " + msg, file=sys.stderr, flush=True)


def run(cmd, check=True, capture=True, **kwargs):
    return subprocess.run(cmd, check=check, capture_output=capture, text=True, **kwargs)


def netns_path():
    return "/run/netns/" + NETNS


def in_netns():
    """True when this process already lives in the lab's network namespace."""
    try:
        return os.stat("/proc/self/ns/net").st_ino == os.stat(netns_path()).st_ino
    except FileNotFoundError:
        return False


def nsenter(cmd):
    return ["nsenter", "--net=" + netns_path()] + list(cmd)


def reexec_in_netns():
    """Re-run this very command inside the namespace (for commands that reach VM addresses)."""
    if not in_netns():
        os.execvp("nsenter", nsenter([sys.executable] + sys.argv))


# --------------------------------------------------------------------- daemons

RESERVED_PORTS = "39000-39999"  # the host ports tests publish above 32767 (HYBRIDOPS_MATRIX_PORT and the next 200)


def ensure_netns():
    if not os.path.exists(netns_path()):
        log("creating network namespace " + NETNS)
        run(["ip", "netns", "add", NETNS])
    run(["ip", "-n", NETNS, "link", "set", "lo", "up"])
    # the option matrix publishes fixed host ports in 39000-39999, inside the kernel's ephemeral range: an
    # outgoing connection of the namespace (SSH to a guest, an HTTP load loop) took one of them as its source
    # port once, and the engine could not bind it ("address already in use"); reserved, they are never picked
    proc = run(["ip", "netns", "exec", NETNS, "sysctl", "-q", "-w", "net.ipv4.ip_local_reserved_ports=" + RESERVED_PORTS],
               check=False)
    if proc.returncode != 0:
        log("could not reserve ports %s in %s: %s" % (RESERVED_PORTS, NETNS, (proc.stderr or "").strip()))


def pid_alive(pid):
    """True while process ``pid`` runs. A child of this process that exited is reaped here, and a zombie counts as
    ended: a daemon the test session spawned and stopped stays a zombie until its parent waits for it, so
    ``kill(pid, 0)`` alone would report it alive until the wait timed out."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:  # not our child
        pass
    try:
        with open("/proc/%d/stat" % pid) as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(path):
    try:
        with open(path) as handle:
            pid = int(handle.read().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_in_netns(pid):
    try:
        return os.stat("/proc/%d/ns/net" % pid).st_ino == os.stat(netns_path()).st_ino
    except FileNotFoundError:
        return False


def spawn_daemon(name, cmd, pidfile):
    """Start a daemon in the namespace, detached, logging to LOG_DIR; record its PID."""
    os.makedirs(LOG_DIR, exist_ok=True)
    logfile = open(os.path.join(LOG_DIR, name + ".log"), "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(nsenter(cmd), stdout=logfile, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                            stdin=subprocess.DEVNULL, start_new_session=True)
    with open(pidfile, "w") as handle:
        handle.write(str(proc.pid))
    return proc.pid


def wait_for(what, probe, timeout, interval=1.0, diagnose=None):
    """Poll probe() until it returns a truthy value; fail with a diagnosis on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = diagnose() if diagnose else ""
            raise LabError("timed out after %ds waiting for %s%s" % (timeout, what, ("\n" + detail) if detail else ""))
        time.sleep(interval)


class LabError(Exception):
    pass


def docker_ping():
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(DOCKER_SOCK)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b"OK" in sock.recv(4096)
    except OSError:
        return False


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except FileNotFoundError:
        return "(no %s)" % path


def dockerd_config_text():
    return json.dumps(DOCKERD_SETTINGS, indent=2, sort_keys=True) + "\n"


def dockerd_config_current(pid):
    """True when the dockerd ``pid`` was started with the lab's current daemon.json."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = handle.read().decode(errors="replace").split("\0")
        with open(DOCKER_CONFIG) as handle:
            text = handle.read()
    except OSError:
        return False
    return "--config-file=" + DOCKER_CONFIG in argv and text == dockerd_config_text()


def ensure_dockerd():
    pidfile = RUN_DIR + "/dockerd.pid"
    if docker_ping():
        running = read_pid(pidfile)
        if running and not dockerd_config_current(running):
            # restarting would stop every container of whoever shares the lab: say so instead
            log("WARNING: dockerd (pid %d) runs without the lab's daemon.json (%s); run `lab.py restart-dockerd` "
                "(under the lab lock) to apply it" % (running, json.dumps(DOCKERD_SETTINGS, sort_keys=True)))
        return
    stale = read_pid(pidfile)
    if stale:
        raise LabError("dockerd (pid %d) runs but %s does not answer; see %s" % (stale, DOCKER_SOCK, LOG_DIR + "/dockerd.log"))
    log("starting dockerd in namespace %s (socket %s)" % (NETNS, DOCKER_SOCK))
    os.makedirs(STATE_DIR + "/docker", exist_ok=True)
    os.makedirs(RUN_DIR, exist_ok=True)
    # the lab's own file: the host's /etc/docker/daemon.json is never read or written
    with open(DOCKER_CONFIG, "w") as handle:
        handle.write(dockerd_config_text())
    spawn_daemon("dockerd", [
        "dockerd", "--host", DOCKER_HOST,
        "--config-file=" + DOCKER_CONFIG,
        "--data-root", STATE_DIR + "/docker",
        "--exec-root", RUN_DIR + "/docker-exec",
        "--pidfile", RUN_DIR + "/docker-daemon.pid",
    ], pidfile)
    wait_for("dockerd on " + DOCKER_SOCK, docker_ping, 60,
             diagnose=lambda: tail(LOG_DIR + "/dockerd.log"))


def restart_dockerd():
    """Stop the lab's dockerd (by its PID) and start it with the current daemon.json."""
    stop_pidfile("dockerd")
    wait_for("dockerd to stop", lambda: not docker_ping(), 60)
    ensure_dockerd()


def libvirt_ping():
    return run(["virsh", "-c", LIBVIRT_URI, "version"], check=False).returncode == 0


def find_pid(exe_name):
    """PID of a running process whose executable is exe_name (first match), else None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.path.basename(os.readlink("/proc/%s/exe" % entry)) == exe_name:
                return int(entry)
        except OSError:
            continue
    return None


NO_KVM_FILE = RUN_DIR + "/no-kvm"
QEMU_CONF = "/etc/libvirt/qemu.conf"
LAB_QEMU_CONF = RUN_DIR + "/qemu.conf"


def libvirtd_command(use_kvm):
    """libvirtd, with /dev/kvm hidden in a mount namespace of its own when KVM does not work.

    libvirt probes qemu as root (KVM found) but checks KVM as the qemu user
    (denied where /dev/kvm is 0600): it then finds its capability cache stale
    on every lookup and re-probes qemu, ~4 s each, minutes per define. A plain
    0600 file over /dev/kvm makes both answers "no KVM". libvirt cannot move
    that file mount into a guest's private /dev, so in the same namespace (and
    only there) qemu.conf gets `namespaces = []`.
    """
    if use_kvm or not os.path.exists("/dev/kvm"):
        return ["libvirtd"]
    with open(NO_KVM_FILE, "w"):
        pass
    os.chmod(NO_KVM_FILE, 0o600)
    script = "mount --bind %s /dev/kvm" % NO_KVM_FILE
    if os.path.exists(QEMU_CONF):
        with open(QEMU_CONF) as handle:
            conf = handle.read()
        with open(LAB_QEMU_CONF, "w") as handle:
            handle.write(conf + "\n# hybridops lab: /dev/kvm is hidden by a file mount\nnamespaces = []\n")
        os.chmod(LAB_QEMU_CONF, 0o600)
        script += " && mount --bind %s %s" % (LAB_QEMU_CONF, QEMU_CONF)
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script + " && exec libvirtd"]


def ensure_libvirtd(use_kvm):
    for name in ("virtlogd", "libvirtd"):
        pid = find_pid(name)
        if pid:
            if not pid_in_netns(pid):
                log("WARNING: %s (pid %d) already runs outside namespace %s; using it as it is" % (name, pid, NETNS))
            continue
        log("starting %s in namespace %s" % (name, NETNS))
        spawn_daemon(name, libvirtd_command(use_kvm) if name == "libvirtd" else [name], RUN_DIR + "/" + name + ".pid")
        if name == "virtlogd":
            wait_for("virtlogd socket", lambda: os.path.exists("/run/libvirt/virtlogd-sock"), 30,
                     diagnose=lambda: tail(LOG_DIR + "/virtlogd.log"))
    wait_for("libvirtd (%s)" % LIBVIRT_URI, libvirt_ping, 60, interval=1,
             diagnose=lambda: tail(LOG_DIR + "/libvirtd.log"))


def ensure_network():
    conn = libvirt_connect()
    try:
        try:
            net = conn.networkLookupByName(NETWORK_NAME)
        except libvirt_module().libvirtError:
            log("defining libvirt network %s" % NETWORK_NAME)
            with open("/usr/share/libvirt/networks/default.xml") as handle:
                net = conn.networkDefineXML(handle.read())
        if not net.isActive():
            log("starting libvirt network %s (inside %s)" % (NETWORK_NAME, NETNS))
            net.create()
        net.setAutostart(True)
    finally:
        conn.close()


def refresh_pool(pool, timeout=300):
    """``pool.refresh(0)``, waiting while another client's volume job runs in the pool (a seed upload, a
    clone): libvirt refuses a refresh meanwhile ("has asynchronous jobs running"), and the test sessions
    that run side by side share the lab's pool."""
    libvirt = libvirt_module()
    deadline = time.monotonic() + timeout
    while True:
        try:
            pool.refresh(0)
            return
        except libvirt.libvirtError as exc:
            if "asynchronous jobs running" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def ensure_pool():
    os.makedirs(POOL_DIR, exist_ok=True)
    conn = libvirt_connect()
    try:
        try:
            pool = conn.storagePoolLookupByName(POOL_NAME)
        except libvirt_module().libvirtError:
            log("defining storage pool %s at %s" % (POOL_NAME, POOL_DIR))
            pool = conn.storagePoolDefineXML(
                "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (POOL_NAME, POOL_DIR), 0)
        if not pool.isActive():
            pool.create(0)
        pool.setAutostart(True)
        refresh_pool(pool)
    finally:
        conn.close()


def up():
    os.makedirs(RUN_DIR, exist_ok=True)
    ensure_netns()
    ensure_dockerd()
    # the guest image comes first: its kernel tells whether KVM really works,
    # which decides how libvirtd is started
    cache_dir = build_cached_image()
    ensure_libvirtd(kvm_works(cache_dir))
    ensure_network()
    ensure_pool()
    prune_old_images(import_image(cache_dir))
    log("lab daemons up: namespace %s, DOCKER_HOST=%s, libvirt %s" % (NETNS, DOCKER_HOST, LIBVIRT_URI))


def stop_pidfile(name):
    pidfile = RUN_DIR + "/" + name + ".pid"
    pid = read_pid(pidfile)
    if pid is None:
        return
    log("stopping %s (pid %d, started by the lab)" % (name, pid))
    os.kill(pid, 15)
    try:
        wait_for(name + " to exit", lambda: not pid_alive(pid), 30)
    except LabError:
        os.kill(pid, 9)
    os.unlink(pidfile)


def down():
    import hypervisors  # pylint: disable=import-outside-toplevel
    hypervisors.down()
    if libvirt_ping():
        for name in lab_guest_names():
            destroy_guest(name)
    for name in ("libvirtd", "virtlogd", "dockerd"):
        stop_pidfile(name)


# ------------------------------------------------------------------- libvirt

def libvirt_module():
    import libvirt  # pylint: disable=import-outside-toplevel
    return libvirt


def libvirt_connect():
    libvirt = libvirt_module()
    libvirt.registerErrorHandler(lambda *_: None, None)
    return libvirt.open(LIBVIRT_URI)


def lab_guest_names():
    conn = libvirt_connect()
    try:
        return [dom.name() for dom in conn.listAllDomains(0) if dom.name().startswith(GUEST_PREFIX)]
    finally:
        conn.close()


# ------------------------------------------------------------------ accelerator

def kvm_works(image_dir):
    """KVM can exist and still hang: boot the lab kernel briefly and look for its banner."""
    forced = os.environ.get("HYBRIDOPS_LAB_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced == "kvm"
    cache = os.path.join(RUN_DIR, "kvm-probe")
    if os.path.exists(cache):
        with open(cache) as handle:
            return handle.read().strip() == "kvm"
    result = False
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        try:
            proc = subprocess.run(
                ["qemu-system-x86_64", "-accel", "kvm", "-M", "q35", "-m", "256", "-nographic", "-no-reboot",
                 "-kernel", os.path.join(image_dir, "vmlinuz"), "-append", "console=ttyS0 panic=-1 root=/dev/null",
                 "-serial", "stdio", "-monitor", "none", "-display", "none", "-nodefaults"],
                capture_output=True, timeout=20, check=False)
            result = b"Linux version" in proc.stdout and b"Kernel panic" in proc.stdout
        except subprocess.TimeoutExpired:
            result = False
    with open(cache, "w") as handle:
        handle.write("kvm" if result else "tcg")
    log("accelerator: %s" % ("kvm" if result else "tcg (KVM missing or not working)"))
    return result


# ------------------------------------------------------------------ guest image

def imported_paths(key):
    """Where the lab puts image ``key``: its pool volume, kernel and initrd."""
    return (os.path.join(POOL_DIR, key + ".qcow2"), os.path.join(BOOT_DIR, key + "-vmlinuz"),
            os.path.join(BOOT_DIR, key + "-initrd.img"))


class BaseImage:
    """The cached guest base image, imported into the lab pool."""

    def __init__(self, cache_dir):
        self.cache_dir = cache_dir
        self.key = os.path.basename(cache_dir)
        self.volume = "%s.qcow2" % self.key
        self.path, self.kernel, self.initrd = imported_paths(self.key)
        with open(os.path.join(cache_dir, "cmdline")) as handle:
            self.cmdline = handle.read().strip()
        self.ssh_key = os.path.join(cache_dir, "id_ed25519")

    def as_dict(self):
        return {"cache_dir": self.cache_dir, "volume": self.volume, "path": self.path, "pool": POOL_NAME,
                "kernel": self.kernel, "initrd": self.initrd, "cmdline": self.cmdline, "ssh_key": self.ssh_key}


def build_cached_image():
    """Run guest_image.sh (cached by recipe hash); returns the cache directory."""
    proc = subprocess.run([os.path.join(LAB_DIR, "guest_image.sh")], stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise LabError("guest image build failed (exit %d)" % proc.returncode)
    return proc.stdout.strip().splitlines()[-1]


def build_image():
    """The cached guest image, imported into the lab pool."""
    return import_image(build_cached_image())


def copy_into_place(src, dest):
    """Copy under a temporary name of this process, then rename: two `lab.py up` at once (a bench
    beside a test run) must not rename each other's half-copied files."""
    tmp = "%s.tmp-%d" % (dest, os.getpid())
    shutil.copyfile(src, tmp)
    os.rename(tmp, dest)


def import_image(cache_dir):
    """Copy the base image into the pool and the kernel/initrd where qemu may read them."""
    image = BaseImage(cache_dir)
    os.makedirs(BOOT_DIR, exist_ok=True)
    for src, dest in (("vmlinuz", image.kernel), ("initrd.img", image.initrd)):
        if not os.path.exists(dest):
            copy_into_place(os.path.join(cache_dir, src), dest)
    if not os.path.exists(image.path):
        log("importing base image into pool %s as %s" % (POOL_NAME, image.volume))
        copy_into_place(os.path.join(cache_dir, "base.qcow2"), image.path)
    os.chmod(image.path, 0o644)
    conn = libvirt_connect()
    try:
        refresh_pool(conn.storagePoolLookupByName(POOL_NAME))
    finally:
        conn.close()
    facts = image.as_dict()
    facts["domain_type"] = "kvm" if kvm_works(cache_dir) else "qemu"
    with open(os.path.join(RUN_DIR, "image.json"), "w") as handle:
        json.dump(facts, handle, indent=2)
    return image


def _paths_in_use(conn):
    """Files that libvirt domains and pool volumes refer to (disks, backing files, kernels, initrds)."""
    libvirt = libvirt_module()
    used = set()
    for dom in conn.listAllDomains(0):
        try:
            root = ET.fromstring(dom.XMLDesc(0))
        except libvirt.libvirtError:
            continue  # undefined while we listed
        used.update(el.text for el in root.findall("./os/kernel") + root.findall("./os/initrd") if el.text)
        for source in root.findall("./devices/disk/source"):
            if source.get("file"):
                used.add(source.get("file"))
            elif source.get("pool") == POOL_NAME and source.get("volume"):
                used.add(os.path.join(POOL_DIR, source.get("volume")))
    pool = conn.storagePoolLookupByName(POOL_NAME)
    refresh_pool(pool)
    for vol in pool.listAllVolumes(0):
        try:
            backing = ET.fromstring(vol.XMLDesc(0)).findtext("./backingStore/path")
        except libvirt.libvirtError:
            continue  # deleted while we listed
        if backing:
            used.add(backing)
    return used


def prune_old_images(current):
    """Remove base images of earlier recipes (pool copy, kernel, initrd, cache) that nothing uses any more.

    An old base that still backs an overlay, or whose kernel a domain boots,
    is kept with its cache directory (which holds the SSH key of its guests).
    """
    pattern = re.compile("^%s-[0-9a-f]+$" % re.escape(current.key.rsplit("-", 1)[0]))
    conn = libvirt_connect()
    try:
        used = _paths_in_use(conn)
        kept = set()
        for key in sorted(os.listdir(IMAGE_CACHE)):
            old = os.path.join(IMAGE_CACHE, key)
            if not pattern.match(key) or old == current.cache_dir or not os.path.isdir(old):
                continue
            paths = imported_paths(key)
            if set(paths) & used:
                kept.add(key)
                continue
            with open(os.path.join(IMAGE_CACHE, ".lock-" + key), "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # guest_image.sh is working on it
                log("removing the unused base image %s (an earlier recipe)" % key)
                if os.path.exists(paths[0]):
                    conn.storagePoolLookupByName(POOL_NAME).storageVolLookupByName(key + ".qcow2").delete(0)
                for path in paths[1:]:
                    if os.path.exists(path):
                        os.unlink(path)
                shutil.rmtree(old)
            os.unlink(os.path.join(IMAGE_CACHE, ".lock-" + key))
        if kept:
            log("keeping earlier base images still in use: %s" % ", ".join(sorted(kept)))
    finally:
        conn.close()


def current_image():
    try:
        with open(os.path.join(RUN_DIR, "image.json")) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return build_image()
    if not os.path.exists(data["path"]):
        return build_image()
    return BaseImage(data["cache_dir"])


# ------------------------------------------------------------------- guests

DOMAIN_TEMPLATE = """<domain type='{domain_type}'>
  <name>{name}</name>
  <metadata><lab:instance xmlns:lab='{ns}'><lab:owner>hybridops-lab</lab:owner></lab:instance></metadata>
  <memory unit='MiB'>{memory}</memory>
  <vcpu>{vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/>{tcg}</features>
  {cpu}
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source pool='{pool}' volume='{volume}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='{network}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
    <console type='file'><source path='{console}'/><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def overlay_volume_xml(name, image):
    return ("<volume><name>{name}.qcow2</name><capacity unit='G'>8</capacity>"
            "<target><format type='qcow2'/></target>"
            "<backingStore><path>{base}</path><format type='qcow2'/></backingStore></volume>").format(
                name=name, base=image.path)


def define_guest(conn, name, image, memory=512, vcpus=1):
    use_kvm = kvm_works(image.cache_dir)
    pool = conn.storagePoolLookupByName(POOL_NAME)
    refresh_pool(pool)
    try:
        pool.storageVolLookupByName(name + ".qcow2").delete(0)
    except libvirt_module().libvirtError:
        pass
    pool.createXML(overlay_volume_xml(name, image), 0)
    console = os.path.join(LOG_DIR, name + ".console.log")
    if os.path.exists(console):
        os.unlink(console)
    xml = DOMAIN_TEMPLATE.format(
        domain_type="kvm" if use_kvm else "qemu", name=name, ns=METADATA_NS, memory=memory, vcpus=vcpus,
        kernel=image.kernel, initrd=image.initrd, cmdline=image.cmdline,
        tcg="" if use_kvm else "<tcg><tb-cache unit='MiB'>256</tb-cache></tcg>",
        cpu="<cpu mode='host-passthrough'/>" if use_kvm else "",
        pool=POOL_NAME, volume=name + ".qcow2", network=NETWORK_NAME, console=console)
    return conn.defineXML(xml)


def domain_macs(dom):
    root = ET.fromstring(dom.XMLDesc(0))
    return [mac.get("address") for mac in root.findall("./devices/interface/mac")]


def lease_ip(conn, dom):
    macs = set(domain_macs(dom))
    for lease in conn.networkLookupByName(NETWORK_NAME).DHCPLeases():
        if lease.get("mac") in macs and lease.get("type") == 0:  # IPv4
            return lease["ipaddr"]
    return None


def tcp_open(host, port, timeout=3):
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            return sock.recv(64).startswith(b"SSH-") if port == 22 else True
    except OSError:
        return False


def ssh_cmd(image, ip, command):
    return ["ssh", "-i", image.ssh_key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-o", "BatchMode=yes", "root@" + ip, command]


def guest_diagnosis(conn, name):
    try:
        dom = conn.lookupByName(name)
        state = dom.state()[0]
        macs = domain_macs(dom)
        ip = lease_ip(conn, dom)
    except libvirt_module().libvirtError as exc:
        return "domain %s: %s" % (name, exc)
    return ("domain %s: libvirt state %s, MACs %s, lease %s\nlast console lines:\n%s"
            % (name, state, macs, ip, tail(os.path.join(LOG_DIR, name + ".console.log"), 25)))


def boot_guests(names, memory=512, wait_docker=True, timeout=600, reuse=False):
    """Boot guests concurrently (they are CPU-bound under TCG) and wait until each answers SSH (and docker).

    A guest of the same name left by an earlier run (a kept lab, a machine
    snapshot) is destroyed and booted from a fresh overlay, so tests start
    from the base image; reuse=True keeps and starts it instead.
    """
    reexec_check()
    image = current_image()
    os.chmod(image.ssh_key, 0o600)
    if not reuse:
        for name in names:
            destroy_guest(name)
    conn = libvirt_connect()
    started = time.monotonic()
    guests = {}
    try:
        for name in names:
            try:
                dom = conn.lookupByName(name)
                if not dom.isActive():
                    dom.create()
                log("reusing guest %s" % name)
            except libvirt_module().libvirtError:
                log("defining and starting %s (overlay on %s)" % (name, image.volume))
                dom = define_guest(conn, name, image, memory=memory)
                dom.create()
            guests[name] = {"name": name}
        pending = dict(guests)
        deadline = started + timeout
        while pending:
            if time.monotonic() > deadline:
                raise LabError("guests not ready after %ds:\n%s" % (
                    timeout, "\n".join(guest_diagnosis(conn, n) for n in pending)))
            for name in list(pending):
                guest = guests[name]
                dom = conn.lookupByName(name)
                if not dom.isActive():
                    raise LabError("guest %s stopped while booting\n%s" % (name, guest_diagnosis(conn, name)))
                if "ip" not in guest:
                    ip = lease_ip(conn, dom)
                    if ip:
                        guest["ip"] = ip
                        guest["lease_s"] = round(time.monotonic() - started, 1)
                        log("%s: DHCP lease %s after %.0fs; waiting for SSH" % (name, ip, guest["lease_s"]))
                    continue
                if "ssh_s" not in guest:
                    if tcp_open(guest["ip"], 22) and run(ssh_cmd(image, guest["ip"], "true"), check=False).returncode == 0:
                        guest["ssh_s"] = round(time.monotonic() - started, 1)
                        log("%s: SSH up after %.0fs%s" % (name, guest["ssh_s"], "; waiting for dockerd" if wait_docker else ""))
                    if not wait_docker or "ssh_s" not in guest:
                        if "ssh_s" in guest:
                            del pending[name]
                        continue
                probe = run(ssh_cmd(image, guest["ip"], "docker info --format '{{.ServerVersion}}'"), check=False)
                if probe.returncode == 0:
                    guest["docker_s"] = round(time.monotonic() - started, 1)
                    guest["docker_version"] = probe.stdout.strip()
                    log("%s: dockerd %s up after %.0fs" % (name, guest["docker_version"], guest["docker_s"]))
                    del pending[name]
            if pending:
                time.sleep(3)  # gentle polling: fast polling slows TCG guests
    finally:
        conn.close()
    for guest in guests.values():
        guest.update({"ssh_key": image.ssh_key, "user": "root"})
    return list(guests.values())


def destroy_guest(name):
    conn = libvirt_connect()
    libvirt = libvirt_module()
    try:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError:
            dom = None
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
            log("destroyed guest " + name)
        try:
            pool = conn.storagePoolLookupByName(POOL_NAME)
            refresh_pool(pool)
            pool.storageVolLookupByName(name + ".qcow2").delete(0)
        except libvirt.libvirtError:
            pass
    finally:
        conn.close()


def write_inventory(guests, path):
    """An INI inventory for the booted guests (group `lab_guests`)."""
    lines = ["[lab_guests]"]
    for guest in guests:
        lines.append("%s ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s" % (
            guest["name"], guest["ip"], guest["ssh_key"]))
    # pipelining: one SSH round trip per task, each a process start in a TCG guest
    lines += ["", "[lab_guests:vars]", "ansible_python_interpreter=/usr/bin/python3", "ansible_pipelining=true",
              "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def reexec_check():
    if not in_netns():
        raise LabError("this must run inside namespace %s (nsenter --net=%s ...)" % (NETNS, netns_path()))


# --------------------------------------------------------------- local images

def busybox_rootfs_tar(dest):
    """A tar of a busybox-static root filesystem (no registry needed)."""
    import tarfile  # pylint: disable=import-outside-toplevel
    busybox = shutil.which("busybox") or "/bin/busybox"
    applets = run([busybox, "--list"]).stdout.split()
    with tarfile.open(dest, "w") as tar:
        for directory in ("bin", "etc", "tmp", "www", "data", "proc", "sys", "dev", "var", "root"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets:
            if applet == "busybox":
                continue
            info = tarfile.TarInfo("bin/" + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for name, content in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
                              ("etc/group", "root:x:0:\nnogroup:x:65534:\n")):
            data = content.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            import io  # pylint: disable=import-outside-toplevel
            tar.addfile(info, io.BytesIO(data))


# A process that stops on SIGTERM as a real service does: a PID 1 without a handler ignores it, and every
# stop, rollout and removal then waited out the 10 s stop timeout before the engine's SIGKILL.
EXIT_ON_TERM = "trap 'exit 0' TERM; %s & wait"


def exit_on_term(command):
    """The argv that runs the shell command ``command`` under a shell that exits on SIGTERM."""
    return ["sh", "-c", EXIT_ON_TERM % command]


HTTPD = "httpd -f -p 8080 -h /www"

# Health probes every 10 s: each probe is a process start in a TCG guest, and at 2-3 s two idle lab guests
# spent most of a CPU on them; a container is healthy about one interval after it starts.
WEB_DOCKERFILE = """FROM {base}
RUN mkdir -p /www && echo '{body}' > /www/index.html
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1
CMD {cmd}
"""

# The demo application of the lab: `demo-web` serves a page whose CGI asks
# `demo-api` (by name, on the stack's network) for its answer; demo-web is
# healthy only while it can reach the API.
DEMO_API_DOCKERFILE = """FROM {base}
RUN mkdir -p /www/api && echo '{{"service": "demo-api", "version": 1, "status": "ok"}}' > /www/api/status
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=10s --start-period=30s --retries=5 CMD wget -q -O /dev/null http://127.0.0.1:8080/api/status || exit 1
CMD {cmd}
"""
DEMO_WEB_CGI = """#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "hybridops demo-web on $(hostname)"
echo "api says: $(wget -q -O - http://${API_HOST:-demo-api}:8080/api/status 2>&1)"
"""
DEMO_WEB_DOCKERFILE = """FROM {base}
COPY index.cgi /www/cgi-bin/index.cgi
RUN chmod 755 /www/cgi-bin/index.cgi && echo 'hybridops demo-web {body}' > /www/index.html
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=10s --start-period=30s --retries=5 \\
  CMD wget -q -O - http://127.0.0.1:8080/cgi-bin/index.cgi | grep -q '"status": "ok"' || exit 1
CMD {cmd}
"""

LOCAL_IMAGES = {
    "hybridops/web:1": {"dockerfile": WEB_DOCKERFILE, "body": "hybridops web v1", "command": "httpd -f -v -p 8080 -h /www"},
    "hybridops/web:2": {"dockerfile": WEB_DOCKERFILE, "body": "hybridops web v2", "command": "httpd -f -v -p 8080 -h /www"},
    "hybridops/demo-api:1": {"dockerfile": DEMO_API_DOCKERFILE, "command": HTTPD},
    "hybridops/demo-web:1": {"dockerfile": DEMO_WEB_DOCKERFILE, "body": "v1", "command": HTTPD,
                             "files": {"index.cgi": DEMO_WEB_CGI}},
    # the version scripts/lab rollout rolls demo-web out to (its / says which version answers)
    "hybridops/demo-web:2": {"dockerfile": DEMO_WEB_DOCKERFILE, "body": "v2", "command": HTTPD,
                             "files": {"index.cgi": DEMO_WEB_CGI}},
}
BASE_IMAGE_TAG = "hybridops/busybox:lab"


class held_lock:  # pylint: disable=invalid-name
    """An exclusive flock on RUN_DIR/NAME.lock while the block runs (waits for other holders).

    Test sessions and molecule run side by side: image builds of the same tags must not overlap, or a tag
    could move to a second, equal image while a test is using the first (a false "image changed")."""

    def __init__(self, name):
        self.path = os.path.join(RUN_DIR, name + ".lock")
        self.handle = None

    def __enter__(self):
        os.makedirs(RUN_DIR, exist_ok=True)
        self.handle = open(self.path, "w")  # pylint: disable=consider-using-with
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.handle.close()  # closing releases the lock
        return False


def build_local_images(docker_host=DOCKER_HOST, archive=None):
    """Build hybridops/busybox:lab and hybridops/web:{1,2} locally; optionally save them to an archive."""
    with held_lock("local-images"):
        return _build_local_images(docker_host, archive)


def _build_local_images(docker_host, archive):
    import tempfile  # pylint: disable=import-outside-toplevel
    env = dict(os.environ, DOCKER_HOST=docker_host, DOCKER_BUILDKIT="0")
    with tempfile.TemporaryDirectory() as tmp:
        busybox_rootfs_tar(os.path.join(tmp, "rootfs.tar"))
        with open(os.path.join(tmp, "Dockerfile"), "w") as handle:
            handle.write('FROM scratch\nADD rootfs.tar /\nCMD ["sh"]\n')
        run(["docker", "build", "-q", "-t", BASE_IMAGE_TAG, tmp], env=env)
        for tag, spec in LOCAL_IMAGES.items():
            ctx = os.path.join(tmp, tag.replace("/", "_").replace(":", "_"))
            os.makedirs(ctx)
            with open(os.path.join(ctx, "Dockerfile"), "w") as handle:
                command = json.dumps(exit_on_term(spec["command"]))
                handle.write(spec["dockerfile"].format(base=BASE_IMAGE_TAG, body=spec.get("body", ""), cmd=command))
            for name, content in spec.get("files", {}).items():
                with open(os.path.join(ctx, name), "w") as handle:
                    handle.write(content)
            run(["docker", "build", "-q", "-t", tag, ctx], env=env)
    tags = [BASE_IMAGE_TAG] + list(LOCAL_IMAGES)
    if archive:
        # re-save only when an image changed: a new archive (same images,
        # new bytes) would make every copy of it to the VMs a change
        ids = run(["docker", "image", "inspect", "--format", "{{.Id}}"] + tags, env=env).stdout.split()
        stamp = archive + ".ids"
        saved = None
        if os.path.exists(archive) and os.path.exists(stamp):
            with open(stamp) as handle:
                saved = handle.read().split()
        if saved != ids:
            # a temporary name of this process, as in copy_into_place
            tmp = "%s.tmp-%d" % (archive, os.getpid())
            run(["docker", "save", "-o", tmp] + tags, env=env)
            os.rename(tmp, archive)
            with open(stamp, "w") as handle:
                handle.write("\n".join(ids))
    log("local images built: %s" % ", ".join(tags))
    return tags


# --------------------------------------------------------------- environment

class LabEnv:
    """What tests need to know about the running lab."""

    def __init__(self):
        self.netns = NETNS
        self.docker_host = DOCKER_HOST
        self.libvirt_uri = LIBVIRT_URI
        self.pool = POOL_NAME
        self.network = NETWORK_NAME
        self.log_dir = LOG_DIR

    @classmethod
    def from_environment(cls):
        return cls()

    def check(self):
        problems = []
        if not os.path.exists(netns_path()):
            problems.append("namespace %s does not exist" % NETNS)
        elif not in_netns():
            problems.append("tests are not running inside namespace %s" % NETNS)
        if not docker_ping():
            problems.append("dockerd does not answer on %s" % DOCKER_SOCK)
        if not libvirt_ping():
            problems.append("libvirtd does not answer on %s" % LIBVIRT_URI)
        return problems

    def image(self):
        return current_image()

    def boot(self, names, **kwargs):
        return boot_guests(names, **kwargs)

    def destroy(self, name):
        destroy_guest(name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up")
    sub.add_parser("image")
    images = sub.add_parser("images")
    images.add_argument("--archive")
    boot = sub.add_parser("boot")
    boot.add_argument("names", nargs="+")
    boot.add_argument("--memory", type=int, default=512)
    boot.add_argument("--no-docker", action="store_true")
    boot.add_argument("--inventory")
    boot.add_argument("--timeout", type=int, default=600)
    boot.add_argument("--reuse", action="store_true", help="start a guest left by an earlier run instead of rebooting it fresh")
    destroy = sub.add_parser("destroy")
    destroy.add_argument("names", nargs="+")
    hvs = sub.add_parser("hypervisors")
    hvs.add_argument("action", choices=["up", "down", "status"])
    hvs.add_argument("--count", type=int, default=2)
    sub.add_parser("down")
    sub.add_parser("restart-dockerd")
    sub.add_parser("status")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        os.execvp("sudo", ["sudo", "-E", sys.executable] + sys.argv)
    try:
        if args.command == "up":
            up()
        elif args.command == "image":
            print(json.dumps(build_image().as_dict(), indent=2))
        elif args.command == "images":
            build_local_images(archive=args.archive)
        elif args.command == "boot":
            reexec_in_netns()
            names = [n if n.startswith(GUEST_PREFIX) else GUEST_PREFIX + n for n in args.names]
            guests = boot_guests(names, memory=args.memory, wait_docker=not args.no_docker, timeout=args.timeout,
                                 reuse=args.reuse)
            if args.inventory:
                write_inventory(guests, args.inventory)
            print(json.dumps(guests, indent=2))
        elif args.command == "destroy":
            for name in args.names:
                destroy_guest(name if name.startswith(GUEST_PREFIX) else GUEST_PREFIX + name)
        elif args.command == "hypervisors":
            import hypervisors  # pylint: disable=import-outside-toplevel
            hypervisors.main(args)
        elif args.command == "down":
            down()
        elif args.command == "restart-dockerd":
            ensure_netns()
            restart_dockerd()
        elif args.command == "status":
            print(json.dumps({"netns": os.path.exists(netns_path()), "dockerd": docker_ping(),
                              "libvirtd": libvirt_ping(), "guests": lab_guest_names() if libvirt_ping() else []},
                             indent=2))
    except LabError as exc:
        print("lab: " + str(exc), file=sys.stderr)
        return 1
    except Exception as exc:  # pylint: disable=broad-except
        if type(exc).__name__ != "libvirtError":
            raise
        print("lab: libvirt: " + str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.modules.setdefault("lab", sys.modules[__name__])  # hypervisors.py imports this very module as `lab`
    sys.exit(main())

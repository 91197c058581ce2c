"""An existing VM estate, end to end, on the session's shared guest.

The guest stands for a VM someone else made years ago:
- defined from plain domain XML through libvirt by the lab harness, with no metadata of the collection's
  (the harness marks its guests in a namespace of its own, lab.METADATA_NS);
- reached as a normal user with passwordless sudo and an SSH key of its own (not root, not the lab's key);
- running the distribution's Docker engine with a daemon.json of its own (log options, address pools,
  labels) and a container nobody in this collection started.

The inventory finds it by a name pattern and composes the user and the key; prepare_hosts and deploy
(become through sudo) put a stack on it; the foreign container and the daemon.json settings survive; a
rerun changes nothing and restarts nothing; vm_discover and the inventory's container listing work through
sudo; adoption adds only the collection's ownership metadata (diff asserted). Everything is undone after.
"""
import json
import os
import re
import subprocess

import lab
import pytest
from inventory_support import ansible_inventory

libvirt = pytest.importorskip("libvirt")

URI = "qemu:///system"
USER = "estate-ops"
FOREIGN = "estate-legacy-app"  # started by "someone else" with the docker CLI
STACK = "estate-shop"
MEMBER = "estate-web"  # the stack's one member
ARCHIVE = os.path.join(lab.RUN_DIR, "lab-images.tar")
GUEST_ARCHIVE = "/var/tmp/estate-images.tar"
FLEET_NS = "https://hybridops.dev/fleet/1"
# a production-like daemon.json: none of these keys is one container_host sets by default except log-opts,
# whose max-size must stay the estate's
LEGACY_DAEMON = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "5m"},
    "default-address-pools": [{"base": "10.240.0.0/16", "size": 24}],
    "labels": ["estate=legacy"],
    "max-concurrent-downloads": 2,
}
# what container_host makes of it: the estate's settings kept, the role's defaults fill in only what is missing
# (max-file, live-restore), container_host_daemon_config changes what it names (max-concurrent-downloads)
MERGED_DAEMON = dict(LEGACY_DAEMON, **{"log-opts": {"max-size": "5m", "max-file": "3"}, "live-restore": True,
                                       "max-concurrent-downloads": 4})

# one task (each is seconds on a TCG guest): the sections the assertions read, separated by a marker line
MARK = "--estate--"
STATE_SCRIPT = " ; echo %s ; " % MARK
STATE_SCRIPT = STATE_SCRIPT.join([
    "cat /etc/docker/daemon.json",
    "systemctl show -p MainPID --value docker",
    "docker inspect --format '{{ '{{' }}.Name{{ '}}' }} {{ '{{' }}.Id{{ '}}' }} {{ '{{' }}.State.Status{{ '}}' }} "
    "{{ '{{' }}.State.StartedAt{{ '}}' }}' %s %s" % (FOREIGN, MEMBER),
    "docker info --format '{{ '{{' }}json .Labels{{ '}}' }}'",
])


def ok(result):
    assert not result.get("failed"), json.dumps(result, indent=1)[-3000:]
    return result


def engine_state(ansible, inventory, hosts):
    """daemon.json, dockerd's PID, the two containers' [id, status, started] by name and the engine's labels."""
    result = ok(ansible.run_tasks([{"ansible.builtin.shell": STATE_SCRIPT, "become": True}], hosts=hosts,
                                  inventory=inventory)[hosts][0])
    daemon, pid, containers, labels = [part.strip() for part in result["stdout"].split(MARK)]
    rows = [line.split() for line in containers.splitlines()]
    return {"daemon": json.loads(daemon), "pid": pid, "containers": dict((row[0].lstrip("/"), row[1:]) for row in rows),
            "labels": json.loads(labels)}


@pytest.fixture(scope="module")
def estate(lab_guest, ansible, tmp_path_factory):
    """The shared guest made a legacy VM (user, key, sudo, daemon.json, a foreign container); undone after."""
    assert os.path.exists(ARCHIVE), "the lab's image archive is missing: python tests/lab/lab.py images --archive " + ARCHIVE
    workdir = tmp_path_factory.mktemp("estate")
    key = str(workdir / "estate_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", USER, "-f", key], check=True,
                   stdin=subprocess.DEVNULL)
    with open(key + ".pub") as handle:
        public_key = handle.read()
    name = lab_guest["name"]
    setup = ansible.run_tasks([
        {"ansible.builtin.slurp": {"src": "/etc/docker/daemon.json"}},
        {"ansible.builtin.user": {"name": USER, "shell": "/bin/bash"}},
        {"ansible.builtin.file": {"path": "/home/%s/.ssh" % USER, "state": "directory", "owner": USER, "group": USER,
                                  "mode": "0700"}},
        {"ansible.builtin.copy": {"dest": "/home/%s/.ssh/authorized_keys" % USER, "content": public_key,
                                  "owner": USER, "group": USER, "mode": "0600"}},
        {"ansible.builtin.copy": {"dest": "/etc/sudoers.d/estate", "content": "%s ALL=(ALL:ALL) NOPASSWD: ALL\n" % USER,
                                  "mode": "0440", "validate": "visudo -cf %s"}},
        {"ansible.builtin.copy": {"dest": "/etc/docker/daemon.json", "content": json.dumps(LEGACY_DAEMON, indent=4),
                                  "mode": "0644"}},
        {"ansible.builtin.copy": {"src": ARCHIVE, "dest": GUEST_ARCHIVE, "mode": "0600"}},
        # the engine as its admin left it: restarted on the new file, the foreign container started by hand
        {"ansible.builtin.shell": "systemctl restart docker && docker load -q -i %s && docker rm -f %s %s"
                                  " >/dev/null 2>&1; docker run -d --name %s --restart unless-stopped hybridops/web:1"
                                  % (GUEST_ARCHIVE, FOREIGN, MEMBER, FOREIGN)},
    ], hosts="lab_guests", inventory=lab_guest["inventory"])[name]
    for result in setup:
        ok(result)
    original_daemon = setup[0]["content"]
    inventory = workdir / "estate.libvirt.yml"
    # the documented path (docs/existing-estates.md): select by name pattern, compose user and key, no
    # metadata of ours needed; the pattern matches the session's guest and the play is limited to it
    inventory.write_text(json.dumps({
        "plugin": "hybridops.fleet.libvirt",
        "uris": [URI],
        "filters": {"names": [re.sub(r"-[^-]*$", "-*", name)], "states": ["running"], "managed": False},
        "compose": {"ansible_user": "'%s'" % USER, "ansible_ssh_private_key_file": "'%s'" % key,
                    "ansible_python_interpreter": "'/usr/bin/python3'",
                    "ansible_ssh_common_args": "'-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"},
        "groups": {"legacy": "not fleet_vm.managed"},
    }))
    playbook = workdir / "estate.yml"
    # prepare_hosts then deploy, as a user runs them, in one ansible-playbook process
    playbook.write_text("- import_playbook: hybridops.fleet.prepare_hosts\n- import_playbook: hybridops.fleet.deploy\n")
    yield {"name": name, "ip": lab_guest["ip"], "key": key, "inventory": str(inventory), "playbook": str(playbook),
           "deploy_vars": {
               "fleet_hosts": name, "fleet_stack": STACK,
               "container_host_update_cache": False, "container_host_daemon_config": {"max-concurrent-downloads": 4},
               "fleet_image_archives": [{"src": ARCHIVE, "images": ["hybridops/web:2"]}],
               "fleet_containers": [{"name": MEMBER, "image": "hybridops/web:2", "restart_policy": "unless-stopped"}]}}
    # undo: the stack, the foreign container, the archive, the engine's own daemon.json, the user; the ownership
    # metadata adoption wrote
    undo = ansible.run_tasks([
        {"hybridops.fleet.container_stack": {"name": STACK, "state": "absent"}},
        {"ansible.builtin.shell": "docker rm -f %s; rm -f %s /var/lib/hybridops/images/lab-images.tar" % (FOREIGN, GUEST_ARCHIVE)},
        {"ansible.builtin.copy": {"dest": "/etc/docker/daemon.json", "content": "{{ original | b64decode }}",
                                  "mode": "0644"}, "vars": {"original": original_daemon}},
        {"ansible.builtin.systemd_service": {"name": "docker", "state": "restarted"}},
        # force: its SSH sessions (ansible's ControlPersist) may still be open
        {"ansible.builtin.user": {"name": USER, "state": "absent", "remove": True, "force": True}},
        {"ansible.builtin.file": {"path": "/etc/sudoers.d/estate", "state": "absent"}},
    ], hosts="lab_guests", inventory=lab_guest["inventory"])[name]
    conn = libvirt.open(URI)
    try:
        conn.lookupByName(name).setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, FLEET_NS,
                                            libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_AFFECT_LIVE)
    finally:
        conn.close()
    for result in undo:
        ok(result)


def inventory_list(path, **options):
    """The inventory of ``path``, with ``options`` added to its configuration (a file of its own)."""
    if options:
        with open(path) as handle:
            config = dict(json.load(handle), **options)
        path = path.replace(".libvirt.yml", "-listing.libvirt.yml")
        with open(path, "w") as handle:
            json.dump(config, handle)
    return ansible_inventory(path)


def test_inventory_finds_the_legacy_vm_by_name_pattern(estate):
    data = inventory_list(estate["inventory"])
    assert estate["name"] in data["legacy"]["hosts"], data.get("legacy")
    hostvars = data["_meta"]["hostvars"][estate["name"]]
    assert hostvars["ansible_host"] == estate["ip"] and hostvars["ansible_user"] == USER
    vm = hostvars["fleet_vm"]
    assert vm["managed"] is False and vm["adopted"] is False and vm["tags"] == [] and vm["state"] == "running"
    # the other tool's metadata (the harness's) is read as data, ours is absent
    assert vm["metadata"][lab.METADATA_NS]["instance"]["owner"] == "hybridops-lab", vm["metadata"]
    assert FLEET_NS not in vm["metadata"]


def test_prepare_and_deploy_as_a_sudo_user_keep_the_engine_and_its_containers(estate, ansible):
    """Three runs of prepare_hosts + deploy as the sudo user: --check --diff (predicted and shown, nothing
    applied), the real run (daemon.json merged, one engine restart, the stack up, the foreign container
    kept), a rerun (nothing to do: no handler, no restart, no container touched)."""
    name = estate["name"]
    before = engine_state(ansible, estate["inventory"], name)
    assert before["daemon"] == LEGACY_DAEMON and before["containers"][FOREIGN][1] == "running"
    assert MEMBER not in before["containers"]

    predicted, out = ansible.run_playbook(estate["playbook"], estate["inventory"], extra_vars=estate["deploy_vars"],
                                          check=True, diff=True)
    assert predicted[name]["failed"] == 0 and predicted[name]["unreachable"] == 0, out[-6000:]
    assert predicted[name]["changed"] >= 3, out[-6000:]  # daemon.json, the archive copy, the stack
    assert '"max-concurrent-downloads": 4' in out and '"live-restore": true' in out  # the diff of daemon.json
    assert engine_state(ansible, estate["inventory"], name) == before  # nothing applied, nothing restarted

    recap, out = ansible.run_playbook(estate["playbook"], estate["inventory"], extra_vars=estate["deploy_vars"],
                                      diff=True)
    assert recap[name]["failed"] == 0 and recap[name]["unreachable"] == 0, out[-6000:]
    assert recap[name]["changed"] == predicted[name]["changed"], out[-6000:]  # check mode predicted the run
    assert "RUNNING HANDLER [hybridops.fleet.container_host : Restart docker]" in out
    after = engine_state(ansible, estate["inventory"], name)
    assert after["daemon"] == MERGED_DAEMON, after["daemon"]
    assert after["labels"] == ["estate=legacy"], after["labels"]  # the restarted engine reads the merged file
    foreign_id, status, _started = after["containers"][FOREIGN]
    assert foreign_id == before["containers"][FOREIGN][0] and status == "running"  # same container, running again
    assert after["containers"][MEMBER][1] == "running"
    assert after["pid"] != before["pid"]

    recap, out = ansible.run_playbook(estate["playbook"], estate["inventory"], extra_vars=estate["deploy_vars"])
    assert recap[name]["changed"] == 0 and recap[name]["failed"] == 0, out[-6000:]
    assert "RUNNING HANDLER" not in out
    again = engine_state(ansible, estate["inventory"], name)
    assert again == after, (again, after)  # same engine process, same containers, same start times


def test_discovery_and_container_listing_through_sudo(estate, ansible):
    name = estate["name"]
    discovered, info = ansible.run_tasks([
        {"hybridops.fleet.vm_discover": {"services": ["ssh.service", "docker.service"]}, "become": True},
        {"hybridops.fleet.container_info": {"name": [FOREIGN]}, "become": True},
    ], hosts=name, inventory=estate["inventory"])[name]
    assert sorted(ok(discovered)["services"]) == ["docker.service", "ssh.service"], discovered["services"].keys()
    assert [(c["name"], c["running"]) for c in ok(info)["containers"]] == [(FOREIGN, True)], info

    ssh_args = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    # the user is not in the docker group: the listing needs sudo, and says so without it
    without_sudo = inventory_list(estate["inventory"], containers=True, containers_ssh_args=ssh_args)
    assert "permission denied" in without_sudo["_meta"]["hostvars"][name]["fleet_containers_error"].lower()
    listed = inventory_list(estate["inventory"], containers=True, containers_become=True, containers_ssh_args=ssh_args)
    names = set(c["name"] for c in listed["_meta"]["hostvars"][name]["fleet_containers"])
    assert {FOREIGN, MEMBER} <= names, names


def test_adoption_adds_only_our_metadata(estate, ansible):
    conn = libvirt.open(URI)
    try:
        domain = conn.lookupByName(estate["name"])
        before = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        args = {"uri": URI, "name": estate["name"], "adopt": True}
        predicted, adopted, again = ansible.run_tasks([
            {"hybridops.fleet.libvirt_vm": args, "check_mode": True, "diff": True},
            {"hybridops.fleet.libvirt_vm": args, "diff": True},
            {"hybridops.fleet.libvirt_vm": args},
        ])["localhost"]
        for result in (predicted, adopted):
            assert ok(result)["changed"] is True and result["changes"] == ["adopted"], result
            diff = result["diff"]
            assert diff["before"]["managed"] is False and dict(diff["before"], managed=True, adopted=True) == diff["after"]
        assert ok(again)["changed"] is False
        after = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        ours = re.compile(r"\n *<fleet:vm xmlns:fleet=\"%s\">.*?</fleet:vm>" % re.escape(FLEET_NS), re.S)
        assert ours.search(after) and ours.sub("", after) == before
        # the running VM's live definition carries it too, and the harness's marker is still there
        live = domain.XMLDesc(0)
        assert ours.search(live) and "<lab:owner>hybridops-lab</lab:owner>" in live
    finally:
        conn.close()

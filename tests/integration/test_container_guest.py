"""The container modules on a real guest VM: Ansible over SSH, images copied from the controller as
archives and loaded (no registry), a stack of three containers reachable over the lab network,
second run and check mode changed=false. Runs on the guest's own python3-docker (5.0.3 on Debian 12).
"""
import os

import pytest

# fixtures are imported so pytest finds them
from test_container_support import PREFIX, docker_client, dump, http_get_retry, test_images  # noqa: F401 pylint: disable=unused-import

ARCHIVES = {"hybridops-test/web:1": "web1.tar", "hybridops-test/box:1": "box1.tar"}


@pytest.fixture(scope="module")
def ctr_guest(lab_guest, ansible):
    """The session's guest, without this module's stack, images and archives (so loads really load)."""
    def clean():
        results = ansible.run_tasks(
            [{"hybridops.fleet.container_stack": {"name": PREFIX + "guest", "state": "absent"}}]
            + [{"hybridops.fleet.container_image": {"name": ref, "state": "absent", "force": True}} for ref in ARCHIVES]
            + [{"ansible.builtin.file": {"path": "/var/tmp/%s%s" % (PREFIX, f), "state": "absent"}}
               for f in ARCHIVES.values()],
            hosts="lab_guests", inventory=lab_guest["inventory"])[lab_guest["name"]]
        assert not any(r.get("failed") for r in results), dump(results)
    clean()
    yield lab_guest
    clean()


@pytest.fixture(scope="module")
def archives(docker_client, test_images, tmp_path_factory):
    """docker save archives of the test images, made on the controller."""
    folder = tmp_path_factory.mktemp("archives")
    result = {}
    for ref, filename in ARCHIVES.items():
        path = str(folder / filename)
        with open(path, "wb") as handle:
            for chunk in docker_client.api.get_image(ref):
                handle.write(chunk)
        result[ref] = path
    return result


# TCG guests are slow: probes get more time than the image's 1s/2s defaults, and engine calls more than
# the 60 s default (a container start took longer on a loaded machine)
HEALTH = {"interval": "5s", "timeout": "15s", "retries": 5}
ENGINE_TIMEOUT = 180


def tasks(archives, state="present"):
    result = []
    for ref, path in sorted(archives.items()):
        dest = "/var/tmp/%s%s" % (PREFIX, os.path.basename(path))
        result.append({"ansible.builtin.copy": {"src": path, "dest": dest, "mode": "0600"}})
        result.append({"hybridops.fleet.container_image": {"name": ref, "source": "load", "load_path": dest,
                                                           "timeout": ENGINE_TIMEOUT}})
    result.append({"hybridops.fleet.container_stack": {
        "name": PREFIX + "guest", "state": state, "timeout": ENGINE_TIMEOUT,
        "networks": [{"name": PREFIX + "guestnet"}],
        "volumes": [{"name": PREFIX + "guestdata"}],
        "containers": [
            {"name": PREFIX + "g-web-a", "image": "hybridops-test/web:1", "ports": ["18080:8080"],
             "networks": [{"name": PREFIX + "guestnet", "aliases": ["web-a"]}], "state": "healthy", "healthcheck": HEALTH,
             "volumes": [PREFIX + "guestdata:/data"]},
            {"name": PREFIX + "g-web-b", "image": "hybridops-test/web:1", "ports": ["18081:8080"],
             "networks": [PREFIX + "guestnet"], "depends_on": [PREFIX + "g-web-a"], "state": "healthy",
             "healthcheck": HEALTH, "wait_timeout": 300,
             "secret_env": {"TOKEN": "hybridops-guest-secret-5"}},
            {"name": PREFIX + "g-worker", "image": "hybridops-test/box:1", "networks": [PREFIX + "guestnet"],
             "restart_policy": "unless-stopped"},
        ]}})
    result.append({"hybridops.fleet.container_info": {"stack": PREFIX + "guest", "timeout": ENGINE_TIMEOUT}})
    return result


def test_stack_on_a_real_guest_over_ssh(ansible, ctr_guest, archives):
    name = ctr_guest["name"]
    first = ansible.run_tasks(tasks(archives), hosts="lab_guests", inventory=ctr_guest["inventory"])[name]
    assert not any(r.get("failed") for r in first), dump(first)
    copy_web, load_web = first[2], first[3]  # sorted: box first, then web
    assert load_web["changed"] is True and load_web["actions"] == ["load"], dump(load_web)
    assert copy_web["changed"] is True
    stack = first[4]
    assert sorted(stack["changed_members"]) == [PREFIX + "g-web-a", PREFIX + "g-web-b", PREFIX + "g-worker"]
    info = dict((c["name"], c) for c in first[5]["containers"])
    assert info[PREFIX + "g-web-a"]["health"] == "healthy" and info[PREFIX + "g-web-b"]["health"] == "healthy"
    assert info[PREFIX + "g-worker"]["running"] is True
    # reachable from the lab network on the guest's address
    assert http_get_retry("http://%s:18080/" % ctr_guest["ip"]) == "web v1"
    assert http_get_retry("http://%s:18081/" % ctr_guest["ip"]) == "web v1"
    assert "hybridops-guest-secret-5" not in ansible.last_stdout

    second = ansible.run_tasks(tasks(archives), hosts="lab_guests", inventory=ctr_guest["inventory"])[name]
    assert not any(r.get("failed") for r in second), dump(second)
    assert [r.get("changed") for r in second[:5]] == [False] * 5, dump(second)

    checked = ansible.run_tasks(tasks(archives), hosts="lab_guests", inventory=ctr_guest["inventory"],
                                check=True)[name]
    assert [r.get("changed") for r in checked[:5]] == [False] * 5, dump(checked)

    removed = ansible.run_tasks([tasks(archives, state="absent")[4]], hosts="lab_guests",
                                inventory=ctr_guest["inventory"])[name]
    assert removed[0]["changed"] is True and len(removed[0]["pruned"]) == 3, dump(removed)

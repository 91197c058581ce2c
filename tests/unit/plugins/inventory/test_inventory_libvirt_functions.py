"""Pure functions the hybridops.fleet.libvirt inventory plugin uses: VM filters, hypervisor names, docker ps parsing."""
import pytest

pytest.importorskip("libvirt")

from ansible_collections.hybridops.fleet.plugins.inventory import libvirt as inv  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.domain import vm_matches  # noqa: E402


def facts(name="web-1", state="running", tags=("web",), managed=True):
    return {"name": name, "state": state, "tags": list(tags), "managed": managed}


def test_vm_matches_every_condition():
    # the inventory's filters and libvirt_vm_info's options both go through this one function
    assert vm_matches(facts())
    assert vm_matches(facts(), names=["web-*"], states=["running"], tags=["web"], managed=True)
    assert not vm_matches(facts(), names=["db-*"])
    assert not vm_matches(facts(state="shutoff"), states=["running"])
    assert not vm_matches(facts(tags=()), tags=["web"])
    assert not vm_matches(facts(managed=False), managed=True)


def test_name_and_state_decide_on_a_name_and_a_state_alone():
    # what the inventory checks before a VM's facts are read
    assert not vm_matches({"name": "db-1", "state": "running"}, names=["web-*"], states=["running"])
    assert vm_matches({"name": "web-2", "state": "running"}, names=["web-*"], states=["running"])
    assert not vm_matches({"name": "web-2", "state": "paused"}, names=["web-*"], states=["running"])


@pytest.mark.parametrize("uri, name", [
    ("qemu+ssh://admin@hv2.example.com/system", "hv2.example.com"),
    ("qemu+tcp://hv3:16509/system", "hv3"),
    ("test:///default", "test"),
])
def test_hypervisor_name(uri, name):
    assert inv.hypervisor_name(uri) == name


def test_parse_docker_ps_health_and_ports():
    text = ('{"Names":"web","ID":"abc","Image":"nginx","State":"running","Status":"Up 2 minutes (healthy)",'
            '"Ports":"0.0.0.0:8080->80/tcp, :::8080->80/tcp","Labels":""}\n\n'
            '{"Names":"job","ID":"def","Image":"busybox","Status":"Exited (0) 1 minute ago","Ports":""}\n')
    web, job = inv.parse_docker_ps(text)
    assert web["health"] == "healthy" and web["ports"] == ["0.0.0.0:8080->80/tcp", ":::8080->80/tcp"]
    assert job["state"] == "exited" and job["health"] is None and job["ports"] == []

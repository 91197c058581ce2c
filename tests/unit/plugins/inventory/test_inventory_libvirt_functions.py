"""Pure functions the hybridops.fleet.libvirt inventory plugin uses: VM filters, hypervisor names, docker ps parsing."""
import pytest

pytest.importorskip("libvirt")

from ansible_collections.hybridops.fleet.plugins.inventory import libvirt as inv  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import metadata_matches, vm_matches  # noqa: E402


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


CMDB = "http://cmdb.example.com/xmlns/1"
META = {CMDB: {"record": {"env": "prod", "service": "billing", "ssh": {"@user": "deploy"},
                          "ip": ["10.0.0.5", "10.0.0.6"], "note": {"@lang": "en", "#text": "old box"}}}}


@pytest.mark.parametrize("condition, expected", [
    ({"namespace": CMDB}, True),
    ({"namespace": "urn:other"}, False),
    ({"namespace": CMDB, "path": "record/env"}, True),
    ({"namespace": CMDB, "path": "record/owner"}, False),
    ({"namespace": CMDB, "path": "record/env", "value": "prod"}, True),
    ({"namespace": CMDB, "path": "record/env", "value": "pr*"}, True),
    ({"namespace": CMDB, "path": "record/env", "value": "test"}, False),
    ({"namespace": CMDB, "path": "record/ssh/@user", "value": "deploy"}, True),
    ({"namespace": CMDB, "path": "/record/ip/", "value": "10.0.0.6"}, True),  # any of a repeated element
    ({"namespace": CMDB, "path": "record/note", "value": "old*"}, True),  # the text of an element with attributes
])
def test_metadata_conditions(condition, expected):
    assert metadata_matches(META, condition) is expected


def test_vm_matches_titles_descriptions_metadata():
    vm = dict(facts(), title="Billing DB", description="owner=billing env=prod", metadata=META)
    assert vm_matches(vm, titles=["Billing*"], descriptions=["*env=prod*"], metadata=[{"namespace": CMDB}])
    assert not vm_matches(vm, titles=["Web*"])
    assert not vm_matches(dict(vm, title=None), titles=["*x*"])
    assert vm_matches(dict(vm, title=None), titles=["*"])
    assert not vm_matches(vm, metadata=[{"namespace": CMDB}, {"namespace": CMDB, "path": "record/env", "value": "test"}])


def test_description_vars():
    assert inv.parse_description_vars("owner=billing env=prod") == {"owner": "billing", "env": "prod"}
    assert inv.parse_description_vars("Billing DB; owner=team-a, env=\"prod eu\"\nrole='db'") == \
        {"owner": "team-a", "env": "prod eu", "role": "db"}
    assert inv.parse_description_vars("a url http://x/?a=b and x==y") == {}
    assert inv.parse_description_vars(None) == {}


def test_host_names_and_duplicates():
    a = {"name": "web1", "hypervisor": "hv1", "uri": "qemu+ssh://hv1/system"}
    b = {"name": "web1", "hypervisor": "hv2", "uri": "qemu+ssh://hv2/system"}
    c = {"name": "db1", "hypervisor": "hv2", "uri": "qemu+ssh://hv2/system"}
    assert inv.host_name(a, "name") == "web1" and inv.host_name(a, "qualified") == "web1@hv1"
    assert inv.duplicate_hosts([a, b, c], "name") == {"web1": ["qemu+ssh://hv1/system", "qemu+ssh://hv2/system"]}
    assert inv.duplicate_hosts([a, b, c], "qualified") == {}


def test_check_filters_names_the_option():
    assert inv.check_filters({"names": ["web*"], "metadata": [{"namespace": CMDB, "path": "a", "value": "b"}]}) == []
    problems = inv.check_filters({"titles": "web", "metadata": [{"path": "a"}, {"namespace": CMDB, "value": "x"},
                                                                {"namespace": CMDB, "vaule": "x"}, "ns"]})
    text = "; ".join(problems)
    for option in ("filters.titles", "filters.metadata[0].namespace", "filters.metadata[1].value",
                   "filters.metadata[2]: unknown keys vaule", "filters.metadata[3]"):
        assert option in text, text


def test_ssh_command_user_key_port_become():
    cmd = inv.ssh_command({"host": "10.0.0.5", "user": None, "key": None, "port": None}, 15)
    assert cmd[-2] == "10.0.0.5" and cmd[-1].startswith("docker ps") and "-i" not in cmd  # no user assumed
    cmd = inv.ssh_command({"host": "10.0.0.5", "user": "deploy", "key": "/k", "port": 2222}, 15, ["-o", "X=y"], True)
    assert cmd[-2] == "deploy@10.0.0.5" and cmd[-1].startswith("sudo -n docker ps")
    assert cmd[cmd.index("-i") + 1] == "/k" and cmd[cmd.index("-p") + 1] == "2222" and "X=y" in cmd


def test_list_concurrently_keeps_the_order_and_isolates_a_failing_hypervisor():
    from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError

    def list_one(uri):
        if uri == "qemu+ssh://down/system":
            raise BackendError("cannot connect to libvirt at %s: no route" % uri)
        return [{"name": "vm-" + uri}]
    uris = ["test:///a", "qemu+ssh://down/system", "test:///c"]
    results = inv.list_concurrently(uris, list_one, workers=2)
    assert [r[0] for r in results] == [[{"name": "vm-test:///a"}], None, [{"name": "vm-test:///c"}]]
    assert results[1][1] is not None and "down" in str(results[1][1])
    assert inv.list_concurrently(["test:///a"], list_one) == [([{"name": "vm-test:///a"}], None)]
    assert inv.list_concurrently([], list_one) == []


def test_list_concurrently_lets_other_errors_through():
    def broken(uri):
        raise ValueError("a bug, not an unreachable hypervisor")
    with pytest.raises(ValueError):
        inv.list_concurrently(["test:///a", "test:///b"], broken)


def test_plain_str_drops_a_str_subclass():
    class Tagged(str):
        pass
    value = inv.plain_str(Tagged("qemu:///system"))
    assert value == "qemu:///system" and isinstance(value, str) and not isinstance(value, Tagged)
    assert inv.plain_str(None) is None and inv.plain_str(3) == 3

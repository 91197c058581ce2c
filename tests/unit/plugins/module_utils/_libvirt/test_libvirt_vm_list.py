"""libvirt_vms' list logic: item validation and the result summary (pure), and the plan-then-apply manager against
libvirt's test:///default driver (real libvirt code, no daemon; one process holds its state)."""
import itertools

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import vm_list

URI = "test:///default"
COUNTER = itertools.count()


def test_item_label_names_the_item_once_its_name_is_usable():
    assert vm_list.item_label({"name": "web1"}, 3) == "vms[web1]"
    assert vm_list.item_label({"name": ""}, 3) == "vms[3]"
    assert vm_list.item_label({"name": 5}, 0) == "vms[0]"
    assert vm_list.item_label("web1", 2) == "vms[2]"


def test_validate_items_applies_the_vm_defaults_and_the_module_uri():
    items, secrets = vm_list.validate_items([{"name": "a"}, {"name": "b", "uri": "qemu:///session"}], URI)
    assert [(i["name"], i["uri"]) for i in items] == [("a", URI), ("b", "qemu:///session")]
    assert items[0]["state"] == "present" and items[0]["pool"] == "default" and items[0]["live"] is True
    assert secrets == set()


def test_validate_items_collects_the_nested_secrets():
    _items, secrets = vm_list.validate_items([{"name": "a", "cloud_init": {"user_data": "password: s3cr3t"}}], URI)
    assert "password: s3cr3t" in secrets


@pytest.mark.parametrize("items,option,words", [
    ([{"name": "a", "state": "sleeping"}], "vms[a]", "value of state must be one of"),
    ([{"name": "a", "vcpus": "many"}], "vms[a]", "vcpus"),
    (["a"], "vms[0]", "must be a dictionary, got"),
    ([{"name": "a", "uri": "qemu:///sys tem"}], "vms[a].uri", "not a libvirt URI"),
    ([{"name": "a"}, {"name": "a"}], "vms[a].name", "listed twice"),
])
def test_validate_items_names_the_bad_item(items, option, words):
    with pytest.raises(ValidationError) as caught:
        vm_list.validate_items(items, URI)
    assert caught.value.option == option and words in caught.value.msg
    assert "accepted" in caught.value.msg


def test_the_same_name_on_two_hypervisors_is_two_vms():
    items, _secrets = vm_list.validate_items([{"name": "a"}, {"name": "a", "uri": "qemu:///session"}], URI)
    assert len(items) == 2


def test_prefixed_puts_the_item_before_the_option():
    assert vm_list.prefixed("vms[a]", ValidationError("memory", "too big")) == "vms[a].memory: too big"
    assert vm_list.prefixed("vms[a]", ValidationError(None, "bad")) == "vms[a]: bad"


def result(name, changed=False, failed=False, msg=None, option=None):
    out = {"name": name, "key": name, "changed": changed, "diff": {"before": {"n": 1}, "after": {"n": 2 if changed else 1}}}
    if failed:
        out.update(failed=True, msg=msg)
        if option:
            out["option"] = option
    return out


def test_summary_lists_changed_and_failed_vms_in_order():
    out = vm_list.summary([result("a", changed=True), result("b"), result("c", failed=True, msg="vms[c]: boom")])
    assert out["changed"] is True and out["changed_vms"] == ["a"] and out["failed_vms"] == ["c"]
    assert out["failed"] is True and out["msg"] == "1 of 3 VMs failed: vms[c]: boom"
    assert out["diff"]["before"] == {"a": {"n": 1}, "b": {"n": 1}, "c": {"n": 1}}
    assert out["diff"]["after"]["a"] == {"n": 2}


def test_summary_of_a_failed_plan_says_nothing_was_changed_and_names_the_option():
    out = vm_list.summary([result("a"), result("b", failed=True, msg="vms[b].memory: x", option="vms[b].memory")],
                          planned_only=True)
    assert out["msg"] == "vms[b].memory: x (no VM was changed)" and out["option"] == "vms[b].memory"
    assert "failed" not in vm_list.summary([result("a")])


@pytest.fixture
def client():
    libvirt = pytest.importorskip("libvirt")
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient
    with LibvirtClient(URI) as opened:
        yield opened


def items_of(*names, **over):
    given = [dict({"name": n, "memory": "128MiB", "pool": "default-pool"}, **over) for n in names]
    return vm_list.validate_items(given, URI)[0]


def test_plan_then_apply_then_nothing_to_do(client):
    names = ["it-list-%d-%d" % (next(COUNTER), i) for i in range(3)]
    predicted = vm_list.VmListManager({URI: client}, check_mode=True, diff=True).run({"vms": items_of(*names)})
    assert predicted["changed_vms"] == names and all(client.domain(n) is None for n in names)
    created = vm_list.VmListManager({URI: client}, diff=True, max_workers=3).run({"vms": items_of(*names)})
    assert created["changed_vms"] == names and created["diff"]["after"] == predicted["diff"]["after"]
    assert all(client.domain(n) is not None for n in names)
    again = vm_list.VmListManager({URI: client}).run({"vms": items_of(*names)})
    assert again["changed"] is False and "diff" not in again and "key" not in again["results"][0]


def test_a_failed_plan_changes_nothing(client):
    good, bad = "it-list-%d-good" % next(COUNTER), "it-list-%d-bad" % next(COUNTER)
    items = items_of(good) + items_of(bad, vcpus=0)
    out = vm_list.VmListManager({URI: client}).run({"vms": items})
    assert out["failed"] is True and out["failed_vms"] == [bad] and out["changed"] is False
    assert out["option"] == "vms[%s].vcpus" % bad and out["msg"].endswith("(no VM was changed)")
    assert client.domain(good) is None

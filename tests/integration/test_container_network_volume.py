"""hybridops.fleet.container_network and container_volume against the lab's real dockerd."""
# fixtures are imported so pytest finds them
from test_container_support import PREFIX, clean, container_ip, docker_client, dump, inspect, test_images  # noqa: F401 pylint: disable=unused-import

NET = PREFIX + "fixednet"
VOL = PREFIX + "keepvol"


def network(client, name):
    try:
        return client.api.inspect_network(name)
    except Exception:  # noqa: BLE001 - absent
        return None


def test_network_lifecycle_with_fixed_address(ansible, clean):
    client = clean
    args = {"name": NET, "subnet": "172.31.250.0/24", "gateway": "172.31.250.1", "labels": {"team": "it"}}
    predicted = ansible.run_module("container_network", args, check=True, diff=True)
    assert predicted["changed"] is True and predicted["actions"] == ["create"], dump(predicted)
    assert predicted["diff"]["after"]["subnet"] == "172.31.250.0/24"
    assert network(client, NET) is None
    created = ansible.run_module("container_network", args)
    assert created["changed"] is True and created["network"]["subnet"] == "172.31.250.0/24", dump(created)
    assert ansible.run_module("container_network", args)["changed"] is False

    # a container with a fixed address on it
    run = ansible.run_module("container", {"name": PREFIX + "fixed", "image": "hybridops-test/box:1",
                                           "networks": [{"name": NET, "ipv4_address": "172.31.250.10"}]})
    assert run["changed"] is True, dump(run)
    assert container_ip(inspect(client, PREFIX + "fixed"), NET) == "172.31.250.10"

    # a subnet change cannot be applied in place: refused without force, nothing changed
    moved = dict(args, subnet="172.31.251.0/24", gateway="172.31.251.1")
    refused = ansible.run_module("container_network", moved)
    assert refused.get("failed") is True and "subnet" in refused["msg"] and "force" in refused["msg"]
    assert network(client, NET)["IPAM"]["Config"][0]["Subnet"] == "172.31.250.0/24"

    # removing a network in use needs force
    refused = ansible.run_module("container_network", {"name": NET, "state": "absent"})
    assert refused.get("failed") is True and PREFIX + "fixed" in refused["msg"]
    removed = ansible.run_module("container_network", {"name": NET, "state": "absent", "force": True})
    assert removed["changed"] is True and network(client, NET) is None
    assert ansible.run_module("container_network", {"name": NET, "state": "absent"})["changed"] is False


def test_volume_lifecycle_and_in_use_protection(ansible, clean):
    client = clean
    predicted = ansible.run_module("container_volume", {"name": VOL}, check=True)
    assert predicted["changed"] is True and predicted["actions"] == ["create"]
    created = ansible.run_module("container_volume", {"name": VOL, "labels": {"backup": "yes"}})
    assert created["changed"] is True and created["volume"]["labels"] == {"backup": "yes", "hybridops.fleet.managed": "true"}, dump(created)
    assert ansible.run_module("container_volume", {"name": VOL})["changed"] is False
    changed = ansible.run_module("container_volume", {"name": VOL, "driver_opts": {"type": "tmpfs", "device": "tmpfs"}})
    assert changed.get("failed") is True and "driver_opts" in changed["msg"]

    ansible.run_module("container", {"name": PREFIX + "voluser", "image": "hybridops-test/box:1",
                                     "volumes": [VOL + ":/data"]})
    in_use = ansible.run_module("container_volume", {"name": VOL, "state": "absent"})
    assert in_use.get("failed") is True and "in use" in in_use["msg"], dump(in_use)
    assert client.api.inspect_volume(VOL)["Name"] == VOL
    client.api.remove_container(PREFIX + "voluser", force=True)
    removed = ansible.run_module("container_volume", {"name": VOL, "state": "absent"})
    assert removed["changed"] is True
    assert ansible.run_module("container_volume", {"name": VOL, "state": "absent"})["changed"] is False

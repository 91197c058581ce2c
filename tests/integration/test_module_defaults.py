"""module_defaults with the collection's action groups, as playbooks set connection options once.

``group/hybridops.fleet.libvirt`` gives ``uri`` to every libvirt module and ``group/hybridops.fleet.docker``
gives ``docker_host`` to every container module. The Docker play runs with a DOCKER_HOST that points
nowhere, so the only way its tasks reach the engine is the group default; a control task without the
default shows that the bogus DOCKER_HOST really is in effect.
"""
import os

import yaml

ENGINE = os.environ.get("DOCKER_HOST", "unix:///run/hybridops-lab/docker.sock")
NOWHERE = "unix:///run/hybridops-fleet-no-such-engine.sock"


def test_group_module_defaults_reach_every_module(ansible, tmp_path):
    plays = [
        {"name": "libvirt group", "hosts": "localhost", "gather_facts": False,
         "module_defaults": {"group/hybridops.fleet.libvirt": {"uri": "test:///default"}},
         "tasks": [
             {"name": "Info without a uri", "hybridops.fleet.libvirt_vm_info": {}, "register": "info"},
             {"name": "A network read without a uri", "hybridops.fleet.libvirt_network": {
                 "name": "default", "state": "present", "active": True}, "check_mode": True, "register": "net"},
             {"name": "The test driver answered both", "ansible.builtin.assert": {"that": [
                 "info.vms | map(attribute='name') | list == ['test']",
                 "net.network.name == 'default' and not net.changed"]}},
         ]},
        {"name": "docker group", "hosts": "localhost", "gather_facts": False,
         "environment": {"DOCKER_HOST": NOWHERE},
         "module_defaults": {"group/hybridops.fleet.docker": {"docker_host": ENGINE}},
         "tasks": [
             {"name": "Engine info without docker_host", "hybridops.fleet.container_info": {}, "register": "engine"},
             {"name": "A volume without docker_host", "hybridops.fleet.container_volume": {
                 "name": "hybridops-it-md-vol", "state": "absent"}, "register": "vol"},
             {"name": "The defaulted tasks reached the engine", "ansible.builtin.assert": {"that": [
                 "engine.engine.version is defined", "not vol.failed and not vol.changed"]}},
         ]},
        {"name": "control: the same DOCKER_HOST, no module_defaults", "hosts": "localhost", "gather_facts": False,
         "environment": {"DOCKER_HOST": NOWHERE},
         "tasks": [
             {"name": "Engine info without docker_host", "hybridops.fleet.container_info": {}, "register": "control",
              "ignore_errors": True},
             {"name": "It went to the bogus address", "ansible.builtin.assert": {"that": [
                 "control.failed", "'no-such-engine' in control.msg"]}},
         ]},
    ]
    playbook = tmp_path / "module_defaults.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_connection=local\n")
    recap, out = ansible.run_playbook(str(playbook), str(inventory))
    assert recap["localhost"]["failed"] == 0, out
    assert recap["localhost"]["ok"] >= 7, out

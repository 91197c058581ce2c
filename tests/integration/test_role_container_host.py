"""container_host role on a real guest: converge, idempotence, daemon.json applied, handler only on change."""
import json

import pytest

PLAYBOOK = """
- name: Make the guest a container host
  hosts: lab_guests
  gather_facts: true
  roles:
    - role: hybridops.fleet.container_host
      vars:
        container_host_update_cache: false
        container_host_daemon_config:
          labels: ["{label}"]
"""


@pytest.fixture
def playbook(tmp_path):
    def write(label):
        path = tmp_path / ("play-%s.yml" % label.replace("=", "-"))
        path.write_text(PLAYBOOK.format(label=label))
        return str(path)
    return write


def docker_labels(ansible, guest):
    result = ansible.run_tasks(
        [{"ansible.builtin.command": {"argv": ["docker", "info", "--format", "{{ '{{' }}json .Labels{{ '}}' }}"]},
          "changed_when": False}],
        hosts="lab_guests", inventory=guest["inventory"])[guest["name"]][0]
    assert not result.get("failed"), result
    return json.loads(result["stdout"])


def test_container_host_converges_and_is_idempotent(lab_guest, ansible, playbook):
    name = lab_guest["name"]
    first, out = ansible.run_playbook(playbook("hybridops.test=one"), lab_guest["inventory"])
    assert first[name]["failed"] == 0, out
    assert first[name]["changed"] >= 1, out  # daemon.json written and engine restarted
    assert "RUNNING HANDLER [hybridops.fleet.container_host : Restart docker]" in out
    assert "hybridops.test=one" in docker_labels(ansible, lab_guest)

    second, out = ansible.run_playbook(playbook("hybridops.test=one"), lab_guest["inventory"])
    assert second[name]["changed"] == 0, out
    assert second[name]["failed"] == 0, out
    assert "RUNNING HANDLER" not in out

    # a changed setting restarts the engine once more and takes effect
    third, out = ansible.run_playbook(playbook("hybridops.test=two"), lab_guest["inventory"])
    assert third[name]["changed"] >= 1, out
    assert "hybridops.test=two" in docker_labels(ansible, lab_guest)


def test_container_host_check_mode_predicts_without_changing(lab_guest, ansible, playbook):
    name = lab_guest["name"]
    ansible.run_playbook(playbook("hybridops.test=three"), lab_guest["inventory"])
    recap, out = ansible.run_playbook(playbook("hybridops.test=four"), lab_guest["inventory"], check=True, diff=True)
    assert recap[name]["failed"] == 0, out
    assert recap[name]["changed"] >= 1, out
    assert "hybridops.test=four" in out  # the diff shows the new daemon.json
    assert "hybridops.test=three" in docker_labels(ansible, lab_guest)

"""container_host role on a real guest: converge, idempotence, daemon.json applied, handler only on change."""
import json
import os

import pytest

PLAYBOOK = """
- name: Make the guest a container host
  hosts: lab_guests
  gather_facts: false  # the role gathers the minimal facts it needs (molecule's converge covers gathered facts)
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


def test_container_host_converges_predicts_in_check_mode_and_is_idempotent(lab_guest, ansible, playbook):
    """One guest, three runs: a change (handler restarts the engine), a check-mode run of another change
    (predicted and shown, nothing applied), then a rerun of the first settings (nothing to do, no handler)."""
    name = lab_guest["name"]
    label = "hybridops.test=%d" % os.getpid()  # differs from whatever an earlier session left on a kept guest
    first, out = ansible.run_playbook(playbook(label), lab_guest["inventory"])
    assert first[name]["failed"] == 0, out
    assert first[name]["changed"] >= 1, out  # daemon.json written and engine restarted
    assert "RUNNING HANDLER [hybridops.fleet.container_host : Restart docker]" in out
    assert label in docker_labels(ansible, lab_guest)

    predicted, out = ansible.run_playbook(playbook("hybridops.test=check"), lab_guest["inventory"], check=True,
                                          diff=True)
    assert predicted[name]["failed"] == 0, out
    assert predicted[name]["changed"] >= 1, out
    assert "hybridops.test=check" in out  # the diff shows the new daemon.json
    labels = docker_labels(ansible, lab_guest)
    assert label in labels and "hybridops.test=check" not in labels  # nothing applied

    second, out = ansible.run_playbook(playbook(label), lab_guest["inventory"])
    assert second[name]["changed"] == 0, out
    assert second[name]["failed"] == 0, out
    assert "RUNNING HANDLER" not in out

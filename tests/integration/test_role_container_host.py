"""container_host role on a real guest: converge, idempotence, daemon.json applied, handler only on change.

The guest starts with a daemon.json of its own (as an engine someone configured before us): its settings
survive, the role's defaults only fill in what it does not set, and the role's config wins where given."""
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


# an engine configured before the role ran: a setting the role knows nothing of, and one it has a default for
LEGACY_DAEMON_JSON = {"max-concurrent-downloads": 4, "log-opts": {"max-size": "20m"}}


def docker_labels(ansible, guest, with_file=False):
    """The engine's labels (docker info), and with ``with_file`` also daemon.json: one task."""
    script = "docker info --format '{{ '{{' }}json .Labels{{ '}}' }}'" + (" && cat /etc/docker/daemon.json" if with_file else "")
    result = ansible.run_tasks([{"ansible.builtin.shell": script, "changed_when": False}],
                               hosts="lab_guests", inventory=guest["inventory"])[guest["name"]][0]
    assert not result.get("failed"), result
    first, _sep, rest = result["stdout"].partition("\n")
    return (json.loads(first), json.loads(rest)) if with_file else json.loads(first)


def test_container_host_converges_predicts_in_check_mode_and_is_idempotent(lab_guest, ansible, playbook):
    """One guest, three runs: a change (handler restarts the engine), a check-mode run of another change
    (predicted and shown, nothing applied), then a rerun of the first settings (nothing to do, no handler)."""
    name = lab_guest["name"]
    label = "hybridops.test=%d" % os.getpid()  # differs from whatever an earlier session left on a kept guest
    seeded = ansible.run_tasks([{"ansible.builtin.copy": {"dest": "/etc/docker/daemon.json", "mode": "0644",
                                                          "content": json.dumps(LEGACY_DAEMON_JSON)}}],
                               hosts="lab_guests", inventory=lab_guest["inventory"])[name][0]
    assert not seeded.get("failed"), seeded
    first, out = ansible.run_playbook(playbook(label), lab_guest["inventory"])
    assert first[name]["failed"] == 0, out
    assert first[name]["changed"] >= 1, out  # daemon.json written and engine restarted
    assert "RUNNING HANDLER [hybridops.fleet.container_host : Restart docker]" in out
    labels, daemon = docker_labels(ansible, lab_guest, with_file=True)
    assert label in labels
    assert daemon == {"max-concurrent-downloads": 4, "labels": [label], "live-restore": True,
                      "log-driver": "json-file", "log-opts": {"max-size": "20m", "max-file": "3"}}, daemon

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

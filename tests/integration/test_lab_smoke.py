"""Smoke test of the lab itself: a real guest booted from the cached base, driven by Ansible over SSH."""
import json

DOCKER_SDK_INFO = (
    "import json, docker; info = docker.from_env().info(); "
    "print(json.dumps({'server_version': info['ServerVersion'], 'os': info['OperatingSystem'],"
    " 'containers': info['Containers']}))"
)


def test_guest_boots_and_runs_docker_through_ansible(lab_guest, ansible):
    assert lab_guest["ip"].startswith("192.168.122."), lab_guest
    results = ansible.run_tasks(
        [
            {"ansible.builtin.setup": {"gather_subset": ["min"]}},
            {"ansible.builtin.command": {"argv": ["python3", "-c", DOCKER_SDK_INFO]}, "changed_when": False},
        ],
        # the other guest tests pipeline; this one uses Ansible's default transport (module files put over SFTP)
        hosts="lab_guests", inventory=lab_guest["inventory"], env={"ANSIBLE_PIPELINING": "False"},
        play_vars={"ansible_pipelining": False})
    facts, docker_info = results[lab_guest["name"]]
    assert not facts.get("failed"), facts
    assert facts["ansible_facts"]["ansible_distribution"] == "Debian"
    assert facts["ansible_facts"]["ansible_distribution_major_version"] == "12"
    assert not docker_info.get("failed"), docker_info
    info = json.loads(docker_info["stdout"])
    assert info["server_version"], info
    assert "Debian" in info["os"], info

"""Bad-input matrix of the Docker modules against the lab's real dockerd.

Every case is a task of ONE playbook run per module (each task's result is
registered separately). Before the runs the engine holds a running container, a
labelled member of a stack (which a stack run that pruned before failing would
remove), a network with a subnet and a volume. Each case must fail naming its
option, and the engine's containers, networks and volumes, inspected after the
module's run, must be exactly as before.
"""
import pytest

# fixtures are imported so pytest finds them
from test_container_support import (  # noqa: F401 pylint: disable=unused-import
    PREFIX, docker_client, dump, remove_prefixed, test_images)

BOX = "hybridops-test/box:1"
P = PREFIX + "bi-"
RUNNING = P + "c"            # the container module's cases target this existing container
STACK = P + "stack"
MEMBER = P + "old"           # an existing member of STACK that no case declares
NET = P + "net"
VOL = P + "vol"
WEB = P + "web"


def member(**over):
    return dict({"name": WEB, "image": BOX}, **over)


def container(**over):
    return dict({"name": RUNNING, "image": BOX}, **over)


def stack(containers, **over):
    return dict({"name": STACK, "containers": containers}, **over)


# an expected "option" with this prefix is checked against the message Ansible itself writes
ANSIBLE_UNSUPPORTED = "ansible-unsupported:"

CASES = {
    "container": [
        ("host-ip-typo", container(ports=["127.0.0.256:18082:80"]), "ports[0]"),
        ("negative-host-port", container(ports=["-5:80"]), "ports[0]"),
        ("v4-in-brackets", container(ports=["8080:80", "[127.0.0.1]:8081:80"]), "ports[1]"),
        ("port-out-of-range", container(ports=["99999:80"]), "ports[0]"),
        ("protocol", container(ports=["80/icmp"]), "ports[0]"),
        ("pids-below-minus-one", container(pids_limit=-5), "pids_limit"),
        ("hostname-newline", container(hostname="web\nevil"), "hostname"),
        ("hostname-too-long", container(hostname="h" * 65), "hostname"),
        ("env-key-with-equals", container(env={"A=B": "1"}), "env"),
        ("env-key-empty", container(env={"": "1"}), "env"),
        ("secret-env-key", container(secret_env={"TOKEN=": "x"}), "secret_env"),
        ("name-newline", container(name=P + "x\ny"), "name"),
        ("name-leading-dash", container(name="-" + P + "x"), "name"),
        ("name-one-character", container(name="q"), "name"),  # the engine refuses it too, but only at create
        ("stop-timeout-negative", container(stop_timeout=-1), "stop_timeout"),
        ("restart-retries-negative", container(restart_policy="on-failure", restart_retries=-2), "restart_retries"),
        ("memory", container(memory="lots"), "memory"),
        ("cpus", container(cpus=0), "cpus"),
        ("healthcheck-interval", container(healthcheck={"test": "true", "interval": "soon"}), "healthcheck.interval"),
        ("relative-bind", container(mounts=[{"type": "bind", "source": "rel", "target": "/x"}]), "mounts"),
    ],
    "container_stack": [
        ("same-name-with-slash", stack([member(name=P + "x"), member(name="/" + P + "x")]), "containers[1].name"),
        ("integer-name", stack([member(name=5)]), "containers[0].name"),
        ("one-character-name", stack([member(name="q")]), "containers[0].name"),
        ("stop-timeout-string", stack([member(stop_timeout="abc")]), "containers[%s].stop_timeout" % WEB),
        ("restart-retries-string", stack([member(restart_policy="on-failure", restart_retries="x")]),
         "containers[%s].restart_retries" % WEB),
        ("wait-timeout-string", stack([member(wait_timeout="x")]), "containers[%s].wait_timeout" % WEB),
        ("max-unavailable-negative", stack([member()], max_unavailable=-1), "max_unavailable"),
        ("max-workers-zero", stack([member()], max_workers=0), "max_workers"),
        ("depends-on-string", stack([member(name=P + "db"), member(depends_on=P + "db")]),
         "containers[%s].depends_on" % WEB),
        ("depends-on-unknown", stack([member(depends_on=[P + "nobody"])]), "containers[%s].depends_on" % WEB),
        ("host-ip-typo", stack([member(ports=["127.0.0.256:18082:80"])]), "containers[%s].ports[0]" % WEB),
        ("negative-host-port", stack([member(ports=["-5:80"])]), "containers[%s].ports[0]" % WEB),
        ("pids-below-minus-one", stack([member(pids_limit=-5)]), "containers[%s].pids_limit" % WEB),
        ("hostname-newline", stack([member(hostname="a\nb")]), "containers[%s].hostname" % WEB),
        ("env-key-with-equals", stack([member(env={"A=B": "1"})]), "containers[%s].env" % WEB),
        # members have a suboption spec (secret_env is no_log in it): Ansible itself refuses an unknown key
        ("unknown-member-key", stack([member(colour="red")]), ANSIBLE_UNSUPPORTED + "containers.colour"),
        ("member-absent", stack([member(state="absent")]), "containers[%s].state" % WEB),
        ("network-name-newline", stack([member()], networks=[{"name": P + "n\nx"}]), "networks[0].name"),
        ("second-network-bad", stack([member()], networks=[{"name": P + "n1"}, {"name": "-" + P + "n2"}]),
         "networks[1].name"),
        ("volume-name-leading-dash", stack([member()], volumes=[{"name": "-" + P + "v"}]), "volumes[0].name"),
    ],
    "container_network": [
        ("name-newline", {"name": P + "n\nx"}, "name"),
        ("name-leading-dash", {"name": "-" + P + "n"}, "name"),
        ("name-markup", {"name": P + "<n>&'\""}, "name"),
        ("name-space", {"name": P + "n x"}, "name"),
        ("subnet-host-bits", {"name": P + "n2", "subnet": "172.31.246.1/24"}, "subnet"),
        ("subnet-no-prefix", {"name": P + "n2", "subnet": "172.31.246.0"}, "subnet"),
        ("subnet-garbage", {"name": P + "n2", "subnet": "banana/24"}, "subnet"),
        ("gateway-outside", {"name": P + "n2", "subnet": "172.31.246.0/24", "gateway": "172.31.245.1"}, "gateway"),
        ("gateway-invalid", {"name": P + "n2", "subnet": "172.31.246.0/24", "gateway": "172.31.246.256"}, "gateway"),
        # force would remove the existing network to recreate it: the bad gateway must stop that first
        ("forced-recreate-bad-gateway", {"name": NET, "subnet": "172.31.246.0/24", "gateway": "10.0.0.1",
                                         "force": True}, "gateway"),
        ("existing-subnet-without-force", {"name": NET, "subnet": "172.31.246.0/24"}, "subnet"),
    ],
    "container_volume": [
        ("name-newline", {"name": P + "v\nx"}, "name"),
        ("name-leading-dash", {"name": "-" + P + "v"}, "name"),
        ("name-markup", {"name": P + "<v>"}, "name"),
        ("name-slash", {"name": P + "a/b"}, "name"),
        ("name-dot", {"name": "."}, "name"),
        ("name-one-character", {"name": "q"}, "name"),
        ("existing-options-without-force", {"name": VOL, "driver_opts": {"type": "tmpfs", "device": "tmpfs"}},
         "driver_opts"),
    ],
}


def engine_state(client):
    """What a bad input must not change: containers of the prefix (id, state), every network and volume."""
    containers = sorted((c["Names"][0], c["Id"], c["State"], c["Created"]) for c in client.api.containers(all=True)
                        if c["Names"][0].lstrip("/").startswith(PREFIX))
    networks = sorted((n["Name"], n["Id"]) for n in client.api.networks())
    volumes = sorted(v["Name"] for v in client.api.volumes().get("Volumes") or [])
    return {"containers": containers, "networks": networks, "volumes": volumes}


def _baseline(client):
    from docker.types import IPAMConfig, IPAMPool
    client.api.create_network(NET, driver="bridge", ipam=IPAMConfig(pool_configs=[
        IPAMPool(subnet="172.31.247.0/24", gateway="172.31.247.1")]))
    client.api.create_volume(VOL)
    for name, labels in ((RUNNING, {}), (MEMBER, {"hybridops.fleet.stack": STACK, "hybridops.fleet.member": MEMBER})):
        cid = client.api.create_container(BOX, name=name, labels=labels)["Id"]
        client.api.start(cid)


@pytest.fixture(scope="module")
def matrix(ansible, docker_client, test_images):
    remove_prefixed(docker_client)
    _baseline(docker_client)
    before = engine_state(docker_client)
    assert len(before["containers"]) == 2 and all(c[2] == "running" for c in before["containers"])
    results = {}
    for module, cases in CASES.items():
        tasks = [{"name": case_id, "hybridops.fleet." + module: args} for case_id, args, _option in cases]
        results[module] = (ansible.run_tasks(tasks)["localhost"], engine_state(docker_client))
    yield before, results
    remove_prefixed(docker_client)


@pytest.mark.parametrize("module,index", [(m, i) for m in CASES for i in range(len(CASES[m]))],
                         ids=["%s-%s" % (m, c[0]) for m in CASES for c in CASES[m]])
def test_bad_input_names_the_option_and_changes_nothing(matrix, module, index):
    before, results = matrix
    case_results, after = results[module]
    _case_id, _args, option = CASES[module][index]
    result = case_results[index]
    assert result.get("failed") is True, dump(result)
    if option.startswith(ANSIBLE_UNSUPPORTED):
        # Ansible's own argument-spec message: names the option path and lists what is supported
        option = option[len(ANSIBLE_UNSUPPORTED):]
        assert "Unsupported parameters" in result["msg"] and option in result["msg"], dump(result)
        assert "Supported parameters include" in result["msg"], dump(result)
    else:
        assert result["msg"].startswith(option + ":"), dump(result)
        assert any(word in result["msg"] for word in ("accepted", "expected", "force: true")), dump(result)
    assert "Traceback" not in result.get("module_stderr", ""), dump(result)
    assert after == before

"""Bad-input matrix of the Docker modules against the lab's real dockerd.

Every case is a task of ONE playbook run per module (each task's result is
registered separately). Before the runs the engine holds a running container, a
labelled member of a stack (which a stack run that pruned before failing would
remove), a network with a subnet, a volume and a tagged image; the host holds a
build context, a Dockerfile outside it and archives that are not images. Each
case must fail naming its option, and the engine's containers, networks, volumes
and images, inspected after the module's run, must be exactly as before. The
figures (tried / clear / left behind / tracebacks) go to tests/output/bad-input/.
"""
import io
import json
import os
import shutil
import tarfile
import time

import bad_input
import pytest
from bad_input import ANSIBLE_CHOICES, ANSIBLE_REQUIRED, ANSIBLE_TYPE, ANSIBLE_UNSUPPORTED

# fixtures are imported so pytest finds them
from test_container_support import PREFIX, docker_client, dump, remove_prefixed, test_images  # noqa: F401 pylint: disable=unused-import

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


IMG = P + "img:1"            # an image on the engine (the box image, tagged)
CTX = "/tmp/hybridops-it-bi-ctx"  # made by the fixture: a build context, files beside it


def image(**over):
    return dict({"name": P + "built:1", "source": "build", "build": {"path": CTX + "/ctx"}}, **over)


def load(path, **over):
    return dict({"name": P + "loaded:1", "source": "load", "load_path": CTX + "/" + path}, **over)


def build(**over):
    return image(build=dict({"path": CTX + "/ctx"}, **over))


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
        ("relative-bind", container(mounts=[{"type": "bind", "source": "rel", "target": "/x"}]), "mounts[0]"),
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
        ("name-empty", {"name": ""}, "name"),
        ("name-unicode", {"name": P + "n\u00e9t"}, "name"),
        ("name-tab", {"name": P + "n\tx"}, "name"),
        ("gateway-ipv6-in-ipv4-subnet", {"name": P + "n2", "subnet": "172.31.246.0/24", "gateway": "fd00::1"},
         "gateway"),
        ("driver-unknown", {"name": P + "n3", "driver": "brdige"}, "driver"),
        ("state-typo", {"name": P + "n3", "state": "presnet"}, ANSIBLE_CHOICES + "state"),
        ("timeout-negative", {"name": P + "n3", "timeout": -5}, "timeout"),
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
        ("name-empty", {"name": ""}, "name"),
        ("name-space", {"name": P + "v x"}, "name"),
        ("name-quote", {"name": P + "v'\""}, "name"),
        ("name-dotdot-path", {"name": "../" + P + "v"}, "name"),
        ("name-unicode", {"name": P + "v\u00e9"}, "name"),
        ("driver-unknown", {"name": P + "v2", "driver": "locla"}, "driver"),
        ("driver-opts-nested", {"name": P + "v2", "driver_opts": {"o": {"size": "1m"}}}, "driver_opts.o"),
        ("driver-opts-list", {"name": P + "v2", "driver_opts": ["type=tmpfs"]}, ANSIBLE_TYPE + "driver_opts"),
        ("labels-nested", {"name": P + "v2", "labels": {"team": ["a", "b"]}}, "labels.team"),
        ("timeout-zero", {"name": P + "v2", "timeout": 0}, "timeout"),
    ],
    "container_image": [
        ("name-uppercase", image(name=P.upper() + "img:1"), "name"),
        ("name-empty", image(name=""), "name"),
        ("name-newline", image(name=P + "img\nevil:1"), "name"),
        ("name-space", image(name=P + "img x:1"), "name"),
        ("name-leading-dash", image(name="-" + P + "img:1"), "name"),
        ("name-markup", image(name=P + "<img>&'\":1"), "name"),
        ("name-tag-too-long", image(name=P + "img:" + "t" * 129), "name"),
        ("name-double-dot", image(name=P + "img..x:1"), "name"),
        ("tag-second-bad", {"name": IMG, "tags": [P + "img:2", P + "img:bad tag"]}, "tags[1]"),
        ("tag-digest", {"name": IMG, "tags": [P + "img@sha256:" + "0" * 64]}, "tags[0]"),
        ("source-typo", {"name": P + "x:1", "source": "pul"}, ANSIBLE_CHOICES + "source"),
        ("absent-bad-name", {"name": P + "img 1", "state": "absent"}, "name"),
        ("missing-without-source", {"name": P + "missing:1"}, "source"),
        ("load-missing-file", load("nope.tar"), "load_path"),
        ("load-directory", load("ctx"), "load_path"),
        ("load-not-an-image", load("not-image.tar"), "load_path"),
        ("load-garbage-bytes", load("garbage.tar"), "load_path"),
        ("load-manifest-not-a-list", load("manifest-dict.tar"), "load_path"),
        ("load-manifest-strings", load("manifest-strings.tar"), "load_path"),
        ("load-dotdot-path", load("ctx/../nope/../garbage.tar"), "load_path"),
        ("build-path-missing", build(path=CTX + "/nope"), "build.path"),
        ("build-path-is-file", build(path=CTX + "/garbage.tar"), "build.path"),
        ("build-dockerfile-missing", build(dockerfile="Nope"), "build.dockerfile"),
        ("build-dockerfile-outside-context", build(dockerfile="../Dockerfile.outside"), "build.dockerfile"),
        ("build-dockerfile-absolute", build(dockerfile=CTX + "/Dockerfile.outside"), "build.dockerfile"),
        ("build-args-list", build(args=["V=1"]), ANSIBLE_TYPE + "build.args"),
        ("build-args-nested", build(args={"V": {"a": 1}}), "build.args.V"),
        ("build-args-key-equals", build(args={"V=1": "x"}), "build.args"),
        ("build-labels-nested", build(labels={"team": {"a": 1}}), "build.labels.team"),
        ("build-target-newline", build(target="base\nevil"), "build.target"),
        ("build-missing-path", image(build={"dockerfile": "Dockerfile"}), ANSIBLE_REQUIRED + "path"),
    ],
    "container_info": [
        ("gather-unknown", {"gather": ["pods"]}, ANSIBLE_CHOICES + "gather"),
        ("gather-typo-string", {"gather": "container"}, ANSIBLE_CHOICES + "gather"),
        ("name-newline", {"name": [P + "c\nx"]}, "name[0]"),
        ("name-leading-dash", {"name": ["-" + P + "c"]}, "name[0]"),
        ("name-markup", {"name": [RUNNING, P + "<c>&'\""]}, "name[1]"),
        ("name-empty", {"name": [""]}, "name[0]"),
        ("name-dict", {"name": {"a": 1}}, ANSIBLE_TYPE + "name"),
        ("label-empty", {"label": [""]}, "label[0]"),
        ("label-empty-key", {"label": ["=web"]}, "label[0]"),
        ("label-newline", {"label": ["team\nx=web"]}, "label[0]"),
        ("stack-empty", {"stack": ""}, "stack"),
        ("stack-newline", {"stack": "a\nb"}, "stack"),
        ("stack-leading-dash", {"stack": "-" + STACK}, "stack"),
        ("all-not-bool", {"all": "maybe"}, ANSIBLE_TYPE + "all"),
        ("stats-not-bool", {"stats": "sometimes"}, ANSIBLE_TYPE + "stats"),
        ("docker-host-garbage", {"docker_host": "banana"}, "docker_host"),
        ("docker-host-plain-tcp", {"docker_host": "tcp://127.0.0.1:2375"}, "docker_host"),
        ("timeout-negative", {"timeout": -1}, "timeout"),
    ],
}


def _case_names():
    """Every string a case gives as a name: an object it left behind would carry one of them."""
    names = set()
    for cases in CASES.values():
        for _case_id, args, _option in cases:
            if isinstance(args.get("name"), str):
                names.add(args["name"].lstrip("/"))
    return names


CASE_NAMES = _case_names()
STARTED = int(time.time())


def _ours(name):
    # other sessions (and other work on a shared lab) create objects too: the ones a case could leave carry
    # the matrix's prefix somewhere, or one of the names the cases give
    return P in name or name.lstrip("/") in CASE_NAMES


def engine_state(client):
    """What a bad input must not change: the containers (id, state), networks, volumes and images (id, tags) a
    case could touch, and images without a tag made since the matrix began."""
    containers = sorted((c["Names"][0], c["Id"], c["State"], c["Created"]) for c in client.api.containers(all=True)
                        if _ours(c["Names"][0]))
    networks = sorted((n["Name"], n["Id"]) for n in client.api.networks() if _ours(n["Name"]))
    volumes = sorted(v["Name"] for v in client.api.volumes().get("Volumes") or [] if _ours(v["Name"]))
    images = []
    for img in client.api.images():
        tags = sorted(t for t in img.get("RepoTags") or [] if t != "<none>:<none>")
        if any(_ours(t.rsplit(":", 1)[0]) for t in tags) or (not tags and img["Created"] >= STARTED):
            images.append((img["Id"], tuple(tags)))
    return {"containers": containers, "networks": networks, "volumes": volumes, "images": sorted(images)}


def _tar(path, files):
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _files():
    """A build context (a valid one: a case that gets past validation builds), a Dockerfile outside it, and
    files that are not image archives."""
    os.makedirs(CTX + "/ctx", exist_ok=True)
    with open(CTX + "/ctx/Dockerfile", "w") as handle:
        handle.write("FROM %s\nARG V\nLABEL v=$V\n" % BOX)
    with open(CTX + "/Dockerfile.outside", "w") as handle:
        handle.write("FROM %s\nLABEL outside=1\n" % BOX)
    _tar(CTX + "/not-image.tar", {"etc/hostname": b"box\n"})
    with open(CTX + "/garbage.tar", "wb") as handle:
        handle.write(os.urandom(4096))
    _tar(CTX + "/manifest-dict.tar", {"manifest.json": b'{"Config": "x.json"}'})
    _tar(CTX + "/manifest-strings.tar", {"manifest.json": json.dumps(["abc"]).encode()})


def remove_new(client, before):
    """Remove what a case added to the engine (anything of engine_state that is not in ``before``)."""
    now = engine_state(client)
    for name, cid, _state, _created in now["containers"]:
        if (name, cid) not in [(c[0], c[1]) for c in before["containers"]]:
            client.api.remove_container(cid, force=True, v=True)
    for _name, nid in set(now["networks"]) - set(before["networks"]):
        client.api.remove_network(nid)
    for name in set(now["volumes"]) - set(before["volumes"]):
        client.api.remove_volume(name, force=True)
    for image_id, tags in set(now["images"]) - set(before["images"]):
        for tag in tags:
            if tag not in [t for _i, old in before["images"] for t in old]:
                client.api.remove_image(tag, force=True)
        if not tags:
            client.api.remove_image(image_id, force=True)


def remove_images(client):
    for img in client.api.images():
        for tag in img.get("RepoTags") or []:
            if P in tag or P.upper() in tag:
                client.api.remove_image(tag, force=True)


def _baseline(client):
    from docker.types import IPAMConfig, IPAMPool
    client.api.create_network(NET, driver="bridge", ipam=IPAMConfig(pool_configs=[
        IPAMPool(subnet="172.31.247.0/24", gateway="172.31.247.1")]))
    client.api.create_volume(VOL)
    for name, labels in ((RUNNING, {}), (MEMBER, {"hybridops.fleet.stack": STACK, "hybridops.fleet.member": MEMBER})):
        # no network: private engines started in the lab's namespace with --bridge=none remove docker0
        cid = client.api.create_container(BOX, name=name, labels=labels,
                                          host_config=client.api.create_host_config(network_mode="none"))["Id"]
        client.api.start(cid)
    repo, tag = IMG.rsplit(":", 1)
    client.api.tag(BOX, repo, tag)
    _files()


@pytest.fixture(scope="module")
def matrix(ansible, docker_client, test_images):
    remove_prefixed(docker_client)
    remove_images(docker_client)
    _baseline(docker_client)
    before = engine_state(docker_client)
    assert len(before["containers"]) == 2 and all(c[2] == "running" for c in before["containers"])
    assert len(before["images"]) == 1
    results, per_module = {}, {}
    for module, cases in CASES.items():
        tasks = [{"name": case_id, "hybridops.fleet." + module: args} for case_id, args, _option in cases]
        module_results = ansible.run_tasks(tasks)["localhost"]
        after = engine_state(docker_client)
        results[module] = (module_results, after)
        # which cases changed the engine: one run per case, only when the module's run changed it
        left = bad_input.attribute(
            cases, lambda case, module=module: ansible.run_tasks([{"hybridops.fleet." + module: case[1]}]),
            lambda: engine_state(docker_client), before, after, lambda: remove_new(docker_client, before))
        per_module[module] = bad_input.figures(cases, module_results, left)
    bad_input.write("docker", per_module)
    yield before, results
    remove_prefixed(docker_client)
    remove_images(docker_client)
    shutil.rmtree(CTX)


@pytest.mark.parametrize("module,index", [(m, i) for m in CASES for i in range(len(CASES[m]))],
                         ids=["%s-%s" % (m, c[0]) for m in CASES for c in CASES[m]])
def test_bad_input_names_the_option_and_changes_nothing(matrix, module, index):
    before, results = matrix
    case_results, after = results[module]
    _case_id, _args, option = CASES[module][index]
    result = case_results[index]
    assert result.get("failed") is True, dump(result)
    assert bad_input.traceback_of(result) is None, dump(result)
    # the message starts with the option's path and says what is accepted (or is Ansible's own, naming both)
    assert bad_input.clear(result, option), dump(result)
    assert after == before

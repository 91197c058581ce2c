"""A real ansible-playbook -vvv run on localhost: every secret-bearing option gets a unique marker, and
the marker must not appear anywhere in the output, while the invocation (which -vvv prints with each
result) is there. Docker tasks point at a socket that does not exist and libvirt tasks at test:///default,
so nothing outside the run is touched; they run past AnsibleModule's construction, which is where the
invocation is logged. A value added to no_log_values only after construction is still masked here, but
not in the host's log: test_module_secrets checks no_log_values at construction for that."""
import os
import subprocess
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))
NO_ENGINE = "unix:///nonexistent/hybridops-sec/docker.sock"
DOMAIN_XML = ("<domain type='test'><name>hybridops-sec-xml</name><memory unit='MiB'>64</memory>"
              "<os><type>hvm</type></os><devices><graphics type='vnc' passwd='%s'/></devices></domain>")


def marker(what):
    return "hybridops-sec-marker-%s-%d" % (what, os.getpid())


SECRETS = {k: marker(k) for k in ("container", "stack", "build_args", "registry", "user_data_dict",
                                  "user_data_str", "xml")}
TASKS = [
    ("hybridops.fleet.container", {"name": "hybridops-sec-visible-container", "image": "busybox",
                                   "secret_env": {"TOKEN": SECRETS["container"]}, "docker_host": NO_ENGINE}),
    ("hybridops.fleet.container_stack", {"name": "hybridops-sec-visible-stack", "docker_host": NO_ENGINE,
                                         "containers": [{"name": "hybridops-sec-member", "image": "busybox",
                                                         "secret_env": {"DB_PASSWORD": SECRETS["stack"]}}]}),
    ("hybridops.fleet.container_image", {"name": "hybridops-sec-visible-image", "source": "build",
                                         "build": {"path": "/nonexistent", "args": {"NPM_TOKEN": SECRETS["build_args"]}},
                                         "registry_username": "u", "registry_password": SECRETS["registry"],
                                         "docker_host": NO_ENGINE}),
    ("hybridops.fleet.libvirt_vm", {"uri": "test:///default", "name": "hybridops-sec-visible-vm1", "memory": "64MiB",
                                    "pool": "default-pool",
                                    "cloud_init": {"user_data": {"chpasswd": {"list": "root:" + SECRETS["user_data_dict"]}}}}),
    ("hybridops.fleet.libvirt_vm", {"uri": "test:///default", "name": "hybridops-sec-visible-vm2", "memory": "64MiB",
                                    "pool": "default-pool",
                                    "xml": DOMAIN_XML % SECRETS["xml"],
                                    "cloud_init": {"user_data": "#cloud-config\npassword: %s\n" % SECRETS["user_data_str"]}}),
]


def test_no_secret_in_vvv_output(tmp_path):
    tasks = [{"name": "secret %d" % i, module: args, "ignore_errors": True} for i, (module, args) in enumerate(TASKS)]
    playbook = tmp_path / "secrets.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
               # ansible-core >= 2.21 adds the invocation to results only when asked (older ones always did with -vvv)
               ANSIBLE_INJECT_INVOCATION="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", "localhost,",
                           "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert "ok=0" not in output and "failed=0" in output, output[-3000:]
    # the invocation of every task is in the output (so the check below looks at what Ansible prints) ...
    assert output.count('"module_args"') >= len(TASKS), output[-3000:]
    for _module, args in TASKS:
        assert args["name"] in output
    # ... and no secret is
    leaked = [k for k, v in SECRETS.items() if v in output]
    assert leaked == [], "leaked: %s" % leaked

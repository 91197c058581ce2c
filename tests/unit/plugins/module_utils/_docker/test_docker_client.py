"""Connection option checks of the client layer."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError, ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import client as dclient


@pytest.mark.parametrize("host", ["tcp://10.0.0.1:2375", "https://engine:2376", "http://engine:2375"])
def test_plain_tcp_is_refused(host):
    with pytest.raises(ValidationError) as info:
        dclient.connect({"docker_host": host})
    assert info.value.option == "docker_host"
    assert host in str(info.value)


def test_tcp_with_tls_needs_key_with_cert():
    with pytest.raises(ValidationError) as info:
        dclient._check_address("tcp://e:2376", {"tls_ca_cert": "/ca", "tls_client_cert": "/c"})
    assert info.value.option == "tls_client_cert"
    assert dclient._check_address("tcp://e:2376", {"tls_ca_cert": "/ca"}) == "tcp"


@pytest.mark.parametrize("host,scheme", [("unix:///var/run/docker.sock", "unix"), ("ssh://root@vm1", "ssh")])
def test_accepted_schemes(host, scheme):
    assert dclient._check_address(host, {}) == scheme


def test_default_address_from_environment(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert dclient.docker_host_from({}) == "unix:///var/run/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/other.sock")
    assert dclient.docker_host_from({}) == "unix:///run/other.sock"
    assert dclient.docker_host_from({"docker_host": "ssh://vm"}) == "ssh://vm"


def test_unreachable_socket_names_the_address(tmp_path):
    address = "unix://%s/missing.sock" % tmp_path
    with pytest.raises(BackendError) as info:
        dclient.connect({"docker_host": address, "timeout": 5})
    assert address in str(info.value)
    assert str(info.value).count("cannot reach") == 1


def test_split_image_ref():
    assert dclient.split_image_ref("web") == ("web", "latest")
    assert dclient.split_image_ref("reg:5000/team/web:2") == ("reg:5000/team/web", "2")
    assert dclient.split_image_ref("web@sha256:abc") == ("web", "sha256:abc")

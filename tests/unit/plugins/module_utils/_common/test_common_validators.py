"""validators: each check accepts the valid forms, and names the option and what is accepted otherwise."""
import ipaddress

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators as v
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError


def refused(func, value, *args, **kwargs):
    with pytest.raises(ValidationError) as info:
        func(value, "opt[a].sub", *args, **kwargs)
    assert info.value.option == "opt[a].sub"
    assert info.value.accepted
    return str(info.value)


@pytest.mark.parametrize("value,expected", [("web", "web"), ("/web", "web"), ("a1_b.c-d", "a1_b.c-d"), ("9z", "9z")])
def test_docker_name_ok(value, expected):
    assert v.check_docker_name(value, "name") == expected


def test_docker_name_length():
    # measured on the lab engine: containers and volumes need 2 characters, networks take 1
    assert "2 or more" in refused(v.check_docker_name, "q")
    assert "2 or more" in refused(v.check_docker_name, "/q")
    assert v.check_docker_name("q", "name", min_length=1) == "q"
    assert "1 or more" in refused(v.check_docker_name, "-", min_length=1)


@pytest.mark.parametrize("value", ["", "/", "-net", ".net", "_net", "a\nb", "a<b", "a>b", "a&b", "a'b", 'a"b',
                                   "a b", "a/b", 7, None])
def test_docker_name_refused(value):
    assert "letters, digits" in refused(v.check_docker_name, value)


@pytest.mark.parametrize("value", ["disk.qcow2", "before-migration", "snap 1", "é" * 100, "a" * 255])
def test_libvirt_name_ok(value):
    assert v.check_libvirt_name(value, "name") == value


@pytest.mark.parametrize("value", ["", ".", "..", "-x", ".hidden", "a/b", "a\nb", "a\tb", "a\x00b", "a" * 256,
                                   "é" * 128, 3])
def test_libvirt_name_refused(value):
    assert "'/'" in refused(v.check_libvirt_name, value)


def test_libvirt_name_custom_limit_in_message():
    assert "at most 247 bytes" in refused(v.check_libvirt_name, "s" * 248, max_bytes=247)
    assert v.check_libvirt_name("s" * 247, "name", max_bytes=247)


def test_ip():
    assert v.check_ip("127.0.0.1", "ip") == ipaddress.ip_address("127.0.0.1")
    assert v.check_ip("::1", "ip", version=6).version == 6
    for bad in ("127.0.0.256", "1.2.3", "", "localhost", "01.2.3.4", None):
        refused(v.check_ip, bad)
    assert "IPv4" in refused(v.check_ip, "::1", version=4)


def test_cidr():
    assert str(v.check_cidr("10.1.0.0/16", "subnet")) == "10.1.0.0/16"
    assert str(v.check_cidr("fd00::/64", "subnet")) == "fd00::/64"
    for bad in ("10.1.0.1/16", "10.1.0.0", "10.1.0.0/33", "nonsense/8", 5):
        assert "CIDR" in refused(v.check_cidr, bad)


@pytest.mark.parametrize("value", ["br0", "virbr-lab", "a" * 15, "eth0.100"])
def test_interface_name_ok(value):
    assert v.check_interface_name(value, "bridge") == value


@pytest.mark.parametrize("value", ["", "a" * 16, "br/0", "br 0", "br:0", "br\n0", ".", ".."])
def test_interface_name_refused(value):
    assert "1-15 characters" in refused(v.check_interface_name, value)


def test_int_and_mtu():
    assert v.check_int("12", "n", minimum=0) == 12
    assert v.check_int(3.0, "n") == 3
    assert v.check_mtu(1500, "mtu") == 1500
    assert v.check_mtu(68, "mtu") == 68 and v.check_mtu(65535, "mtu") == 65535
    for bad in ("abc", True, 1.5, None, "1e3"):
        assert "integer" in refused(v.check_int, bad, minimum=0)
    assert ">= 0" in refused(v.check_int, -1, minimum=0)
    for bad in (-1, 0, 67, 65536, 4294967295):
        assert "68 to 65535" in refused(v.check_mtu, bad)


@pytest.mark.parametrize("value,expected", [("lab.example", "lab.example"), ("lab", "lab"), ("a-b.c9.", "a-b.c9"),
                                            ("x" * 63 + ".com", "x" * 63 + ".com")])
def test_dns_name_ok(value, expected):
    assert v.check_dns_name(value, "domain") == expected


@pytest.mark.parametrize("value", ["", ".", "a..b", "-a.b", "a-.b", "a_b", "a b", "lab\naddress=/x/1.2.3.4",
                                   "x" * 64 + ".com", ("a" * 60 + ".") * 5, None])
def test_dns_name_refused(value):
    assert "DNS name" in refused(v.check_dns_name, value)


def test_hostname_length():
    assert v.check_hostname("h" * 63, "hostname")
    assert "64 characters" in refused(v.check_hostname, "a" * 40 + "." + "b" * 30)
    refused(v.check_hostname, "web\n1")


def test_env_key():
    assert v.check_env_key("PATH", "env") == "PATH"
    for bad in ("", "A=B", "A\x00"):
        assert "'='" in refused(v.check_env_key, bad)


@pytest.mark.parametrize("value", ["ssh.service", "-.mount", "getty@tty1.service", "system-foo\\x2dbar.slice"])
def test_unit_name_ok(value):
    assert v.check_unit_name(value, "services[0]") == value


@pytest.mark.parametrize("value", ["", "a b.service", "x\n.service", "a/b.service", "u" * 256, 3])
def test_unit_name_refused(value):
    assert "unit name" in refused(v.check_unit_name, value)


@pytest.mark.parametrize("value", ["busybox", "busybox:1.36", "hybridops/web:1", "localhost:5000/team/app:1.4",
                                   "registry.example.com/a_b/c-d__e.f:v1.2-rc_3", "Registry.Example.com/app",
                                   "app@sha256:" + "a" * 64, "app:1@sha256:" + "0" * 64, "a:" + "t" * 128])
def test_image_ref_ok(value):
    assert v.check_image_ref(value, "name") == value


@pytest.mark.parametrize("value", ["", "Web:1", "HYBRIDOPS/web", "web x:1", "-web", "web-:1", "web..x", "web:",
                                   "web:-1", "web:.1", "a:" + "t" * 129, "web\n:1", "<web>&'\"", "web@sha256:00",
                                   "a" * 256, 5, None, "web/:1", "/web"])
def test_image_ref_refused(value):
    assert "image reference" in refused(v.check_image_ref, value)


def test_image_tag_refuses_a_digest():
    assert v.check_image_ref("web:2", "tags[0]", digest=False) == "web:2"
    assert "cannot be set" in refused(v.check_image_ref, "web@sha256:" + "0" * 64, digest=False)


@pytest.mark.parametrize("value", ["base", "Build2", "a.b_c-d"])
def test_stage_name_ok(value):
    assert v.check_stage_name(value, "build.target") == value


@pytest.mark.parametrize("value", ["", "base\nevil", "-x", "2x", "a b", 3])
def test_stage_name_refused(value):
    assert "stage name" in refused(v.check_stage_name, value)


def test_string_map():
    assert v.check_string_map({"a": "x", "b": 2, "c": True, "d": 1.5}, "labels") == {
        "a": "x", "b": "2", "c": "true", "d": "1.5"}
    with pytest.raises(ValidationError) as info:
        v.check_string_map({"team": ["a"]}, "labels")
    assert info.value.option == "labels.team" and "list" in str(info.value)
    with pytest.raises(ValidationError) as info:
        v.check_string_map({"o": None}, "driver_opts")
    assert info.value.option == "driver_opts.o"
    assert "not a dict" in refused(v.check_string_map, ["a=b"])
    assert "valid name" in refused(v.check_string_map, {"": "x"})
    assert "variable name" in refused(v.check_string_map, {"A=B": "x"}, key_check=v.check_env_key)


def test_string_map_secret_keeps_values_out():
    with pytest.raises(ValidationError) as info:
        v.check_string_map({"TOKEN": ["s3cret"]}, "build.args", secret=True)
    assert info.value.option == "build.args.TOKEN" and "s3cret" not in str(info.value)


@pytest.mark.parametrize("value", ["qemu:///system", "qemu+ssh://root@hv1/system?socket=/run/x.sock", "test:///default",
                                   "myalias"])
def test_libvirt_uri_ok(value):
    assert v.check_libvirt_uri(value, "uri") == value


@pytest.mark.parametrize("value", ["", "qemu:///system\n", "qemu:// /system", "a\tb", None, 5])
def test_libvirt_uri_refused(value):
    assert "libvirt URI" in refused(v.check_libvirt_uri, value)


@pytest.mark.parametrize("value", [".service", "", ".socket"])
def test_unit_name_needs_a_name_before_the_suffix(value):
    assert "unit name" in refused(v.check_unit_name, value)

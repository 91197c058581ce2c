"""LibvirtClient.open's errors: a URI no driver takes is told apart from a hypervisor that does not answer."""
import pytest

libvirt = pytest.importorskip("libvirt")

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import (  # noqa: E402
    LibvirtClient,
    names_no_driver,
)


def open_error(uri):
    with pytest.raises(BackendError) as caught:
        LibvirtClient(uri).open()
    return caught.value


def test_a_uri_without_a_driver_name_is_a_wrong_uri():
    error = open_error("banana")  # libvirt rejects it before any socket is tried
    assert names_no_driver(error) and "banana" in error.msg


def test_a_hypervisor_that_does_not_answer_is_not_a_wrong_uri():
    error = open_error("qemu+unix:///system?socket=/nonexistent/libvirt-sock")
    assert not names_no_driver(error) and "/nonexistent/libvirt-sock" in error.msg


def test_errors_of_other_calls_are_not_wrong_uris():
    assert not names_no_driver(BackendError("listing domains: boom", libvirt_error_code=libvirt.VIR_ERR_INTERNAL_ERROR))
    assert not names_no_driver(BackendError("no code at all"))


def test_an_answering_uri_opens():
    with LibvirtClient("test:///default") as client:
        assert client.conn is not None

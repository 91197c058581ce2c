"""sizes.parse_size / format_size: libvirt conventions (K/M/G binary, KB/MB/GB decimal)."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.sizes import (
    SizeError,
    format_size,
    parse_size,
    unit_factor,
)


@pytest.mark.parametrize("value,default,expected", [
    ("2GiB", "B", 2 * 1024 ** 3),
    ("512MiB", "B", 512 * 1024 ** 2),
    ("10G", "B", 10 * 1024 ** 3),
    ("10g", "B", 10 * 1024 ** 3),
    ("1GB", "B", 10 ** 9),
    ("1.5GiB", "B", 1536 * 1024 ** 2),
    ("1024", "MiB", 1024 ** 3),
    (512, "MiB", 512 * 1024 ** 2),
    (3, "GiB", 3 * 1024 ** 3),
    ("100 KiB", "B", 102400),
    ("7b", "MiB", 7),
    (0, "B", 0),
])
def test_parse_size(value, default, expected):
    assert parse_size(value, default) == expected


@pytest.mark.parametrize("value", ["", "GiB", "1XB", "-1", "1iB", True, None, [1], "1.0000001B", -5])
def test_parse_size_rejects(value):
    with pytest.raises(SizeError) as info:
        parse_size(value)
    assert "expected" in str(info.value)
    assert info.value.reason in str(info.value)


def test_size_error_is_value_error():
    with pytest.raises(ValueError):
        parse_size("lots")


@pytest.mark.parametrize("num,text", [
    (512 * 1024 ** 2, "512MiB"), (2 * 1024 ** 3, "2GiB"), (1000, "1000B"), (0, "0B"), (1536 * 1024 ** 2, "1536MiB"),
])
def test_format_size(num, text):
    assert format_size(num) == text
    assert parse_size(text) == num


def test_unit_factor():
    assert unit_factor("MiB") == 1024 ** 2
    assert unit_factor("MB") == 10 ** 6
    assert unit_factor("B") == 1
    with pytest.raises(ValueError):
        unit_factor("parsecs")

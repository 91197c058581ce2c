"""Helpers for the tests that read ansible-inventory's output."""


def plain(value):
    """ansible-inventory --list writes values from plugins as {"__ansible_unsafe": value}: the values themselves."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value

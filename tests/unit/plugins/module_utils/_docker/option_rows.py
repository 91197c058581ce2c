"""Helpers for the option-row unit tests: a spec through the table, into the fake engine, and compared back."""
from docker_fake_engine import FakeAPI, make_image

from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs


class Rows:
    """One test image; ``desired``/``container``/``diffs``/``body`` of a spec on it (container name c1)."""

    def __init__(self, ref):
        self.image = make_image(ref, cmd=["sleep", "1000"])
        self.base = {"image": ref}

    def desired(self, **spec):
        return cs.normalize_spec(dict(self.base, name="c1", **spec))

    def container(self, **spec):
        api = FakeAPI()
        api.add_image(self.image)
        cid = api.create_container_from_config(cs.create_body(self.desired(**spec)), "c1")["Id"]
        return api.inspect_container(cid)

    def diffs(self, inspect, **spec):
        return dict((d.option, d) for d in cs.compare(self.desired(**spec), self.image, inspect))

    def body(self, **spec):
        return cs.create_body(self.desired(**spec))

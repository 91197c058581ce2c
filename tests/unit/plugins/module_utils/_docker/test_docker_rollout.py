"""container_rollout's pure parts: HAProxy runtime API parsing, slot choice, option checks, docs vs argspec."""
import importlib

import pytest
import yaml

from ansible_collections.hybridops.fleet.plugins.module_utils._common import probe
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError, ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import rollout
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import LOCK_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._haproxy import runtime
from ansible_collections.hybridops.fleet.plugins.module_utils._haproxy.client import RuntimeClient

# HAProxy 2.6.12's answer to `show servers state web`: blue serving (admin 4 = only "disabled in the
# configuration", cleared by `set server ... state ready`), green in forced maintenance (5)
SERVERS_STATE = (
    "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state "
    "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
    "srv_agent_addr srv_agent_port\n"
    "3 web 1 blue 127.0.0.1 2 4 1 1 6 6 3 4 6 0 0 0 - 18381 - 0 0 - - 0\n"
    "3 web 2 green 127.0.0.1 0 5 1 1 24 1 0 0 14 0 0 0 - 18382 - 0 0 - - 0\n\n")

STAT = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,status\n"
        "web,FRONTEND,,,3,5,,10,OPEN\n"
        "web,blue,0,0,2,4,,9,DRAIN\n"
        "web,green,1,1,0,1,,1,UP\n"
        "web,BACKEND,0,0,2,4,,10,UP\n\n")


def test_parse_servers_state_reads_slots_ports_and_admin_states():
    servers = runtime.parse_servers_state(SERVERS_STATE)
    assert [(s["srv_name"], s["srv_addr"], s["srv_port"], s["admin"], s["op"], s["be_id"]) for s in servers] == [
        ("blue", "127.0.0.1", 18381, "ready", "running", 3), ("green", "127.0.0.1", 18382, "maint", "stopped", 3)]
    assert runtime.server_view(servers) == {"blue": "ready", "green": "maint"}


@pytest.mark.parametrize("admin, expected", [(0, "ready"), (4, "ready"), (1, "maint"), (5, "maint"), (2, "maint"),
                                             (0x20, "maint"), (8, "drain"), (0x10, "drain"), (9, "maint")])
def test_admin_bits(admin, expected):
    text = SERVERS_STATE.replace("3 web 1 blue 127.0.0.1 2 4 ", "3 web 1 blue 127.0.0.1 2 %d " % admin)
    assert runtime.parse_servers_state(text)[0]["admin"] == expected


@pytest.mark.parametrize("text", ["", "No such backend.\n", "2\n# be_id\n", "1\n3 web 1 blue\n",
                                  "1\n# be_id be_name srv_id srv_name\n3 web\n"])
def test_parse_servers_state_refuses_other_answers(text):
    with pytest.raises(BackendError):
        runtime.parse_servers_state(text)


def test_parse_stat_and_sessions_count_current_and_queued():
    rows = runtime.parse_stat(STAT)
    assert runtime.sessions(rows, "web", "blue") == 2
    assert runtime.sessions(rows, "web", "green") == 1
    assert runtime.sessions(rows, "web", "red") is None
    with pytest.raises(BackendError):
        runtime.parse_stat("Unknown command\n")


def test_runtime_client_names_a_missing_socket(tmp_path):
    client = RuntimeClient(str(tmp_path / "admin.sock"))
    with pytest.raises(BackendError, match="does not exist .*stats socket"):
        client.call("reading", "show info")


def servers(blue="ready", green="maint"):
    return [{"srv_name": "blue", "admin": blue}, {"srv_name": "green", "admin": green}]


def box(running=True, created="2026-01-01T00:00:00Z"):
    return {"State": {"Running": running}, "Created": created}


@pytest.mark.parametrize("state, containers, expected", [
    # nothing deployed yet: the first slot
    (servers("maint", "maint"), {}, (None, "blue")),
    # blue serves: roll into green
    (servers(), {"blue": box()}, ("blue", "green")),
    (servers("maint", "ready"), {"green": box()}, ("green", "blue")),
    # a leftover in the idle slot does not serve (its server is in maintenance)
    (servers(), {"blue": box(), "green": box(created="2026-02-01T00:00:00Z")}, ("blue", "green")),
    # both take traffic (a run cut short between switching and draining): the newer one passed its gate
    (servers("ready", "drain"), {"blue": box(), "green": box(created="2026-02-01T00:00:00Z")}, ("green", "blue")),
    # a ready server whose container is stopped does not serve; the empty slot is the target
    (servers("ready", "maint"), {"blue": box(running=False)}, (None, "green")),
    (servers("ready", "ready"), {"blue": box(running=False), "green": box(running=False)}, (None, "blue")),
])
def test_choose_slots(state, containers, expected):
    assert rollout.choose_slots(state, containers) == expected


def params(**extra):
    base = {"name": "web", "image": "web:2", "port": 8080, "container": {}, "proxy": {}, "probe": {}}
    base.update(extra)
    return base


def test_normalize_params_defaults():
    result, options = rollout.normalize_params(params(container={"env": {"A": "1"}, "labels": None}))
    assert options == {"env": {"A": "1"}}
    assert result["proxy"]["backend"] == "web" and result["proxy"]["drain_timeout"] == 30
    assert result["probe"]["type"] == "http" and result["probe"]["status"] == [200] and result["probe"]["path"] == "/"


@pytest.mark.parametrize("extra, option", [
    ({"container": {"ports": ["80:80"]}}, "container.ports"),
    ({"container": {"name": "x"}}, "container.name"),
    ({"container": {"bogus": 1}}, "container.bogus"),
    ({"probe": {"path": "health"}}, "probe.path"),
    ({"probe": {"status": []}}, "probe.status"),
    ({"probe": {"type": "udp"}}, "probe.type"),
    ({"probe": {"successes": 0}}, "probe.successes"),
    ({"proxy": {"drain_timeout": -1}}, "proxy.drain_timeout"),
    ({"port": 0}, "port"),
    ({"name": "-web"}, "name"),
])
def test_normalize_params_names_the_bad_option(extra, option):
    with pytest.raises(ValidationError) as err:
        rollout.normalize_params(params(**extra))
    assert err.value.option == option


def test_http_verdict():
    assert probe.http_verdict(200, "hybridops web v2", [200], "web v2") is None
    assert "status 503" in probe.http_verdict(503, "", [200], None)
    assert "does not match 'v3'" in probe.http_verdict(200, "hybridops web v2", [200, 204], "v3")
    assert probe.tcp_verdict(None) is None and "refused" in probe.tcp_verdict(ConnectionRefusedError("refused"))


def _shape(spec):
    result = {}
    for name, arg in spec.items():
        item = dict((k, arg[k]) for k in ("type", "elements", "choices", "required", "default")
                    if arg.get(k) not in (None, False, {}))
        if arg.get("options"):
            item["suboptions"] = _shape(arg["options"])
        result[name] = item
    return result


def _doc_shape(options):
    result = {}
    for name, doc in options.items():
        item = dict((k, doc[k]) for k in ("type", "elements", "choices", "required", "default")
                    if doc.get(k) not in (None, False, {}))
        if doc.get("suboptions"):
            item["suboptions"] = _doc_shape(doc["suboptions"])
        result[name] = item
    return result


def test_module_docs_match_the_argument_spec():
    module = importlib.import_module("ansible_collections.hybridops.fleet.plugins.modules.container_rollout")
    documented = yaml.safe_load(module.DOCUMENTATION)["options"]
    assert _doc_shape(documented) == _shape(rollout.ROLLOUT_ARGS)
    assert set(documented) | set(DOCKER_COMMON_ARGS) | set(LOCK_ARGS) == (
        set(rollout.ROLLOUT_ARGS) | set(DOCKER_COMMON_ARGS) | set(LOCK_ARGS))
    assert rollout.ROLLOUT_ARGS["container"]["options"]["secret_env"]["no_log"] is True


class FakeBackend:
    """Sessions of a draining server as HAProxy would report them, one value per poll."""

    def __init__(self, sessions):
        self.left = list(sessions)
        self.polls = 0

    def sessions(self, be_id, server):
        self.polls += 1
        return self.left.pop(0) if len(self.left) > 1 else self.left[0]

    def all_states(self):
        return SERVERS_STATE


def test_drain_waits_for_the_sessions_to_end():
    backend = FakeBackend([2, 1, 0])
    left, _waited = rollout.RolloutManager._drain(backend, 3, "blue", 60)
    assert left == 0 and backend.polls == 3


def test_drain_gives_up_at_its_timeout_and_says_how_many_were_left():
    backend = FakeBackend([4])
    left, _waited = rollout.RolloutManager._drain(backend, 3, "blue", 0)
    assert left == 4 and backend.polls == 1


def test_server_state_is_saved_whole_for_a_reload(tmp_path):
    steps = []
    path = tmp_path / "server-state"
    rollout.RolloutManager._save_state({"proxy": {"state_file": str(path)}}, FakeBackend([0]), steps)
    assert path.read_text() == SERVERS_STATE and steps == ["saved the server state to %s" % path]
    with pytest.raises(BackendError, match="saving HAProxy's server state"):
        rollout.RolloutManager._save_state({"proxy": {"state_file": str(tmp_path / "no" / "dir")}},
                                           FakeBackend([0]), [])


# --- the version history kept for rollbacks --------------------------------------------------------------------

V1 = {"image": "web:1", "id": "sha256:" + "1" * 64}
V2 = {"image": "web:2", "id": "sha256:" + "2" * 64}
V3 = {"image": "web:3", "id": "sha256:" + "3" * 64}


def test_history_tag_and_labels():
    assert rollout.history_tag("Shop-Web", V1["id"]) == "hybridops-rollout/shop-web:111111111111"
    inspect = {"Image": V2["id"], "Config": {"Image": "hybridops-rollout/web:222222222222", "Labels": {
        rollout.IMAGE_LABEL: "web:2", rollout.HISTORY_LABEL: '[{"image": "web:1", "id": "%s"}, 7]' % V1["id"]}}}
    assert rollout.version_of(inspect) == V2  # the reference it was rolled out as, not the history tag it runs from
    assert rollout.history_of(inspect) == [V1]  # entries that are not versions are dropped
    # a container of an older release: no labels of ours
    old = {"Image": V1["id"], "Config": {"Image": "web:1", "Labels": {}}}
    assert rollout.version_of(old) == V1 and rollout.history_of(old) == []
    assert rollout.history_of({"Config": {"Labels": {rollout.HISTORY_LABEL: "not json"}}}) == []


def test_next_history_newest_first_each_image_once_bounded():
    assert rollout.next_history(V2, [V1], V3["id"], 3) == [V2, V1]
    assert rollout.next_history(V2, [V1], V3["id"], 1) == [V2]
    assert rollout.next_history(V2, [V1], V3["id"], 0) == []
    # a rollback to v1: the version rolled back from comes first, v1 is not in its own history
    assert rollout.next_history(V2, [V1, V3], V1["id"], 3) == [V2, V3]
    assert rollout.next_history(None, [], V1["id"], 3) == []


def test_pick_version():
    history = [V2, V1]
    assert rollout.pick_version(history, "previous") == V2
    assert rollout.pick_version(history, "web:1") == V1
    assert rollout.pick_version(history, "111111111111") == V1
    assert rollout.pick_version(history, V1["id"]) == V1
    for wanted in ("web:9", "1111"):  # unknown, or an ID prefix too short to be sure
        with pytest.raises(ValidationError) as err:
            rollout.pick_version(history, wanted)
        assert err.value.option == "rollback" and "web:2 (222222222222), web:1 (111111111111)" in str(err.value)
    with pytest.raises(ValidationError, match="no earlier version"):
        rollout.pick_version([], "previous")


@pytest.mark.parametrize("extra, option", [({"image": None}, "image"), ({"rollback": "previous"}, "rollback"),
                                           ({"keep_versions": -1}, "keep_versions")])
def test_normalize_params_image_or_rollback(extra, option):
    with pytest.raises(ValidationError) as err:
        rollout.normalize_params(params(**extra))
    assert err.value.option == option


def test_rollout_summary_filter():
    from ansible_collections.hybridops.fleet.plugins.filter.rollout_summary import rollout_summary

    def serving(*pairs):
        return {"containers": [{"name": "%s-%s" % (svc, image), "running": running, "image": "sha256:x", "labels": {
            rollout.ROLLOUT_LABEL: svc, rollout.IMAGE_LABEL: image}} for svc, image, running in pairs]
            + [{"running": True, "image": "other:1", "labels": {}}]}  # not a rollout's container

    hosts = [
        {"inventory_hostname": "a", "container_deploy_rollouts": {"results": [{"rolled_out": True}]},
         "fleet_rollout_serving": serving(("web", "web:2", True), ("web", "web:1", False))},
        {"inventory_hostname": "b", "container_deploy_rollouts": {"results": [{"failed": True}]},
         "fleet_rollout_failure": "health gate failed", "fleet_rollout_serving": serving(("web", "web:1", True)),
         "container_deploy_proxy_services": [{"name": "web"}]},
        {"inventory_hostname": "c", "fleet_rollout_serving": serving(("web", "web:1", True), ("api", "api:1", True)),
         "container_deploy_proxy_services": [{"name": "web"}]},
        {"inventory_hostname": "d", "container_deploy_rollouts": {"results": [{"rolled_out": False}]},
         "fleet_rollout_serving": serving(("web", "web:2", True))},
    ]
    summary = rollout_summary(hosts)
    assert [summary["hosts"][h]["status"] for h in "abcd"] == ["rolled out", "failed", "not reached", "unchanged"]
    assert summary["versions"] == {"web": {"web:2": ["a", "d"], "web:1": ["b", "c"]}}  # c's api is not in this run
    assert summary["failed"] == ["b"] and summary["not_reached"] == ["c"]
    assert summary["lines"][1] == "b: failed (web web:1): health gate failed"
    assert summary["hosts"]["a"]["containers"] == ["web-web:1", "web-web:2"]  # the service's containers, any state

"""An in-memory stand-in for the Docker Engine's low-level API (APIClient subset).

It reproduces what matters for comparison: the daemon merges the image's config
into a new container (Cmd/Entrypoint/Env/Labels/Healthcheck/User/WorkingDir),
keeps HostConfig as given, and reports NetworkSettings with the container's
short ID as an extra alias on user-defined networks.
"""
import copy
import hashlib
import threading
import time

from docker import errors as docker_errors


def _not_found(what):
    return docker_errors.NotFound("404 Client Error: Not Found (%s)" % what, explanation="No such object: %s" % what)


def make_image(ref, cmd=None, entrypoint=None, env=None, labels=None, healthcheck=None, user="", workdir=""):
    digest = hashlib.sha256(repr((ref, cmd, entrypoint, env, labels, healthcheck, user, workdir)).encode()).hexdigest()
    return {
        "Id": "sha256:" + digest,
        "RepoTags": [ref if ":" in ref else ref + ":latest"],
        "Config": {
            "Cmd": cmd, "Entrypoint": entrypoint,
            "Env": env if env is not None else ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": labels, "Healthcheck": healthcheck, "User": user, "WorkingDir": workdir,
            "ExposedPorts": {"8080/tcp": {}},
        },
    }


def daemon_merge(body, image):
    """The container Config the daemon stores for a create body (daemon/commit.go merge())."""
    user = copy.deepcopy({k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")})
    img = image["Config"]
    if not user.get("User"):
        user["User"] = img.get("User") or ""
    env = list(user.get("Env") or [])
    keys = set(e.split("=", 1)[0] for e in env)
    for item in img.get("Env") or []:
        if item.split("=", 1)[0] not in keys:
            env.append(item)
    user["Env"] = env
    labels = dict(img.get("Labels") or {})
    labels.update(user.get("Labels") or {})
    user["Labels"] = labels
    if not user.get("Entrypoint"):
        if not user.get("Cmd"):
            user["Cmd"] = img.get("Cmd")
        # an explicit [] clears the image's ENTRYPOINT; only a missing one is inherited
        if user.get("Entrypoint") is None:
            user["Entrypoint"] = img.get("Entrypoint")
    if not user.get("WorkingDir"):
        user["WorkingDir"] = img.get("WorkingDir") or ""
    ih = img.get("Healthcheck")
    if user.get("Healthcheck") is None:
        user["Healthcheck"] = copy.deepcopy(ih)
    elif ih:
        hc = user["Healthcheck"]
        if not hc.get("Test"):
            hc["Test"] = ih.get("Test")
        for key in ("Interval", "Timeout", "StartPeriod", "Retries"):
            if not hc.get(key):
                hc[key] = ih.get(key, 0)
    exposed = dict(img.get("ExposedPorts") or {})
    exposed.update(user.get("ExposedPorts") or {})
    user["ExposedPorts"] = exposed
    user.setdefault("Hostname", "abcdef123456")
    user["Image"] = body["Image"]
    return user


class FakeAPI:
    def __init__(self):
        self.images = {}
        self._containers = {}
        self._networks = {"bridge": {"Name": "bridge", "Id": "n-bridge", "Driver": "bridge", "Labels": {}}}
        self._volumes = {}
        self.calls = []
        self.lock = threading.Lock()
        self.fail_start = set()     # container names whose start raises
        self.unhealthy = set()      # container names that never become healthy
        self.start_delay = 0.0
        self.events = []            # ordered (op, name)
        self.base_url = "http+docker://localhost"
        self.daemon_log_opts = {}   # daemon.json log-opts, merged into json-file LogConfigs
        self.removed_with_volumes = []  # the v= flag of each remove_container call
        self.refuse_create = None   # callable(name, body) -> an engine message to refuse a create with, or None
        self.refuse_start = None    # callable(container data) -> an engine message to refuse a start with, or None
        self.platforms = []         # (name, platform) of each create with a platform

    # ---------------------------------------------------------------- helpers
    def add_image(self, image):
        for tag in image["RepoTags"]:
            self.images[tag] = image
            self.images[tag.rsplit(":", 1)[0] if tag.endswith(":latest") else tag] = image
        self.images[image["Id"]] = image

    def _find(self, ref):
        with self.lock:
            if ref in self._containers:
                return self._containers[ref]
            for data in self._containers.values():
                if data["Name"] == "/" + ref.lstrip("/") or data["Id"].startswith(ref):
                    return data
        raise _not_found(ref)

    def _record(self, op, *args):
        with self.lock:
            self.calls.append((op,) + args)

    # ---------------------------------------------------------------- API subset
    def inspect_image(self, ref):
        self._record("inspect_image", ref)
        if ref not in self.images:
            raise docker_errors.ImageNotFound("no such image %s" % ref, explanation="No such image: %s" % ref)
        return copy.deepcopy(self.images[ref])

    def inspect_container(self, ref):
        self._record("inspect_container", ref)
        return copy.deepcopy(self._find(ref))

    def containers(self, all=False, filters=None):
        self._record("containers")
        result = []
        with self.lock:
            items = list(self._containers.values())
        for data in items:
            labels = data["Config"].get("Labels") or {}
            if filters and filters.get("label"):
                wanted = filters["label"]
                wanted = [wanted] if isinstance(wanted, str) else wanted
                ok = True
                for item in wanted:
                    key, sep, value = item.partition("=")
                    if key not in labels or (sep and labels[key] != value):
                        ok = False
                if not ok:
                    continue
            if not all and not data["State"]["Running"]:
                continue
            result.append({"Id": data["Id"], "Names": [data["Name"]], "Image": data["Config"]["Image"],
                           "ImageID": data["Image"], "Labels": labels,
                           "State": "running" if data["State"]["Running"] else "exited"})
        return result

    def create_container_from_config(self, config, name=None):
        self._record("create", name)
        refused = self.refuse_create(name, config) if self.refuse_create else None
        if refused:
            raise docker_errors.APIError("400 Client Error", explanation=refused)
        image = self.images.get(config["Image"])
        if image is None:
            raise docker_errors.ImageNotFound("no such image", explanation="No such image: %s" % config["Image"])
        cid = hashlib.sha256(("%s-%s" % (name, time.time())).encode()).hexdigest()
        with self.lock:
            for data in self._containers.values():
                if data["Name"] == "/" + name:
                    raise docker_errors.APIError("409 Conflict", explanation="Conflict. The container name %s is already in use" % name)
        cfg = daemon_merge(config, image)
        hc = copy.deepcopy(config.get("HostConfig") or {})
        hc.setdefault("NetworkMode", "default")
        # engine defaults measured on dockerd 20.10 (cgroup v1): swap twice the memory limit, 64 MiB /dev/shm,
        # IPC "private" (default-ipc-mode), capabilities stored as CAP_X
        if hc.get("Memory") and not hc.get("MemorySwap"):
            hc["MemorySwap"] = hc["Memory"] * 2
        hc.setdefault("ShmSize", 64 * 1024 * 1024)
        hc.setdefault("IpcMode", "private")
        hc.setdefault("CgroupnsMode", "host")
        hc.setdefault("Runtime", "runc")
        hc.setdefault("MemorySwappiness", None)
        for key in ("CapAdd", "CapDrop"):
            if hc.get(key):
                hc[key] = [c.upper() if c.upper() == "ALL" or c.upper().startswith("CAP_") else "CAP_" + c.upper()
                           for c in hc[key]]
        hc.setdefault("RestartPolicy", {"Name": "", "MaximumRetryCount": 0})
        hc.setdefault("LogConfig", {"Type": "json-file", "Config": {}})
        if hc["LogConfig"]["Type"] in ("", "json-file"):
            # the daemon merges its default log-opts (daemon.json) into the container's LogConfig
            hc["LogConfig"] = {"Type": "json-file", "Config": dict(self.daemon_log_opts, **(hc["LogConfig"].get("Config") or {}))}
        nets = {}
        mode = hc["NetworkMode"]
        if mode in ("default", "bridge"):
            nets["bridge"] = {"Aliases": None, "IPAMConfig": None}
        elif mode in ("host", "none"):
            nets[mode] = {"Aliases": None, "IPAMConfig": None}
        else:
            endpoint = (config.get("NetworkingConfig") or {}).get("EndpointsConfig", {}).get(mode) or {}
            nets[mode] = {"Aliases": list(endpoint.get("Aliases") or []) + [cid[:12]],
                          "IPAMConfig": endpoint.get("IPAMConfig")}
        data = {"Id": cid, "Name": "/" + name, "Image": image["Id"], "Config": cfg, "HostConfig": hc,
                "NetworkSettings": {"Networks": nets},
                "State": {"Status": "created", "Running": False, "ExitCode": 0}}
        with self.lock:
            self._containers[cid] = data
            self.events.append(("create", name))
        return {"Id": cid, "Warnings": []}

    def start(self, ref):
        data = self._find(ref)
        name = data["Name"].lstrip("/")
        self._record("start", name)
        if self.start_delay:
            time.sleep(self.start_delay)
        if name in self.fail_start:
            raise docker_errors.APIError("500 Server Error", explanation="driver failed programming external connectivity")
        refused = self.refuse_start(data) if self.refuse_start else None
        if refused:
            raise docker_errors.APIError("500 Server Error", explanation=refused)
        with self.lock:
            data["State"].update({"Status": "running", "Running": True})
            if data["Config"].get("Healthcheck") and (data["Config"]["Healthcheck"].get("Test") or ["NONE"])[0] != "NONE":
                status = "unhealthy" if name.replace("-hybridops-next", "") in self.unhealthy else "healthy"
                data["State"]["Health"] = {"Status": status, "Log": [{"ExitCode": 1 if status == "unhealthy" else 0,
                                                                      "Output": "probe output"}]}
            self.events.append(("start", name))

    def stop(self, ref, timeout=10):
        data = self._find(ref)
        self._record("stop", data["Name"].lstrip("/"))
        with self.lock:
            data["State"].update({"Status": "exited", "Running": False, "Paused": False})
            data["State"].pop("Health", None)
            self.events.append(("stop", data["Name"].lstrip("/")))

    def kill(self, ref, signal=None):
        data = self._find(ref)
        self._record("kill", data["Name"].lstrip("/"), signal)
        if not data["State"].get("Running"):
            raise docker_errors.APIError("409 Conflict", explanation="Container %s is not running" % data["Id"])
        with self.lock:
            data["State"].update({"Status": "exited", "Running": False, "Paused": False})
            data["State"].pop("Health", None)
            self.events.append(("kill", data["Name"].lstrip("/")))

    def remove_container(self, ref, force=False, v=False):
        data = self._find(ref)
        self._record("remove", data["Name"].lstrip("/"))
        self.removed_with_volumes.append(bool(v))
        with self.lock:
            del self._containers[data["Id"]]
            self.events.append(("remove", data["Name"].lstrip("/")))

    def rename(self, ref, name):
        data = self._find(ref)
        self._record("rename", data["Name"].lstrip("/"), name)
        with self.lock:
            if any(other["Name"] == "/" + name for other in self._containers.values()):
                raise docker_errors.APIError("409 Conflict", explanation="Conflict. The container name \"/%s\" is "
                                             "already in use" % name)
            data["Name"] = "/" + name
            self.events.append(("rename", name))

    def connect_container_to_network(self, container, net_id, aliases=None, ipv4_address=None, **kwargs):
        data = self._find(container)
        self._record("connect", data["Name"].lstrip("/"), net_id)
        with self.lock:
            data["NetworkSettings"]["Networks"][net_id] = {
                "Aliases": list(aliases or []) + [data["Id"][:12]],
                "IPAMConfig": {"IPv4Address": ipv4_address} if ipv4_address else None}

    def disconnect_container_from_network(self, container, net_id, force=False):
        data = self._find(container)
        self._record("disconnect", data["Name"].lstrip("/"), net_id)
        with self.lock:
            name = net_id[2:] if net_id.startswith("n-") else net_id
            data["NetworkSettings"]["Networks"].pop(name, None)

    def _url(self, path, *args):
        return path.format(*args)

    def pause(self, ref):
        data = self._find(ref)
        self._record("pause", data["Name"].lstrip("/"))
        if not data["State"].get("Running"):
            raise docker_errors.APIError("409 Conflict", explanation="Container %s is not running" % data["Id"])
        with self.lock:
            data["State"].update({"Status": "paused", "Paused": True})

    def unpause(self, ref):
        data = self._find(ref)
        self._record("unpause", data["Name"].lstrip("/"))
        if not data["State"].get("Paused"):
            raise docker_errors.APIError("409 Conflict", explanation="Container %s is not paused" % data["Id"])
        with self.lock:
            data["State"].update({"Status": "running", "Paused": False})

    def _post_json(self, url, data=None, params=None):
        if url == "/containers/create":
            # a create with a platform (the query parameter SDKs before 6.0 cannot pass)
            self.platforms.append((params["name"], params["platform"]))
            return self.create_container_from_config(data, params["name"])
        assert url.startswith("/containers/") and url.endswith("/update")
        cid = url.split("/")[2]
        data_ = self._find(cid)
        self._record("update", data_["Name"].lstrip("/"), data)
        with self.lock:
            hc = data_["HostConfig"]
            for key, value in data.items():
                if key == "RestartPolicy" and not value.get("Name"):
                    continue    # the engine reads an empty policy name as "unchanged"
                hc[key] = value
        return {"Warnings": []}

    def _result(self, response, json=False):
        return response

    def pull(self, repo, tag=None, **kwargs):
        self._record("pull", repo, tag)
        raise docker_errors.APIError("500 Server Error",
                                     explanation="Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io: no such host")

    # networks / volumes
    def networks(self, names=None, filters=None):
        result = [copy.deepcopy(n) for n in self._networks.values()]
        if filters and filters.get("label"):
            key, _sep, value = filters["label"].partition("=")
            result = [n for n in result if (n.get("Labels") or {}).get(key) == value]
        return result

    def inspect_network(self, name):
        if name not in self._networks:
            raise _not_found(name)
        data = copy.deepcopy(self._networks[name])
        with self.lock:
            data["Containers"] = dict((c["Id"], {"Name": c["Name"].lstrip("/")}) for c in self._containers.values()
                                      if name in c["NetworkSettings"]["Networks"])
        return data

    def create_network(self, name, driver=None, labels=None, internal=False, ipam=None, options=None, **kwargs):
        self._record("create_network", name)
        refused = self.refuse_network(name, dict(driver=driver, internal=internal, ipam=ipam)) \
            if getattr(self, "refuse_network", None) else None
        if refused:
            raise docker_errors.APIError("400 Client Error", explanation=refused)
        if name in self._networks:
            raise docker_errors.APIError("409 Conflict", explanation="network with name %s already exists" % name)
        self._networks[name] = {"Name": name, "Id": "n-" + name, "Driver": driver or "bridge", "Labels": labels or {},
                                "Internal": bool(internal), "IPAM": {"Config": list((ipam or {}).get("Config") or [])},
                                "Options": options or {}}
        return {"Id": "n-" + name}

    def remove_network(self, name):
        self._record("remove_network", name)
        self._networks.pop(name[2:] if name.startswith("n-") and name[2:] in self._networks else name, None)

    def inspect_volume(self, name):
        if name not in self._volumes:
            raise _not_found(name)
        return copy.deepcopy(self._volumes[name])

    def volumes(self, filters=None):
        return {"Volumes": [copy.deepcopy(v) for v in self._volumes.values()]}

    def create_volume(self, name, driver=None, driver_opts=None, labels=None):
        self._record("create_volume", name)
        self._volumes[name] = {"Name": name, "Driver": driver or "local", "Labels": labels or {}}
        return self._volumes[name]

    def remove_volume(self, name, force=False):
        self._record("remove_volume", name)
        self._volumes.pop(name, None)

    def info(self):
        # the drivers a stock engine reports (GET /info Plugins)
        return {"Plugins": {"Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"],
                            "Volume": ["local"]}}

    def plugins(self):
        return []

    def mutations(self):
        return [c for c in self.calls if c[0] not in ("inspect_image", "inspect_container", "containers")]


class FakeClient:
    def __init__(self):
        self.api = FakeAPI()
        self.hybridops_address = "unix:///fake/docker.sock"

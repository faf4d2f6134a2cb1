"""What `import compose` writes passes `reconciler validate` as it is, for every kind of key."""

from pathlib import Path

import pytest

from reconciler.importing.compose_names import Naming, running_project
from tests.unit.compose_import import converted, project, written_and_loaded

FIXTURES = {
    "web app with a database and a cache": lambda d: project({
        "web": {"image": "localhost/web:1", "ports": ["8080:80", {"target": 443, "published": "8443"}],
                "environment": ["DB_HOST=db", "SECRET_KEY"], "depends_on": {"db": {"condition": "service_healthy"},
                                                                            "cache": {"condition": "service_started"}},
                "restart": "unless-stopped", "mem_limit": "256m", "cpus": "0.5", "pids_limit": 100,
                "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "retries": 3},
                "logging": {"driver": "json-file", "options": {"max-size": "10m"}}, "labels": ["tier=front"],
                "stop_grace_period": "20s", "init": True, "tmpfs": ["/tmp"], "ulimits": {"nofile": 1024},
                "extra_hosts": ["gw:host-gateway"], "volumes": [f"{d}/static:/srv:ro", "uploads:/uploads"]},
        "db": {"image": "localhost/db:16", "volumes": [{"type": "volume", "source": "dbdata", "target": "/var/db"}],
               "secrets": ["db_password"], "shm_size": "128m", "networks": {"back": {"aliases": ["database"]}},
               "healthcheck": {"test": "pg_isready", "interval": "5s"}},
        "cache": {"image": "localhost/cache:7", "command": "cache --save ''", "networks": ["back", "default"],
                  "sysctls": {"net.core.somaxconn": "1024"}, "cap_drop": ["ALL"], "read_only": True},
    }, d, volumes={"uploads": None, "dbdata": {"labels": {"backup": "daily"}}},
        networks={"back": {"internal": True}}, secrets={"db_password": {"file": f"{d}/db_password.txt"}}),
    "reverse proxy in front of two services": lambda d: project({
        "proxy": {"image": "localhost/proxy:1", "ports": ["80:80"], "depends_on": ["app", "api"],
                  "networks": ["edge", "inner"], "configs": [{"source": "proxy_conf", "target": "/etc/proxy.conf"}]},
        "app": {"image": "localhost/app:1", "networks": ["inner"], "expose": ["3000"], "user": "1000:1000",
                "working_dir": "/app", "entrypoint": ["node"], "command": ["server.js"]},
        "api": {"image": "localhost/api:1", "networks": {"inner": {"aliases": ["backend"]}}, "pull_policy": "missing",
                "env_file": [f"{d}/api.env"], "profiles": ["full"]},
    }, d, networks={"edge": None, "inner": {"driver": "bridge", "ipam": {"config": [{"subnet": "172.31.7.0/24"}]}}},
        configs={"proxy_conf": {"content": "upstream app:3000;\n"}}),
    "monitoring stack": lambda d: project({
        "metrics": {"image": "localhost/metrics:2", "ports": ["127.0.0.1:9090:9090"], "volumes": ["mdata:/data"],
                    "command": ["--retention=15d"], "user": "nobody"},
        "node": {"image": "localhost/node:1", "network_mode": "host", "pid": "host", "privileged": True,
                 "volumes": ["/proc:/host/proc:ro"]},
        "sidecar": {"image": "localhost/side:1", "network_mode": "service:metrics", "volumes_from": ["metrics:ro"],
                    "deploy": {"resources": {"limits": {"memory": "64m"}}}},
    }, d, volumes={"mdata": None}),
}


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("running", [False, True])
def test_the_written_folder_is_valid(tmp_path, name, running):
    (tmp_path / "api.env").write_text("MODE=prod\n")
    (tmp_path / "db_password.txt").write_text("pw\n")
    compose = FIXTURES[name](tmp_path)
    labels = {"com.docker.compose.project": "proj", "com.docker.compose.version": "1.29.2"}
    naming = Naming("proj", running_project("proj", [(f"proj_{s}_1", {**labels, "com.docker.compose.service": s})
                                                     for s in compose.model["services"]])) if running else None
    conversion = converted(compose, out=tmp_path / "out", naming=naming)

    result = written_and_loaded(conversion, tmp_path / "out", environ={"SECRET_KEY": "k"})

    assert (result.errors, conversion.skipped) == ((), [])
    assert len(result.state.containers) == len(compose.model["services"])


def test_a_build_context_outside_the_folder_is_valid_with_build_allow(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text("FROM scratch\n")
    conversion = converted(project({"api": {"build": {"context": f"{tmp_path}/api", "target": "run"}}}, tmp_path),
                           out=tmp_path / "out")

    result = written_and_loaded(conversion, tmp_path / "out", build_allow=(Path(tmp_path / "api"),))

    assert result.errors == ()

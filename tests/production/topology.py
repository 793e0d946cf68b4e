"""The platform as production runs it, on one machine, from the wheels and Debian's packages: a
three-server NATS cluster (streams with three replicas), a PostgreSQL server of its own (one
database per service), an S3 server, two replicas of each service behind HAProxy, and a node
whose leaf link knows every server of the hub's cluster."""

import contextlib
import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datacommune.cli.platform import SERVICES, Platform, create_missing_databases
from datacommune.shared import tokens
from tests import servers
from tests.platform import ADMIN, Running
from tests.production import engines
from tests.soak.run import NODE, SOAK_ENV, node_platform

REPLICAS = 2
BUCKET = "datacommune"


@dataclass
class Topology:
    cluster: servers.NatsCluster
    postgres: engines.PostgresServer
    s3: engines.RestartableS3
    balancer: engines.LoadBalancer
    hub: Running
    node: Platform
    backends: dict[str, list[int]]

    @staticmethod
    def replica(service: str, n: int) -> str:
        return f"{service}-{n}"

    def start_replica(self, service: str, n: int) -> None:
        self.hub.platform.start_replica(
            service, self.replica(service, n), self.backends[service][n - 1], behind=True
        )

    def stop_replica(self, service: str, n: int, how: signal.Signals) -> None:
        """Stop one replica by ``how`` and wait for it to end."""
        process = self.hub.platform.processes.pop(self.replica(service, n))
        process.send_signal(how)
        process.wait(timeout=30)


@contextlib.contextmanager
def production(root: Path) -> Iterator[Topology]:
    """Everything started and ready; stopped in reverse order afterwards."""
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(servers.nats_cluster(3, hub=True))
        postgres = stack.enter_context(engines.postgres_server())
        s3 = stack.enter_context(engines.s3_server())
        databases = {name: postgres.url(f"dc_{name}") for name in SERVICES}
        # As `datacommune up` does for an operator: the databases are created if missing.
        create_missing_databases(list(databases.values()))
        fronts = {name: servers.free_port() for name in SERVICES}
        backends = {name: [servers.free_port() for _ in range(REPLICAS)] for name in SERVICES}
        balancer = engines.LoadBalancer(root, fronts, backends)
        platform = Platform(
            var=root / "hub",
            ports=dict(fronts),
            nats_url=cluster.url,
            databases=databases,
            env={**SOAK_ENV, **s3.server.env(BUCKET), "NATS__REPLICAS": "3"},
            per_service_env={
                "catalog": {
                    "ADMIN_TOKEN_HASH": tokens.hash_token(ADMIN),
                    "ALLOW_PRIVATE_WEBHOOKS": "true",
                },
                "ingest": {"NATS__HUB_NODES": json.dumps([NODE])},
            },
            quiet=True,
        )
        platform.var.mkdir(parents=True, exist_ok=True)
        stack.callback(platform.stop)
        topology = Topology(cluster, postgres, s3, balancer, Running(platform), None, backends)  # type: ignore[arg-type]
        stack.callback(topology.hub.client.close)
        for name in SERVICES:
            for n in range(1, REPLICAS + 1):
                topology.start_replica(name, n)
        for name in SERVICES:
            for n in range(1, REPLICAS + 1):
                platform.wait_ready(topology.replica(name, n), timeout=120)
        balancer.start()
        stack.callback(balancer.stop)
        for name in SERVICES:
            platform.wait_ready(name, timeout=30)
        node = stack.enter_context(node_platform(root / "node", cluster.leaf_url))
        topology.node = node
        try:
            yield topology
        except BaseException:
            for log in sorted((platform.var / "logs").glob("*.log")):
                print(f"==== {log.name}\n{log.read_text()[-3000:]}")  # noqa: T201 - on failure
            raise

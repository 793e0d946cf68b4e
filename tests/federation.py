"""A hub NATS server and leaf nodes for the federation tests, each leaf linked through a proxy.

The hub runs JetStream in domain ``hub`` and listens for leaf connections; each leaf (one per
collectivité's ingest node) runs JetStream in its own domain ``node-<name>``, with its own
``server_name`` and store directory (nats-server #3024), and dials the hub through a
``LinkProxy`` the test controls: ``cut()`` drops the link and refuses it, ``restore()`` lets the
leaf reconnect. Servers are started from config files (``nats-server -c``) written to a
temporary directory, and every process and thread is stopped on exit.
"""

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client

from datacommune.cli.platform import binary
from tests.servers import free_port, wait_port

# How often a leaf retries its remote while the link is down; the default (1 s) would add up to
# a second to every measured recovery.
LEAF_RECONNECT = "250ms"


def hub_config(*, port: int, leaf_port: int, store: Path) -> str:
    """The hub's configuration: JetStream in domain ``hub``, and a port for leaf nodes."""
    return f"""\
server_name: hub
listen: 127.0.0.1:{port}
jetstream {{
  domain: hub
  store_dir: "{store}"
}}
leafnodes {{
  listen: 127.0.0.1:{leaf_port}
  # Leaves must dial the address they were given (here the proxy), not the one the hub
  # would advertise; in production that address is the hub's load balancer.
  no_advertise: true
}}
"""


def leaf_config(*, name: str, port: int, hub_leaf_url: str, store: Path) -> str:
    """A node's configuration: its own JetStream domain and store, one remote (the hub)."""
    return f"""\
server_name: node-{name}
listen: 127.0.0.1:{port}
jetstream {{
  domain: node-{name}
  store_dir: "{store}"
}}
leafnodes {{
  reconnect: "{LEAF_RECONNECT}"
  remotes: [
    {{ url: "{hub_leaf_url}" }}
  ]
}}
"""


class LinkProxy:
    """A TCP relay standing for the network between a node and the hub.

    ``cut()`` closes every relayed connection and refuses new ones (they are accepted and
    closed at once, as a firewall resetting them would); ``restore()`` relays again. Runs in
    threads, so it works the same from sync and async tests.
    """

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self.bytes_relayed = 0
        self.connections = 0
        self._acceptor = threading.Thread(target=self._accept, name="link-proxy", daemon=True)
        self._acceptor.start()

    @property
    def up(self) -> bool:
        """Whether the link relays right now."""
        return self._up.is_set()

    def cut(self) -> None:
        """Drop every connection across the link and refuse new ones until ``restore``."""
        self._up.clear()
        self._close_all()

    def restore(self) -> None:
        """Let connections through again (the leaf reconnects on its own)."""
        self._up.set()

    def close(self) -> None:
        """Stop relaying for good and join every thread."""
        self._stopping.set()
        self._up.clear()
        self._close_all()
        self._acceptor.join(5)
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if not self._up.is_set():
                    client.close()
                    upstream.close()
                    continue
                self._sockets.update((client, upstream))
                self.connections += 1
            self._threads = [t for t in self._threads if t.is_alive()]
            for src, dst in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                self.bytes_relayed += len(data)
        except OSError:
            pass
        # One side ended: end both, so the other pump and both servers notice.
        with self._lock:
            self._sockets.discard(src)
            self._sockets.discard(dst)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@dataclass
class Server:
    """One running nats-server: where clients connect, its config and its store."""

    name: str
    domain: str
    url: str
    port: int
    config: Path
    store: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Terminate the server and wait for it (killed if it does not stop in 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    async def connect(self) -> Client:
        """A client connection to this server that keeps reconnecting."""
        return await nats.connect(
            self.url, name=f"test-{self.name}", max_reconnect_attempts=-1, reconnect_time_wait=0.2
        )


@dataclass
class Node:
    """A collectivité's leaf server and the proxy between it and the hub."""

    name: str
    server: Server
    link: LinkProxy

    @property
    def domain(self) -> str:
        return self.server.domain


@dataclass
class Federation:
    """A hub and its nodes, all running."""

    root: Path
    hub: Server
    hub_leaf_port: int
    nodes: dict[str, Node] = field(default_factory=dict)

    def add_node(self, name: str) -> Node:
        """Start one more leaf server, linked to the hub through its own proxy."""
        link = LinkProxy(self.hub_leaf_port)
        port = free_port()
        store = self.root / f"node-{name}"
        text = leaf_config(
            name=name, port=port, hub_leaf_url=f"nats-leaf://127.0.0.1:{link.port}", store=store
        )
        try:
            server = _start(self.root, f"node-{name}", f"node-{name}", port, text, store)
        except BaseException:
            link.close()
            raise
        node = Node(name, server, link)
        self.nodes[name] = node
        return node

    async def wait_linked(self, node: Node, within: float = 10) -> float:
        """Wait until the hub reaches the node's JetStream across the link; seconds waited."""
        return await wait_jetstream(self.hub.url, node.domain, within)


def _die_with_parent() -> None:
    # On Linux a server gets SIGTERM if pytest itself dies, so none is left running.
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _start(root: Path, name: str, domain: str, port: int, text: str, store: Path) -> Server:
    config = root / f"{name}.conf"
    config.write_text(text)
    log = root / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [binary("nats-server"), "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    server = Server(name, domain, f"nats://127.0.0.1:{port}", port, config, store, process, log)
    try:
        wait_port(port, process)
    except BaseException:
        server.stop()
        raise
    return server


async def wait_jetstream(url: str, domain: str, within: float = 10) -> float:
    """Poll until JetStream of ``domain`` answers to a client of ``url``; seconds waited."""
    start = time.monotonic()
    nc = await nats.connect(url, name="test-probe")
    try:
        while True:
            try:
                await nc.request(f"$JS.{domain}.API.INFO", b"", timeout=0.25)
                return time.monotonic() - start
            except Exception:
                if time.monotonic() - start > within:
                    raise TimeoutError(f"JetStream {domain} not reachable from {url}") from None
                await asyncio.sleep(0.02)
    finally:
        await nc.close()


@contextlib.contextmanager
def federation(*names: str) -> Iterator[Federation]:
    """A hub and one leaf node per name (``node-<name>``); everything stops on exit."""
    root = Path(tempfile.mkdtemp(prefix="dc-fed-"))
    port, leaf_port = free_port(), free_port()
    hub_store = root / "hub"
    fed: Federation | None = None
    try:
        hub = _start(
            root,
            "hub",
            "hub",
            port,
            hub_config(port=port, leaf_port=leaf_port, store=hub_store),
            hub_store,
        )
        fed = Federation(root, hub, leaf_port)
        wait_port(leaf_port, hub.process)
        for name in names:
            fed.add_node(name)
        yield fed
    finally:
        if fed is not None:
            for node in fed.nodes.values():
                node.link.close()
                node.server.stop()
            fed.hub.stop()
        shutil.rmtree(root, ignore_errors=True)

"""Kazoo in read-only mode, as Kazoo's own read-only test drives it: a
client built with read_only=True against a server cut off from its quorum.
It prints one line per step; after "waiting for quorum" it reads a line on
stdin, sent once the quorum is back.

usage: kazoo_readonly.py HOST:PORT
"""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
from kazoo.protocol.states import KeeperState


def main():
    zk = KazooClient(hosts=sys.argv[1], read_only=True, timeout=10)
    rw = threading.Event()

    def listen(state):
        if zk.client_state == KeeperState.CONNECTED:
            rw.set()

    zk.add_listener(listen)
    zk.start(timeout=30)
    try:
        print("state", zk.client_state, flush=True)
        data, _ = zk.get("/ro")
        print("get /ro", data.decode(), flush=True)
        try:
            zk.create("/kazoo", b"x")
            print("create in read-only mode succeeded", flush=True)
        except NotReadOnlyCallError:
            print("create refused: NotReadOnlyCallError", flush=True)
        print("waiting for quorum", flush=True)
        sys.stdin.readline()
        if not rw.wait(60):
            print("never connected read-write; state", zk.client_state, flush=True)
            return
        print("state", zk.client_state, flush=True)
        print("created", zk.create("/kazoo", b"x"), flush=True)
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()

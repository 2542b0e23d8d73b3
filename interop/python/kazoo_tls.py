"""Kazoo over TLS: the steps the interop suite runs against zkserver and
Apache ZooKeeper alike, printing what a Kazoo user would see, one line each.

usage: kazoo_tls.py HOST:PORT CA_PEM CERT_PEM KEY_PEM CLIENT_DN ROOT
"""
import sys

from kazoo.client import KazooClient
from kazoo.security import make_acl


def main():
    hosts, ca, cert, key, dn, root = sys.argv[1:7]
    zk = KazooClient(hosts=hosts, use_ssl=True, ca=ca, certfile=cert,
                     keyfile=key, verify_certs=True, timeout=10)
    zk.start(timeout=15)
    try:
        zk.create(root, b"tls")
        data, stat = zk.get(root)
        print("get", root, data.decode(), "version", stat.version)
        zk.set(root, b"over tls")
        data, stat = zk.get(root)
        print("set", root, data.decode(), "version", stat.version)
        # A node only the holder of this client certificate may touch.
        secret = root + "/x509"
        zk.create(secret, b"mine", acl=[make_acl("x509", dn, all=True)])
        acls, _ = zk.get_acls(secret)
        for acl in acls:
            print("acl", acl.id.scheme, acl.id.id, acl.perms)
        data, _ = zk.get(secret)
        print("get", secret, data.decode())
        print("children", root, sorted(zk.get_children(root)))
        zk.delete(root, recursive=True)
        print("exists after delete", zk.exists(root) is not None)
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()

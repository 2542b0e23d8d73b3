"""Kazoo's own reconfig tests (kazoo/tests/test_client.py, TestReconfig),
as steps against a running ensemble with reconfigEnabled=true and the super
digest super:test. One line per step, what a Kazoo user would see.

usage: kazoo_reconfig.py HOSTS OBSERVER_SPEC
"""
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import BadArgumentsError, BadVersionError, NoAuthError


def name(e):
    return type(e).__name__


def main():
    hosts, joining = sys.argv[1:3]
    plain = KazooClient(hosts=hosts, timeout=10)
    plain.start(timeout=30)
    su = KazooClient(hosts=hosts, timeout=10, auth_data=[("digest", "super:test")])
    su.start(timeout=30)
    try:
        try:
            plain.reconfig(joining="server.999=0.0.0.0:1234:2345:observer;3456", leaving=None, new_members=None)
            print("no super: accepted")
        except NoAuthError as e:
            print("no super:", name(e))

        data, _ = su.reconfig(joining=joining, leaving=None, new_members=None)
        print("added observer:", joining.encode("utf8") in data)
        data, _ = su.reconfig(joining=None, leaving="100", new_members=None)
        print("removed observer:", joining.encode("utf8") not in data)
        print("last line:", data.decode().split("\n")[-1].split("=")[0])

        curver = int(data.decode().split("\n")[-1].split("=")[1], base=16)
        try:
            su.reconfig(joining=joining, leaving=None, new_members=None, from_config=curver + 1)
            print("future version: accepted")
        except BadVersionError as e:
            print("future version:", name(e))

        try:
            su.reconfig(joining="some thing", leaving=None, new_members=None)
            print("bad input: accepted")
        except BadArgumentsError as e:
            print("bad input:", name(e))
    finally:
        for c in (plain, su):
            c.stop()
            c.close()


if __name__ == "__main__":
    main()

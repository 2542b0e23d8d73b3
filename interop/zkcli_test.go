package interop

import "testing"

// TestZkCli drives Debian's Java zkCli.sh and checks what it prints.
func TestZkCli(t *testing.T) {
	Require(t, ZkCli)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			c := StartConsole(t, ZkCliPath(), "-server", addr)
			c.Expect(`state:SyncConnected type:None path:null`)

			c.Run("create /zc hello", `^Created /zc$`)
			c.Run("create -e /zc/eph e", `^Created /zc/eph$`)
			c.Run("create -s /zc/seq- s", `^Created /zc/seq-0000000001$`)
			c.Run("create /zc hello", `^Node already exists: /zc$`)
			c.Run("ls -R /zc", `^/zc$`, `^/zc/eph$`, `^/zc/seq-0000000001$`)
			c.Run("get -s /zc", `^hello$`, `^cversion = 2$`, `^dataVersion = 0$`,
				`^ephemeralOwner = 0x0$`, `^dataLength = 5$`, `^numChildren = 2$`)
			c.Run("set /zc world")
			c.Run("get /zc", `^world$`)
			c.Run("set -v 0 /zc stale", `^version No is not valid : /zc$`)
			c.Run("stat /zc", `^dataVersion = 1$`, `^numChildren = 2$`)
			c.Run("stat /zc/eph", `^ephemeralOwner = 0x0*[1-9a-f][0-9a-f]*$`)
			c.Run("getAcl /zc", `^'world,'anyone$`, `^: cdrwa$`)
			c.Run("addauth digest alice:secret")
			c.Run("setAcl /zc auth:alice:secret:cdrwa")
			c.Run("getAcl /zc", `^'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=$`, `^: cdrwa$`)
			c.Run("addWatch -m PERSISTENT /zc")
			c.Run("set /zc again", `type:NodeDataChanged path:/zc$`)
			c.Run("delete /zc/eph", `type:NodeChildrenChanged path:/zc$`)
			c.Run("delete /zc", `^Node not empty: /zc$`)
			c.Run("deleteall /zc", `type:NodeDeleted path:/zc$`)
			c.Run("stat /zc", `^Node does not exist: /zc$`)
			c.Run("ls /", `^\[zookeeper\]$`)
			c.Run("quit")
		})
	}
}

package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
)

// javaDate formats epoch milliseconds as java.util.Date.toString does, in
// the local zone.
func javaDate(ms int64) string {
	return time.UnixMilli(ms).In(time.Local).Format("Mon Jan 02 15:04:05 MST 2006")
}

// javaHex is Long.toHexString: two's complement for negative values.
func javaHex(v int64) string { return fmt.Sprintf("0x%x", uint64(v)) }

// printStat prints a Stat in the layout of zkCli.sh's StatPrinter.
func printStat(w io.Writer, s proto.Stat) {
	fmt.Fprintf(w, "cZxid = %s\n", javaHex(s.Czxid))
	fmt.Fprintf(w, "ctime = %s\n", javaDate(s.Ctime))
	fmt.Fprintf(w, "mZxid = %s\n", javaHex(s.Mzxid))
	fmt.Fprintf(w, "mtime = %s\n", javaDate(s.Mtime))
	fmt.Fprintf(w, "pZxid = %s\n", javaHex(s.Pzxid))
	fmt.Fprintf(w, "cversion = %d\n", s.Cversion)
	fmt.Fprintf(w, "dataVersion = %d\n", s.Version)
	fmt.Fprintf(w, "aclVersion = %d\n", s.Aversion)
	fmt.Fprintf(w, "ephemeralOwner = %s\n", javaHex(s.EphemeralOwner))
	fmt.Fprintf(w, "dataLength = %d\n", s.DataLength)
	fmt.Fprintf(w, "numChildren = %d\n", s.NumChildren)
}

// permString lists perms in zkCli.sh's order, cdrwa.
func permString(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit int32
		c   byte
	}{{proto.PermCreate, 'c'}, {proto.PermDelete, 'd'}, {proto.PermRead, 'r'}, {proto.PermWrite, 'w'}, {proto.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.c)
		}
	}
	return b.String()
}

// juteString quotes a string as jute's toString does for a record field.
var juteString = strings.NewReplacer("\x00", "%00", "\n", "%0A", "\r", "%0D", ",", "%2C", "}", "%7D", "%", "%25")

// printACL prints one ACL entry as getAcl does: the Id record's toString
// (which ends in a newline) and then the permissions.
func printACL(w io.Writer, a proto.ACL) {
	fmt.Fprintf(w, "'%s,'%s\n: %s\n", juteString.Replace(a.ID.Scheme), juteString.Replace(a.ID.ID), permString(a.Perms))
}

// parseACL reads "scheme:id:perm,..." as zkCli.sh's AclParser does,
// complaining on errOut about entries it skips or letters it does not
// know.
func parseACL(s string, errOut io.Writer) []proto.ACL {
	acl := []proto.ACL{}
	for _, a := range strings.Split(s, ",") {
		first, last := strings.IndexByte(a, ':'), strings.LastIndexByte(a, ':')
		if first < 0 || first == last {
			fmt.Fprintf(errOut, "%s does not have the form scheme:id:perm\n", a)
			continue
		}
		var perms int32
		for _, c := range a[last+1:] {
			switch c {
			case 'r':
				perms |= proto.PermRead
			case 'w':
				perms |= proto.PermWrite
			case 'c':
				perms |= proto.PermCreate
			case 'd':
				perms |= proto.PermDelete
			case 'a':
				perms |= proto.PermAdmin
			default:
				fmt.Fprintf(errOut, "Unknown perm type: %c\n", c)
			}
		}
		acl = append(acl, proto.ACL{Perms: perms, ID: proto.ID{Scheme: a[:first], ID: a[first+1 : last]}})
	}
	return acl
}

// hexDump lays data out as Netty's ByteBufUtil.prettyHexDump, which
// zkCli.sh's get -x uses.
func hexDump(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	const rule = "+--------+-------------------------------------------------+----------------+"
	var b strings.Builder
	b.WriteString("         +-------------------------------------------------+\n")
	b.WriteString("         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |\n")
	b.WriteString(rule)
	for off := 0; off < len(data); off += 16 {
		row := data[off:min(off+16, len(data))]
		fmt.Fprintf(&b, "\n|%08x|", off)
		for i := range 16 {
			if i < len(row) {
				b.WriteString(" " + hex.EncodeToString(row[i:i+1]))
			} else {
				b.WriteString("   ")
			}
		}
		b.WriteString(" |")
		for _, c := range row {
			if c <= 0x1f || c >= 0x7f {
				c = '.'
			}
			b.WriteByte(c)
		}
		b.WriteString(strings.Repeat(" ", 16-len(row)) + "|")
	}
	b.WriteString("\n" + rule)
	return b.String()
}

// codeMessages are the texts Java's KeeperException gives each code.
var codeMessages = map[proto.Code]string{
	proto.OK: "ok", proto.ErrSystemError: "SystemError", proto.ErrRuntimeInconsistency: "RuntimeInconsistency",
	proto.ErrDataInconsistency: "DataInconsistency", proto.ErrConnectionLoss: "ConnectionLoss",
	proto.ErrMarshallingError: "MarshallingError", proto.ErrNewConfigNoQuorum: "NewConfigNoQuorum",
	proto.ErrReconfigInProgress: "ReconfigInProgress", proto.ErrUnimplemented: "Unimplemented",
	proto.ErrOperationTimeout: "OperationTimeout", proto.ErrBadArguments: "BadArguments",
	proto.ErrAPIError: "APIError", proto.ErrNoNode: "NoNode", proto.ErrNoAuth: "NoAuth",
	proto.ErrBadVersion: "BadVersion", proto.ErrNoChildrenForEph: "NoChildrenForEphemerals",
	proto.ErrNodeExists: "NodeExists", proto.ErrInvalidACL: "InvalidACL", proto.ErrAuthFailed: "AuthFailed",
	proto.ErrNotEmpty: "Directory not empty", proto.ErrSessionExpired: "Session expired",
	proto.ErrInvalidCallback: "Invalid callback", proto.ErrSessionMoved: "Session moved",
	proto.ErrNotReadOnly: "Not a read-only call", proto.ErrEphemeralOnLocal: "Ephemeral node on local session",
	proto.ErrNoWatcher: "No such watcher", proto.ErrReconfigDisabled: "Reconfig is disabled",
	proto.ErrSessionClosedSASL: "Session closed because client failed to authenticate",
	proto.ErrQuotaExceeded:     "Quota has exceeded", proto.ErrThrottled: "Op throttled due to high load",
	proto.ErrUnknownSession: "UnknownSession", proto.ErrRequestTimeout: "RequestTimeout",
}

// keeperMessage is KeeperException.getMessage.
func keeperMessage(code proto.Code, path string) string {
	msg, ok := codeMessages[code]
	if !ok {
		msg = fmt.Sprintf("Unknown error %d", int32(code))
	}
	if path == "" {
		return "KeeperErrorCode = " + msg
	}
	return "KeeperErrorCode = " + msg + " for " + path
}

// wrapperPrefixes are the sentences zkCli.sh (CliWrapperException) puts
// before the path for the common codes of a failed request.
var wrapperPrefixes = map[proto.Code]string{
	proto.ErrNoNode:           "Node does not exist: ",
	proto.ErrNoChildrenForEph: "Ephemerals cannot have children: ",
	proto.ErrNodeExists:       "Node already exists: ",
	proto.ErrNotEmpty:         "Node not empty: ",
	proto.ErrNotReadOnly:      "Not a read-only call: ",
	proto.ErrInvalidACL:       "Acl is not valid : ",
	proto.ErrNoAuth:           "Insufficient permission : ",
	proto.ErrBadArguments:     "Arguments are not valid : ",
	proto.ErrBadVersion:       "version No is not valid : ",
	proto.ErrQuotaExceeded:    "Quota has exceeded : ",
}

// wrapperMessage is the message zkCli.sh prints for a failed request.
func wrapperMessage(code proto.Code, path string) string {
	if prefix, ok := wrapperPrefixes[code]; ok {
		return prefix + path
	}
	switch code {
	case proto.ErrReconfigInProgress:
		return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
	case proto.ErrNewConfigNoQuorum:
		return "No quorum of new config is connected and up-to-date with the leader of last commmitted config - try invoking reconfiguration after new servers are connected and synced"
	}
	return keeperMessage(code, path)
}

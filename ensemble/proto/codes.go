package proto

import (
	"errors"
	"fmt"
)

// Op is a request type (ZooDefs.OpCode).
type Op int32

const (
	OpNotification         Op = 0
	OpCreate               Op = 1
	OpDelete               Op = 2
	OpExists               Op = 3
	OpGetData              Op = 4
	OpSetData              Op = 5
	OpGetACL               Op = 6
	OpSetACL               Op = 7
	OpGetChildren          Op = 8
	OpSync                 Op = 9
	OpPing                 Op = 11
	OpGetChildren2         Op = 12
	OpCheck                Op = 13
	OpMulti                Op = 14
	OpCreate2              Op = 15
	OpReconfig             Op = 16
	OpCheckWatches         Op = 17
	OpRemoveWatches        Op = 18
	OpCreateContainer      Op = 19
	OpDeleteContainer      Op = 20
	OpCreateTTL            Op = 21
	OpMultiRead            Op = 22
	OpAuth                 Op = 100
	OpSetWatches           Op = 101
	OpSASL                 Op = 102
	OpGetEphemerals        Op = 103
	OpGetAllChildrenNumber Op = 104
	OpSetWatches2          Op = 105
	OpAddWatch             Op = 106
	OpWhoAmI               Op = 107
	OpCreateSession        Op = -10
	OpCloseSession         Op = -11
	OpError                Op = -1
)

var opNames = map[Op]string{
	OpNotification: "notification", OpCreate: "create", OpDelete: "delete",
	OpExists: "exists", OpGetData: "getData", OpSetData: "setData",
	OpGetACL: "getACL", OpSetACL: "setACL", OpGetChildren: "getChildren",
	OpSync: "sync", OpPing: "ping", OpGetChildren2: "getChildren2",
	OpCheck: "check", OpMulti: "multi", OpCreate2: "create2",
	OpReconfig: "reconfig", OpCheckWatches: "checkWatches",
	OpRemoveWatches: "removeWatches", OpCreateContainer: "createContainer",
	OpDeleteContainer: "deleteContainer", OpCreateTTL: "createTTL",
	OpMultiRead: "multiRead", OpAuth: "auth", OpSetWatches: "setWatches",
	OpSASL: "sasl", OpGetEphemerals: "getEphemerals",
	OpGetAllChildrenNumber: "getAllChildrenNumber", OpSetWatches2: "setWatches2",
	OpAddWatch: "addWatch", OpWhoAmI: "whoAmI", OpCreateSession: "createSession",
	OpCloseSession: "closeSession", OpError: "error",
}

// String is the name ZooKeeper's logs and the cons 4lw use.
func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", int32(o))
}

// Special xids.
const (
	XidNotification int32 = -1
	XidPing         int32 = -2
	XidAuth         int32 = -4
	XidSetWatches   int32 = -8
)

// Code is a ZooKeeper error code (KeeperException.Code). A non-zero Code is
// an error, so server code returns it directly and callers match it with
// errors.Is.
type Code int32

const (
	OK                      Code = 0
	ErrSystemError          Code = -1
	ErrRuntimeInconsistency Code = -2
	ErrDataInconsistency    Code = -3
	ErrConnectionLoss       Code = -4
	ErrMarshallingError     Code = -5
	ErrUnimplemented        Code = -6
	ErrOperationTimeout     Code = -7
	ErrBadArguments         Code = -8
	ErrUnknownSession       Code = -12
	ErrNewConfigNoQuorum    Code = -13
	ErrReconfigInProgress   Code = -14
	ErrAPIError             Code = -100
	ErrNoNode               Code = -101
	ErrNoAuth               Code = -102
	ErrBadVersion           Code = -103
	ErrNoChildrenForEph     Code = -108
	ErrNodeExists           Code = -110
	ErrNotEmpty             Code = -111
	ErrSessionExpired       Code = -112
	ErrInvalidCallback      Code = -113
	ErrInvalidACL           Code = -114
	ErrAuthFailed           Code = -115
	ErrSessionMoved         Code = -118
	ErrNotReadOnly          Code = -119
	ErrEphemeralOnLocal     Code = -120
	ErrNoWatcher            Code = -121
	ErrRequestTimeout       Code = -122
	ErrReconfigDisabled     Code = -123
	ErrSessionClosedSASL    Code = -124
	ErrQuotaExceeded        Code = -125
	ErrThrottled            Code = -127
)

var codeNames = map[Code]string{
	OK: "OK", ErrSystemError: "SYSTEMERROR", ErrRuntimeInconsistency: "RUNTIMEINCONSISTENCY",
	ErrDataInconsistency: "DATAINCONSISTENCY", ErrConnectionLoss: "CONNECTIONLOSS",
	ErrMarshallingError: "MARSHALLINGERROR", ErrUnimplemented: "UNIMPLEMENTED",
	ErrOperationTimeout: "OPERATIONTIMEOUT", ErrBadArguments: "BADARGUMENTS",
	ErrUnknownSession: "UNKNOWNSESSION", ErrNewConfigNoQuorum: "NEWCONFIGNOQUORUM",
	ErrReconfigInProgress: "RECONFIGINPROGRESS", ErrAPIError: "APIERROR",
	ErrNoNode: "NONODE", ErrNoAuth: "NOAUTH", ErrBadVersion: "BADVERSION",
	ErrNoChildrenForEph: "NOCHILDRENFOREPHEMERALS", ErrNodeExists: "NODEEXISTS",
	ErrNotEmpty: "NOTEMPTY", ErrSessionExpired: "SESSIONEXPIRED",
	ErrInvalidCallback: "INVALIDCALLBACK", ErrInvalidACL: "INVALIDACL",
	ErrAuthFailed: "AUTHFAILED", ErrSessionMoved: "SESSIONMOVED",
	ErrNotReadOnly: "NOTREADONLY", ErrEphemeralOnLocal: "EPHEMERALONLOCALSESSION",
	ErrNoWatcher: "NOWATCHER", ErrRequestTimeout: "REQUESTTIMEOUT",
	ErrReconfigDisabled: "RECONFIGDISABLED", ErrSessionClosedSASL: "SESSIONCLOSEDREQUIRESASLAUTH",
	ErrQuotaExceeded: "QUOTAEXCEEDED", ErrThrottled: "THROTTLEDOP",
}

func (c Code) Error() string {
	if n, ok := codeNames[c]; ok {
		return "zk: " + n
	}
	return fmt.Sprintf("zk: error code %d", int32(c))
}

// CodeOf maps an error to the code sent on the wire: nil is OK, a Code (or
// an error wrapping one) is itself, anything else is a system error.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var c Code
	if errors.As(err, &c) {
		return c
	}
	return ErrSystemError
}

// Permission bits of an ACL.
const (
	PermRead   int32 = 1
	PermWrite  int32 = 2
	PermCreate int32 = 4
	PermDelete int32 = 8
	PermAdmin  int32 = 16
	PermAll    int32 = 31
)

// Create flags (CreateMode).
const (
	FlagPersistent          int32 = 0
	FlagEphemeral           int32 = 1
	FlagSequential          int32 = 2
	FlagEphemeralSequential int32 = 3
	FlagContainer           int32 = 4
	FlagPersistentTTL       int32 = 5
	FlagPersistentSeqTTL    int32 = 6
)

// Watch event types.
const (
	EventNone                int32 = -1
	EventNodeCreated         int32 = 1
	EventNodeDeleted         int32 = 2
	EventNodeDataChanged     int32 = 3
	EventNodeChildrenChanged int32 = 4
	StateSyncConnected       int32 = 3
)

// Watcher types of checkWatches/removeWatches and addWatch modes.
const (
	WatcherChildren            int32 = 1
	WatcherData                int32 = 2
	WatcherAny                 int32 = 3
	WatcherPersistent          int32 = 4
	WatcherPersistentRecursive int32 = 5

	AddWatchPersistent          int32 = 0
	AddWatchPersistentRecursive int32 = 1
)

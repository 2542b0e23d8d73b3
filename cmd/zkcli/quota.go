package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/zkwire"
)

// Where ZooKeeper keeps quotas: for a path P, the limits in
// /zookeeper/quota/P/zookeeper_limits and the server's count of what is
// used in /zookeeper/quota/P/zookeeper_stats.
const (
	quotaRoot  = "/zookeeper/quota"
	limitsNode = "zookeeper_limits"
	statsNode  = "zookeeper_stats"
)

// The quota fields, in the text format of ZooKeeper's StatsTrack.
const (
	quotaCount     = "count"
	quotaBytes     = "bytes"
	quotaCountHard = "countHardLimit"
	quotaBytesHard = "byteHardLimit"
)

// quotaOptions maps the quota commands' options to the fields they set.
var quotaOptions = map[string]string{"n": quotaCount, "b": quotaBytes, "N": quotaCountHard, "B": quotaBytesHard}

// statsTrack is a quota limits or stats record: named values, -1 for unset.
type statsTrack map[string]int64

var quotaPairSep = regexp.MustCompile(`[,;]+`)

// parseStatsTrack reads "count=1,bytes=2" and the newer form with hard
// limits appended ("count=1,bytes=2=;byteHardLimit=-1;countHardLimit=3").
func parseStatsTrack(data []byte) (statsTrack, error) {
	st := statsTrack{}
	if len(data) == 0 {
		return st, nil
	}
	for _, pair := range quotaPairSep.Split(string(data), -1) {
		if pair == "" {
			continue
		}
		parts := strings.Split(pair, "=")
		v := int64(-1)
		if len(parts) > 1 && parts[1] != "" {
			n, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad quota record %q: %w", data, err)
			}
			v = n
		}
		st[parts[0]] = v
	}
	return st, nil
}

func (st statsTrack) get(k string) int64 {
	if v, ok := st[k]; ok {
		return v
	}
	return -1
}

// String is StatsTrack's text: count and bytes first, for old readers, and
// any other field after an extra "=" that old parsers ignore.
func (st statsTrack) String() string {
	s := fmt.Sprintf("count=%d,bytes=%d", st.get(quotaCount), st.get(quotaBytes))
	var rest []string
	for k := range st {
		if k != quotaCount && k != quotaBytes {
			rest = append(rest, k)
		}
	}
	if len(rest) == 0 {
		return s
	}
	slices.Sort(rest)
	s += "="
	for _, k := range rest {
		s += fmt.Sprintf(";%s=%d", k, st[k])
	}
	return s
}

var quotaSpecsWithArgs = []optionSpec{{"n", true, "num soft quota"}, {"b", true, "bytes soft quota"},
	{"N", true, "num hard quota"}, {"B", true, "bytes hard quota"}}

var quotaSpecsFlags = []optionSpec{{"n", false, "num soft quota"}, {"b", false, "bytes soft quota"},
	{"N", false, "num hard quota"}, {"B", false, "bytes hard quota"}}

// quotaGroup enforces the quota options' group: at most one of them, and
// (for setquota) at least one, with Commons CLI's messages.
func quotaGroup(cl *cmdLine, specs []optionSpec, required bool) error {
	var chosen string
	for _, name := range cl.order {
		if chosen != "" && name != chosen {
			return failf("org.apache.commons.cli.AlreadySelectedException: The option '%s' was specified but an option from this group has already been selected: '%s'", name, chosen)
		}
		chosen = name
	}
	if required && chosen == "" {
		var names []string
		for _, o := range specs {
			names = append(names, "-"+o.name+" "+o.desc)
		}
		return failf("org.apache.commons.cli.MissingOptionException: Missing required option: [%s]", strings.Join(names, ", "))
	}
	return nil
}

func runSetQuota(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parse(raw)
	if err != nil {
		return err
	}
	if err := quotaGroup(cl, c.specs, true); err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return c.usageErr("setquota")
	}
	path := cl.args[1]
	if strings.HasPrefix(path, quotaRoot) {
		fmt.Fprintf(s.errOut, "cannot set a quota under the path: %s\n", quotaRoot)
		return nil
	}
	quota := statsTrack{quotaCount: -1, quotaBytes: -1, quotaCountHard: -1, quotaBytesHard: -1}
	for opt, field := range quotaOptions {
		if !cl.has(opt) {
			continue
		}
		v, err := strconv.ParseInt(cl.opts[opt], 10, 64)
		if err != nil || (field == quotaCount || field == quotaCountHard) && v != int64(int32(v)) {
			fmt.Fprintln(s.errOut, "NumberFormatException happens when parsing the option value")
			return nil
		}
		switch {
		case (field == quotaCount || field == quotaCountHard) && v <= 0:
			fmt.Fprintln(s.errOut, "the num quota must be greater than zero")
			return nil
		case (field == quotaBytes || field == quotaBytesHard) && v < 0:
			fmt.Fprintln(s.errOut, "the bytes quota must be greater than or equal to zero")
			return nil
		}
		quota[field] = v
	}
	return createQuota(ctx, s, path, quota)
}

// createQuota writes path's limits, making the quota nodes as needed, after
// checking that no ancestor or descendant of path has a quota already.
func createQuota(ctx context.Context, s *Shell, path string, quota statsTrack) error {
	zk := s.client
	if _, err := zk.Exists(ctx, path, false); err != nil {
		if errors.Is(err, proto.ErrNoNode) {
			return failf("%s does not exist.", path)
		}
		return zkErr(err, path)
	}
	if err := checkChildQuota(ctx, zk, path); err != nil {
		return err
	}
	if err := checkParentQuota(ctx, zk, path); err != nil {
		return err
	}
	node := quotaRoot
	for _, part := range strings.Split(path, "/")[1:] {
		node += "/" + part
		if _, _, err := zk.Create(ctx, node, nil, zkwire.OpenACL, zkwire.Persistent, 0); err != nil && !errors.Is(err, proto.ErrNodeExists) {
			return zkErr(err, node)
		}
	}
	limits, stats := node+"/"+limitsNode, node+"/"+statsNode
	data, _, err := zk.Get(ctx, limits, false)
	switch {
	case errors.Is(err, proto.ErrNoNode):
		if _, _, err := zk.Create(ctx, limits, []byte(quota.String()), zkwire.OpenACL, zkwire.Persistent, 0); err != nil {
			return zkErr(err, limits)
		}
		zero := statsTrack{quotaCount: 0, quotaBytes: 0}
		if _, _, err := zk.Create(ctx, stats, []byte(zero.String()), zkwire.OpenACL, zkwire.Persistent, 0); err != nil {
			return zkErr(err, stats)
		}
		return warnQuota(ctx, s, quota, stats)
	case err != nil:
		return zkErr(err, limits)
	}
	current, err := parseStatsTrack(data)
	if err != nil {
		return failf("%v", err)
	}
	for k, v := range quota {
		if v > -1 {
			current[k] = v
		}
	}
	if err := warnQuota(ctx, s, current, stats); err != nil {
		return err
	}
	if _, err := zk.Set(ctx, limits, []byte(current.String()), -1); err != nil {
		return zkErr(err, limits)
	}
	return nil
}

// warnQuota says when a quota is already exceeded by what the server has
// counted.
func warnQuota(ctx context.Context, s *Shell, quota statsTrack, statsPath string) error {
	data, _, err := s.client.Get(ctx, statsPath, false)
	if err != nil {
		return zkErr(err, statsPath)
	}
	used, err := parseStatsTrack(data)
	if err != nil {
		return failf("%v", err)
	}
	below := func(limit, n int64) bool { return limit > -1 && limit < n }
	if n := used.get(quotaCount); below(quota.get(quotaCount), n) || below(quota.get(quotaCountHard), n) {
		fmt.Fprintf(s.out, "[Warning]: the count quota you create is less than the existing count:%d\n", n)
	}
	if n := used.get(quotaBytes); below(quota.get(quotaBytes), n) || below(quota.get(quotaBytesHard), n) {
		fmt.Fprintf(s.out, "[Warning]: the bytes quota you create is less than the existing bytes:%d\n", n)
	}
	return nil
}

// checkChildQuota refuses a quota on path when a node below it has one.
func checkChildQuota(ctx context.Context, zk *zkwire.Client, path string) error {
	root := quotaRoot + path
	if _, err := zk.Exists(ctx, root, false); errors.Is(err, proto.ErrNoNode) {
		return nil
	}
	return visitTree(ctx, zk, root, false, func(node string) error {
		kids, _, err := zk.Children(ctx, node, false)
		if err != nil {
			return nil
		}
		if node != root && slices.Contains(kids, limitsNode) {
			return failf("%s has a child %s which has a quota", path, strings.TrimPrefix(node, quotaRoot))
		}
		return nil
	})
}

// checkParentQuota refuses a quota on path when an ancestor has one.
func checkParentQuota(ctx context.Context, zk *zkwire.Client, path string) error {
	parts := strings.Split(path, "/")
	node := quotaRoot
	for _, part := range parts[1 : len(parts)-1] {
		node += "/" + part
		kids, _, err := zk.Children(ctx, node, false)
		if errors.Is(err, proto.ErrNoNode) || err == nil && len(kids) == 0 {
			return nil
		}
		if err != nil {
			return zkErr(err, node)
		}
		if slices.Contains(kids, limitsNode) {
			return failf("%s has a parent %s which has a quota", path, strings.TrimPrefix(node, quotaRoot))
		}
	}
	return nil
}

func runListQuota(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	path := cl.args[1]
	base := quotaRoot + path
	fmt.Fprintf(s.errOut, "absolute path is %s/%s\n", base, limitsNode)
	for i, node := range []string{limitsNode, statsNode} {
		data, _, err := s.client.Get(ctx, base+"/"+node, false)
		if errors.Is(err, proto.ErrNoNode) {
			fmt.Fprintf(s.errOut, "quota for %s does not exist.\n", path)
			return nil
		}
		if err != nil {
			return zkErr(err, base+"/"+node)
		}
		st, err := parseStatsTrack(data)
		if err != nil {
			return failf("%v", err)
		}
		what := "quota"
		if i == 1 {
			what = "stat"
		}
		fmt.Fprintf(s.out, "Output %s for %s %s\n", what, path, st)
	}
	return nil
}

func runDelQuota(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	if err := quotaGroup(cl, c.specs, false); err != nil {
		return err
	}
	path := cl.args[1]
	base := quotaRoot + path
	limits := base + "/" + limitsNode
	zk := s.client
	if _, err := zk.Exists(ctx, limits, false); errors.Is(err, proto.ErrNoNode) {
		fmt.Fprintf(s.out, "Quota does not exist for %s\n", path)
		return nil
	} else if err != nil {
		return zkErr(err, limits)
	}
	data, _, err := zk.Get(ctx, limits, false)
	if errors.Is(err, proto.ErrNoNode) {
		fmt.Fprintf(s.errOut, "quota for %s does not exist.\n", path)
		return nil
	}
	if err != nil {
		return zkErr(err, limits)
	}
	if len(cl.order) > 0 {
		st, err := parseStatsTrack(data)
		if err != nil {
			return failf("%v", err)
		}
		st[quotaOptions[cl.order[0]]] = -1
		if _, err := zk.Set(ctx, limits, []byte(st.String()), -1); err != nil {
			return zkErr(err, limits)
		}
		return nil
	}
	kids, _, err := zk.Children(ctx, base, false)
	if err != nil {
		return zkErr(err, base)
	}
	for _, k := range kids {
		if err := zk.Delete(ctx, base+"/"+k, -1); err != nil {
			return zkErr(err, base+"/"+k)
		}
	}
	// Remove the quota path's nodes up to the first that still has
	// children.
	for node := base; node != quotaRoot; node = node[:strings.LastIndexByte(node, '/')] {
		kids, _, err := zk.Children(ctx, node, false)
		if err != nil {
			return zkErr(err, node)
		}
		if len(kids) > 0 {
			break
		}
		if err := zk.Delete(ctx, node, -1); err != nil {
			return zkErr(err, node)
		}
	}
	return nil
}

package server_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

// dashboardPath is the Grafana dashboard README.md tells users to import.
const dashboardPath = "../../dashboards/zookit.json"

// grafanaDashboard is the part of Grafana's dashboard model the test
// relies on.
type grafanaDashboard struct {
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
}

type grafanaPanel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *grafanaDatasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		Datasource *grafanaDatasource `json:"datasource"`
		Expr       string             `json:"expr"`
		RefID      string             `json:"refId"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a collapsed row's
}

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaVariable struct {
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Datasource *grafanaDatasource `json:"datasource"`
	Query      json.RawMessage    `json:"query"` // a string, or {"query": ...} since Grafana 10
}

// dsVar is the datasource variable every query goes through, so that the
// file names no Grafana instance's datasource uid.
const dsVar = "${DS_PROMETHEUS}"

// TestDashboard checks dashboards/zookit.json against what a 3-server
// ensemble serves: every metric a panel or variable queries must be served
// by some member (leader-only gauges by the leader alone).
func TestDashboard(t *testing.T) {
	d, exprs := loadDashboard(t)

	// SnapCount 5 makes the writes below take snapshots, so snapshottime has
	// observations as every other summary the dashboard reads.
	cl := ensembletest.StartCluster(t, 3, 0, ensembletest.WithConfig(func(c *config.Config) { c.SnapCount = 5 }))
	leader := cl.WaitLeader()
	exerciseEnsemble(t, cl.Addrs(), leader.Addr())

	var urls []string
	for _, m := range cl.Members() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go m.Server().ServeMetrics(ln)
		urls = append(urls, "http://"+ln.Addr().String()+"/metrics")
	}

	used := map[string][]string{} // metric name to the panels that use it
	for where, expr := range exprs {
		sels, err := promSelectors(expr)
		if err != nil {
			t.Errorf("%s: %v in %q", where, err, expr)
		}
		for _, sel := range sels {
			used[sel.name] = append(used[sel.name], where)
			// A selector without the variables shows every server whatever
			// the user picked.
			if !strings.Contains(sel.matchers, `instance=~"$instance"`) {
				t.Errorf("%s: %s is not filtered by $instance", where, sel.name)
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := variableQuery(t, v)
		m := regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`).FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric..., label)", v.Name, q)
			continue
		}
		used[m[1]] = append(used[m[1]], "variable "+v.Name)
	}

	// The snapshot is written in the background and summaries may lag the
	// replies, so scrape until every used summary has an observation.
	deadline := time.Now().Add(30 * time.Second)
	var missing, unobserved []string
	for {
		missing, unobserved = checkServed(used, scrapeAll(t, urls))
		if len(missing)+len(unobserved) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range missing {
		t.Errorf("no member serves %s (used by %s)", name, strings.Join(used[name], "; "))
	}
	for _, name := range unobserved {
		t.Errorf("summary of %s has no observations on any member (used by %s)", name, strings.Join(used[name], "; "))
	}
	t.Logf("%d metrics in %d queries", len(used), len(exprs))
}

// loadDashboard parses the dashboard, checks the Grafana fields the
// dashboard and the test rely on, and returns its query expressions keyed
// by where they are.
func loadDashboard(t *testing.T) (grafanaDashboard, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	// Grafana 10.0 writes schema version 38.
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 38 {
		t.Errorf("uid %q, title %q, schemaVersion %d: want a uid, a title and Grafana 10's schema", d.UID, d.Title, d.SchemaVersion)
	}
	// Any datasource uid other than the variable is some Grafana's own.
	for _, uid := range regexp.MustCompile(`"uid":\s*"([^"]*)"`).FindAllStringSubmatch(string(raw), -1) {
		if uid[1] != dsVar && uid[1] != d.UID && uid[1] != "-- Grafana --" {
			t.Errorf("hard-coded uid %q", uid[1])
		}
	}
	vars := map[string]grafanaVariable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v := vars["DS_PROMETHEUS"]; v.Type != "datasource" || string(v.Query) != `"prometheus"` {
		t.Errorf("DS_PROMETHEUS variable: %+v, want a prometheus datasource variable", v)
	}
	for _, name := range []string{"job", "instance"} {
		if v, ok := vars[name]; !ok || v.Type != "query" || v.Datasource == nil || v.Datasource.UID != dsVar {
			t.Errorf("variable %s: %+v, want a query on %s", name, v, dsVar)
		}
	}
	if q := variableQuery(t, vars["instance"]); !strings.HasPrefix(q, "label_values(znode_count") || !strings.HasSuffix(q, ", instance)") {
		t.Errorf("instance variable query %q, want label_values(znode_count..., instance)", q)
	}

	exprs := map[string]string{}
	ids := map[int]string{}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if p.ID <= 0 || ids[p.ID] != "" {
				t.Errorf("%s: id missing or also %s", where, ids[p.ID])
			}
			ids[p.ID] = where
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: gridPos %+v", where, p.GridPos)
			}
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != dsVar || len(p.Targets) == 0 {
				t.Errorf("%s: datasource %+v, %d targets: want %s and a query", where, p.Datasource, len(p.Targets), dsVar)
			}
			for _, tg := range p.Targets {
				if tg.RefID == "" || strings.TrimSpace(tg.Expr) == "" || tg.Datasource == nil || tg.Datasource.UID != dsVar {
					t.Errorf("%s: target %+v", where, tg)
				}
				exprs[where+" "+tg.RefID] = tg.Expr
			}
		}
	}
	walk(d.Panels)
	checkLayout(t, d.Panels)
	return d, exprs
}

// checkLayout fails on panels that overlap, which Grafana would move on
// load, changing the layout the file describes.
func checkLayout(t *testing.T, ps []grafanaPanel) {
	t.Helper()
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			ag, bg := a.GridPos, b.GridPos
			if ag.X < bg.X+bg.W && bg.X < ag.X+ag.W && ag.Y < bg.Y+bg.H && bg.Y < ag.Y+ag.H {
				t.Errorf("panels %d and %d overlap", a.ID, b.ID)
			}
		}
	}
}

// variableQuery is a query variable's PromQL, written as a string or, as
// Grafana 10 saves it, as an object.
func variableQuery(t *testing.T, v grafanaVariable) string {
	t.Helper()
	var q string
	if json.Unmarshal(v.Query, &q) == nil {
		return q
	}
	var obj struct{ Query string }
	if err := json.Unmarshal(v.Query, &obj); err != nil {
		t.Errorf("variable %s: query %s: %v", v.Name, v.Query, err)
	}
	return obj.Query
}

// exerciseEnsemble makes every summary the dashboard reads observe
// something: writes and reads in a namespace (latencies, fsync, per
// namespace bytes), enough writes for a snapshot, and watches fired by
// each kind of change.
func exerciseEnsemble(t *testing.T, addrs []string, leader string) {
	t.Helper()
	acl := zk.WorldACL(zk.PermAll)
	// Reads through every member, so that each server's readlatency moves.
	for _, addr := range addrs {
		c := connectZK(t, addr)
		if _, err := c.Create("/dash-"+strings.ReplaceAll(addr, ":", "-"), []byte("x"), 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	c := connectZK(t, leader)
	if _, err := c.Create("/dash", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.ChildrenW("/dash"); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		p := fmt.Sprintf("/dash/n%d", i)
		if _, err := c.Create(p, []byte("data"), 0, acl); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := c.GetW(p); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Set(p, []byte("more data"), -1); err != nil {
			t.Fatal(err)
		}
	}
	// A watch fired by a create and one by a delete.
	if _, _, _, err := c.ExistsW("/dash/w"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/dash/w", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.ExistsW("/dash/w"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("/dash/w", -1); err != nil {
		t.Fatal(err)
	}
	for _, addr := range addrs {
		if _, _, err := connectZK(t, addr).Children("/dash"); err != nil {
			t.Fatal(err)
		}
	}
}

// family is what the members serve of one metric family.
type family struct {
	typ      string // COUNTER, GAUGE, SUMMARY, ...
	observed bool   // a summary with observations on some member
}

// scrapeAll reads every member's endpoint, merging the members' families.
func scrapeAll(t *testing.T, urls []string) map[string]family {
	t.Helper()
	all := map[string]family{}
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		for name, f := range fams {
			fam := all[name]
			fam.typ = f.GetType().String()
			for _, m := range f.GetMetric() {
				fam.observed = fam.observed || m.GetSummary().GetSampleCount() > 0
			}
			all[name] = fam
		}
	}
	return all
}

// checkServed returns the used names no member serves, and the used
// summaries no member has observed anything for. A name with a
// _count/_sum/_bucket suffix is served by its summary or histogram; it is
// looked up whole first, as bytes_received_count is a counter of its own.
func checkServed(used map[string][]string, fams map[string]family) (missing, unobserved []string) {
	for name := range used {
		f, ok := fams[name]
		if !ok {
			for _, suffix := range []string{"_count", "_sum", "_bucket"} {
				if base, cut := strings.CutSuffix(name, suffix); cut {
					if g, has := fams[base]; has && (g.typ == "SUMMARY" || g.typ == "HISTOGRAM") {
						f, ok = g, true
					}
				}
			}
		}
		switch {
		case !ok:
			missing = append(missing, name)
		case f.typ == "SUMMARY" && !f.observed:
			unobserved = append(unobserved, name)
		}
	}
	slices.Sort(missing)
	slices.Sort(unobserved)
	return missing, unobserved
}

// promSelector is a vector selector in a PromQL expression.
type promSelector struct {
	name     string
	matchers string // what is between the braces, "" without
}

// promKeywords are the identifiers of PromQL that are no metric when not
// followed by "(": operators, modifiers and literals.
var promKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true,
	"offset": true, "inf": true, "nan": true,
}

// promGrouping are the keywords followed by a parenthesised label list.
var promGrouping = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// promAggModifier are the grouping keywords an aggregation may be followed
// by.
var promAggModifier = map[string]bool{"by": true, "without": true}

// promSelectors returns the vector selectors of a PromQL expression: the
// identifiers that are not functions or aggregations (followed by "(",
// by or without), keywords, label
// lists (after by, on, ...), label matchers (in braces), strings, numbers
// or durations (in brackets). Enough for dashboard queries, without
// Prometheus's parser and its dependencies.
func promSelectors(expr string) ([]promSelector, error) {
	var sels []promSelector
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
	}
	skipSpace := func(i int) int {
		for i < len(expr) && strings.IndexByte(" \t\r\n", expr[i]) >= 0 {
			i++
		}
		return i
	}
	// closing returns the index just past the bracket that closes the one
	// at i, skipping strings.
	closing := func(i int) (int, error) {
		open, end := expr[i], map[byte]byte{'{': '}', '[': ']', '(': ')'}[expr[i]]
		depth := 0
		for ; i < len(expr); i++ {
			switch c := expr[i]; c {
			case '"', '\'', '`':
				j := strings.IndexByte(expr[i+1:], c)
				if j < 0 {
					return 0, fmt.Errorf("unterminated string")
				}
				i += j + 1
			case open:
				depth++
			case end:
				if depth--; depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unclosed %c", open)
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := strings.IndexByte(expr[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string")
			}
			i += j + 2
		case c == '[' || c == '{':
			// A range or subquery, or matchers with no metric name.
			j, err := closing(i)
			if err != nil {
				return nil, err
			}
			i = j
		case '0' <= c && c <= '9' || c == '.':
			// A number or duration: 0.5, 1e3, 5m.
			for i < len(expr) && (isIdent(expr[i], false) || expr[i] == '.') {
				i++
			}
		case isIdent(c, true):
			j := i
			for j < len(expr) && isIdent(expr[j], false) {
				j++
			}
			word := expr[i:j]
			k := skipSpace(j)
			next := byte(0)
			if k < len(expr) {
				next = expr[k]
			}
			// An aggregation's modifier may come before its argument:
			// "sum by (x) (...)".
			after := k
			for after < len(expr) && isIdent(expr[after], false) {
				after++
			}
			modified := promAggModifier[strings.ToLower(expr[k:after])]
			switch {
			case promGrouping[strings.ToLower(word)]:
				i = k
				if next == '(' {
					end, err := closing(k)
					if err != nil {
						return nil, err
					}
					i = end
				}
			case next == '(' || modified || promKeywords[strings.ToLower(word)]:
				i = j
			case next == '{':
				end, err := closing(k)
				if err != nil {
					return nil, err
				}
				sels = append(sels, promSelector{word, expr[k+1 : end-1]})
				i = end
			default:
				sels = append(sels, promSelector{name: word})
				i = j
			}
		default:
			i++
		}
	}
	return sels, nil
}

// TestDashboardPromSelectors checks the tokenizer TestDashboard relies on.
func TestDashboardPromSelectors(t *testing.T) {
	for expr, want := range map[string]string{
		`max by (instance) (learners{job=~"$job"}) * 0 + 2 or quorum_size`:                      "learners quorum_size",
		`rate(readlatency_sum{a="{b}"}[$__rate_interval]) / rate(readlatency_count{a="x"}[5m])`: "readlatency_sum readlatency_count",
		`scalar(max(x)) - y offset 5m > bool 1e3`:                                               "x y",
		`sum without (key) (a) + on (instance) group_left (job) b`:                              "a b",
		`histogram_quantile(0.99, sum by (le) (rate(h_bucket[1m])))`:                            "h_bucket",
	} {
		sels, err := promSelectors(expr)
		var got []string
		for _, s := range sels {
			got = append(got, s.name)
		}
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("promSelectors(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
}

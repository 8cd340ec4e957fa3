package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"go.yaml.in/yaml/v2"
)

var promqlParser = parser.NewParser(parser.Options{})

// The subset of promtool's rule unit-test file (`promtool test rules`) that Velora's tests use:
// input series in the promql test notation and the alerts expected firing at given times.
type ruleTestFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	Tests              []ruleTest     `yaml:"tests"`
}

type ruleTest struct {
	Name        string `yaml:"name"`
	Interval    model.Duration
	InputSeries []struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	} `yaml:"input_series"`
	AlertRuleTests []struct {
		EvalTime  model.Duration `yaml:"eval_time"`
		Alertname string         `yaml:"alertname"`
		ExpAlerts []struct {
			ExpLabels      map[string]string `yaml:"exp_labels"`
			ExpAnnotations map[string]string `yaml:"exp_annotations"`
		} `yaml:"exp_alerts"`
	} `yaml:"alert_rule_test"`
}

func checkRules(r *report, rulesPath, testsPath string) {
	groups, errs := rulefmt.ParseFile(rulesPath, false, model.UTF8Validation, promqlParser, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		r.fail("%v", err)
	}
	if len(errs) > 0 {
		return
	}
	alerts := map[string]bool{}
	for _, g := range groups.Groups {
		for _, rule := range g.Rules {
			if rule.Alert != "" {
				alerts[rule.Alert] = true
			}
		}
	}
	r.ok("%s: %d groups, %d alerts parse and validate (rulefmt, PromQL)", rulesPath, len(groups.Groups), len(alerts))

	data, err := os.ReadFile(testsPath)
	if err != nil {
		r.fail("%s: %v", testsPath, err)
		return
	}
	var tf ruleTestFile
	if err := yaml.UnmarshalStrict(data, &tf); err != nil {
		r.fail("%s: %v", testsPath, err)
		return
	}
	tested := map[string]bool{}
	for _, t := range tf.Tests {
		for _, a := range t.AlertRuleTests {
			tested[a.Alertname] = true
			if !alerts[a.Alertname] {
				r.fail("%s: test %q checks alert %s, which rules.yml does not define", testsPath, t.Name, a.Alertname)
			}
		}
		for _, err := range runRuleTest(rulesPath, time.Duration(tf.EvaluationInterval), t) {
			r.fail("%s: test %q: %v", testsPath, t.Name, err)
		}
	}
	for name := range alerts {
		if !tested[name] {
			r.fail("%s: alert %s has no unit test", testsPath, name)
		}
	}
	r.ok("%s: %d rule unit tests run", testsPath, len(tf.Tests))
}

// runRuleTest loads the series, evaluates every group at each interval up to the last
// eval_time (as promtool does, so `for:` durations count) and compares the firing alerts.
func runRuleTest(rulesPath string, evalInterval time.Duration, t ruleTest) (errs []error) {
	if evalInterval == 0 {
		evalInterval = time.Minute
	}
	interval := time.Duration(t.Interval)
	if interval == 0 {
		interval = evalInterval
	}
	var load strings.Builder
	fmt.Fprintf(&load, "load %s\n", model.Duration(interval))
	for _, s := range t.InputSeries {
		fmt.Fprintf(&load, "  %s %s\n", s.Series, s.Values)
	}
	suite, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{
		EnableAtModifier: true, EnableNegativeOffset: true, Parser: promqlParser,
	})
	if err != nil {
		return []error{err}
	}
	defer suite.Close()
	suite.SubqueryInterval = evalInterval

	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(suite.QueryEngine(), suite.Storage()),
		AppendableV2: suite.Storage(),
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       slog.New(slog.DiscardHandler),
		Parser:       promqlParser,
	})
	groupsMap, loadErrs := m.LoadGroups(evalInterval, labels.EmptyLabels(), "", nil, false, rulesPath)
	if loadErrs != nil {
		return loadErrs
	}
	var groups []*rules.Group
	for _, g := range groupsMap {
		for _, rule := range g.Rules() {
			if ar, ok := rule.(*rules.AlertingRule); ok {
				ar.SetRestored(true)
			}
		}
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name() < groups[j].Name() })

	var maxEval time.Duration
	for _, a := range t.AlertRuleTests {
		maxEval = max(maxEval, time.Duration(a.EvalTime))
	}
	start := time.Unix(0, 0).UTC()
	for ts := start; !ts.After(start.Add(maxEval)); ts = ts.Add(evalInterval) {
		suite.WithSamplesTill(ts, func(err error) {
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, g := range groups {
				g.Eval(suite.Context(), ts)
				for _, rule := range g.Rules() {
					if rule.LastError() != nil {
						errs = append(errs, fmt.Errorf("rule %s at %s: %w", rule.Name(), ts.Sub(start), rule.LastError()))
					}
				}
			}
		})
		if len(errs) > 0 {
			return errs
		}
		for _, a := range t.AlertRuleTests {
			at := time.Duration(a.EvalTime)
			if at < ts.Sub(start) || at >= ts.Sub(start)+evalInterval {
				continue
			}
			var got []string
			for _, g := range groups {
				for _, rule := range g.Rules() {
					ar, ok := rule.(*rules.AlertingRule)
					if !ok || ar.Name() != a.Alertname {
						continue
					}
					for _, alert := range ar.ActiveAlerts() {
						if alert.State == rules.StateFiring {
							got = append(got, alert.Labels.String()+" "+alert.Annotations.String())
						}
					}
				}
			}
			var want []string
			for _, e := range a.ExpAlerts {
				l := map[string]string{labels.AlertName: a.Alertname}
				for k, v := range e.ExpLabels {
					l[k] = v
				}
				want = append(want, labels.FromMap(l).String()+" "+labels.FromMap(e.ExpAnnotations).String())
			}
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				errs = append(errs, fmt.Errorf("alert %s at %s:\n  want %v\n  got  %v", a.Alertname, model.Duration(at), want, got))
			}
		}
	}
	return errs
}

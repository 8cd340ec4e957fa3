package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Grafana's interval variables, replaced by a duration before the PromQL is parsed.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// checkDashboards: every dashboard is JSON with a uid and a title, and every panel's
// Prometheus query is PromQL that Prometheus' parser accepts.
func checkDashboards(r *report, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		r.fail("%s: no dashboard", dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			r.fail("%v", err)
			continue
		}
		var dash struct {
			UID    string `json:"uid"`
			Title  string `json:"title"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(data, &dash); err != nil {
			r.fail("%s: %v", f, err)
			continue
		}
		if dash.UID == "" || dash.Title == "" {
			r.fail("%s: a dashboard needs a uid and a title", f)
		}
		queries := 0
		for _, p := range dash.Panels {
			for _, t := range p.Targets {
				if t.Expr == "" {
					continue
				}
				queries++
				if _, err := promqlParser.ParseExpr(grafanaVariables.Replace(t.Expr)); err != nil {
					r.fail("%s: panel %q: %v", f, p.Title, err)
				}
			}
		}
		r.ok("%s: %d panels, %d PromQL queries parse", f, len(dash.Panels), queries)
	}
}

// checkHelmValues: every key of our values file is one the Temporal chart reads — it is in the
// chart's default values (a copy of the chart version's values.yaml, kept beside it), below a
// key whose default is empty (a map the chart passes through, like the datastores), or a path
// the chart's templates read (chart-template-keys.txt, for the few without a default).
func checkHelmValues(r *report, valuesPath, defaultsPath, templateKeysPath string) {
	keys, err := os.ReadFile(templateKeysPath)
	if err != nil {
		r.fail("%v", err)
		return
	}
	templateKeys := map[string]bool{}
	for _, line := range strings.Split(string(keys), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			templateKeys[line] = true
		}
	}
	var values, defaults map[string]any
	for path, into := range map[string]*map[string]any{valuesPath: &values, defaultsPath: &defaults} {
		data, err := os.ReadFile(path)
		if err != nil {
			r.fail("%v", err)
			return
		}
		if err := yaml.Unmarshal(data, into); err != nil {
			r.fail("%s: %v", path, err)
			return
		}
	}
	before := len(r.failures)
	compareKeys(r, valuesPath, "", values, defaults, templateKeys)
	if len(r.failures) == before {
		r.ok("%s: every key is one the Temporal chart's values define (%s)", valuesPath, defaultsPath)
	}
}

func compareKeys(r *report, file, prefix string, values, defaults map[string]any, templateKeys map[string]bool) {
	for k, v := range values {
		path := strings.TrimPrefix(prefix+"."+k, ".")
		d, known := defaults[k]
		if !known && templateKeys[path] {
			continue // read by a template, free-form below
		}
		if !known {
			r.fail("%s: %s is not a value of the Temporal chart", file, path)
			continue
		}
		dm, dIsMap := d.(map[string]any)
		vm, vIsMap := v.(map[string]any)
		switch {
		case d == nil || (dIsMap && len(dm) == 0) || kubernetesPassThrough[k]:
			// Free-form below this key (the chart renders it as given).
		case dIsMap && vIsMap:
			compareKeys(r, file, path, vm, dm, templateKeys)
		case dIsMap != vIsMap:
			r.fail("%s: %s is %s in the chart, %s here", file, path, kindOf(d), kindOf(v))
		}
	}
}

// Values the chart copies into its pods as Kubernetes objects (toYaml): any of their fields.
var kubernetesPassThrough = map[string]bool{
	"securityContext": true, "containerSecurityContext": true, "resources": true, "affinity": true,
	"nodeSelector": true, "tolerations": true,
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

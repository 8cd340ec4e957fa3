// Command deploy-check validates Velora's deployment files offline, with nothing fetched at
// validation time (docs/kubernetes.md, "What is validated"):
//
//   - every kustomize overlay under deploy/k8s/overlays, rendered with kustomize's own API and
//     each object strictly decoded into the Kubernetes API's Go types (k8s.io/api, the
//     Kubernetes version of go.mod): an unknown field, a wrong type or an unknown kind fails;
//     then the project's rules (probes, limits, non-root, read-only root filesystem, secrets
//     only referenced, network policies, selectors that select something);
//   - deploy/prometheus/rules.yml with Prometheus' own rule-file parser (PromQL included) and
//     the unit tests of deploy/prometheus/rules.test.yml (promtool's test-file format);
//   - the PromQL of every Grafana dashboard panel under deploy/grafana/dashboards;
//   - docker-compose.yml with the Compose Specification's Go loader (its JSON schema,
//     interpolation with the operator's env file, and the model's consistency checks);
//   - deploy/temporal/values.yaml against the keys of the Temporal Helm chart's values.
//
// Usage: deploy-check [-root DIR] [-compose-env FILE] [-kustomize DIR]... [-render DIR]
// -kustomize checks only the given kustomization directories; -render prints one rendered
// kustomization as a JSON array (for tests) and checks nothing else.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// report collects failures; every check runs even after one fails.
type report struct{ failures []string }

func (r *report) fail(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *report) ok(format string, args ...any) { fmt.Printf("ok   "+format+"\n", args...) }

func main() {
	root := flag.String("root", ".", "the repository root")
	composeEnv := flag.String("compose-env", "", "env file for docker-compose.yml's variables (scripts/compose/generate-env.sh writes one); empty: every required variable gets a placeholder")
	render := flag.String("render", "", "print this kustomization rendered, as JSON, and exit")
	var only multiFlag
	flag.Var(&only, "kustomize", "check only this kustomization directory (repeatable)")
	flag.Parse()

	if *render != "" {
		objs, err := renderKustomization(*render)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out, _ := json.MarshalIndent(objs, "", "  ")
		fmt.Println(string(out))
		return
	}

	r := &report{}
	dirs := []string(only)
	if len(dirs) == 0 {
		overlays, _ := filepath.Glob(filepath.Join(*root, "deploy/k8s/overlays/*/kustomization.yaml"))
		sort.Strings(overlays)
		for _, o := range overlays {
			dirs = append(dirs, filepath.Dir(o))
		}
		if len(dirs) == 0 {
			r.fail("no overlay found under %s", filepath.Join(*root, "deploy/k8s/overlays"))
		}
	}
	for _, dir := range dirs {
		checkKustomization(r, dir)
	}
	if len(only) == 0 {
		checkRules(r, filepath.Join(*root, "deploy/prometheus/rules.yml"), filepath.Join(*root, "deploy/prometheus/rules.test.yml"))
		checkDashboards(r, filepath.Join(*root, "deploy/grafana/dashboards"))
		checkCompose(r, *root, *composeEnv)
		checkHelmValues(r, filepath.Join(*root, "deploy/temporal/values.yaml"),
			filepath.Join(*root, "deploy/temporal/chart-defaults.yaml"), filepath.Join(*root, "deploy/temporal/chart-template-keys.txt"))
	}

	if len(r.failures) > 0 {
		for _, f := range r.failures {
			fmt.Fprintln(os.Stderr, "FAIL "+f)
		}
		fmt.Fprintf(os.Stderr, "deploy-check: %d problem(s)\n", len(r.failures))
		os.Exit(1)
	}
	fmt.Println("deploy-check: all checks passed")
}

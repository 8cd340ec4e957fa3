package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// checkCompose loads docker-compose.yml with the Compose Specification's own Go loader: it
// validates the file against the specification's JSON schema, interpolates it with the
// operator's variables (a missing `${VAR:?}` is an error, as in `docker compose`), normalises
// it and checks the model's consistency (dependencies, networks, volumes that exist). Then
// issue 15's rules for a compose file on supported images.
func checkCompose(r *report, root, envFile string) {
	file := filepath.Join(root, "docker-compose.yml")
	env, err := composeEnvironment(file, envFile)
	if err != nil {
		r.fail("%v", err)
		return
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: file}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SetProjectName("velora", true)
		o.SkipResolveEnvironment = false
	})
	if err != nil {
		r.fail("%s: %v", file, err)
		return
	}
	before := len(r.failures)
	oneShot := map[string]bool{}
	for _, s := range project.Services {
		for dep, d := range s.DependsOn {
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				oneShot[dep] = true
			}
		}
	}
	built := map[string]bool{}
	builds := 0
	for _, s := range project.Services {
		if s.Build != nil {
			built[s.Image] = true
			builds++
		}
	}
	for _, name := range sortedServiceNames(project) {
		s := project.Services[name]
		switch {
		case oneShot[name] && !strings.HasPrefix(s.Restart, "on-failure"):
			r.fail("%s: %s runs once (others wait for it to complete): restart on-failure, not %q", file, name, s.Restart)
		case !oneShot[name] && s.Restart != types.RestartPolicyUnlessStopped:
			r.fail("%s: %s: restart must be unless-stopped, not %q", file, name, s.Restart)
		}
		if !built[s.Image] {
			if !pinnedImage.MatchString(s.Image) {
				r.fail("%s: %s: image %q is not pinned to a version", file, name, s.Image)
			}
			if strings.Contains(s.Image, "auto-setup") {
				r.fail("%s: %s: temporalio/auto-setup is deprecated", file, name)
			}
		}
		if s.HealthCheck == nil && !oneShot[name] {
			r.fail("%s: %s has no healthcheck", file, name)
		}
	}
	// One image, built once, for the four Velora services.
	if builds != 1 {
		r.fail("%s: %d services build an image; one image built once serves the four Velora services", file, builds)
	}
	for _, name := range []string{"auth", "wallet", "worker", "gateway"} {
		if s, ok := project.Services[name]; !ok || !built[s.Image] {
			r.fail("%s: %s does not run the image built from the Dockerfile", file, name)
		}
	}
	for _, name := range []string{"postgres", "redis", "mongo"} {
		s, ok := project.Services[name]
		if !ok {
			r.fail("%s: no %s service", file, name)
			continue
		}
		named := false
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				named = true
			}
		}
		if !named {
			r.fail("%s: %s keeps its data in no named volume", file, name)
		}
	}
	if len(r.failures) == before {
		r.ok("%s: valid against the Compose Specification (compose-go loader and schema), %d services", file, len(project.Services))
	}
}

var pinnedImage = regexp.MustCompile(`^[a-z0-9./_-]+:v?[0-9][A-Za-z0-9._-]*$`)

func sortedServiceNames(p *types.Project) []string {
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var requiredVar = regexp.MustCompile(`\$\{([A-Z0-9_]+):\?`)

// composeEnvironment: the operator's env file when given, else a placeholder for every
// variable the file requires (so the schema and the model are checked all the same).
func composeEnvironment(composeFile, envFile string) (types.Mapping, error) {
	env := types.Mapping{}
	if envFile == "" {
		text, err := os.ReadFile(composeFile)
		if err != nil {
			return nil, err
		}
		for _, m := range requiredVar.FindAllStringSubmatch(string(text), -1) {
			env[m[1]] = "placeholder-" + strings.ToLower(m[1])
		}
		return env, nil
	}
	values, err := dotenv.Read(envFile)
	if err != nil {
		return nil, err
	}
	for k, v := range values {
		env[k] = v
	}
	return env, nil
}

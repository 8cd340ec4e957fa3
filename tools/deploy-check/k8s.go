package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The API groups Velora's manifests may use; any other kind is an error.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, autoscalingv2.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// Strict: an unknown or duplicated field is an error, not silently dropped.
var strictDecoder = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

// Variable names that hold a secret (or a URL with a password in it): their value must come
// from a Secret, never from a literal or a ConfigMap.
var secretName = regexp.MustCompile(`(SECRET|PASSWORD|PEPPER|TOKEN|_KEY|_KEYS|DATABASE_URL|REDIS_URL|MONGO_URL|RABBITMQ_URL)$`)

// kubernetesVersion names the Kubernetes release whose API types this binary was built with.
func kubernetesVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "k8s.io/api" {
				// k8s.io/api v0.X.Y is Kubernetes 1.X.Y.
				return "1" + strings.TrimPrefix(dep.Version, "v0")
			}
		}
	}
	return "(unknown)"
}

// renderKustomization builds a kustomization with kustomize's API, as `kubectl kustomize` does.
func renderKustomization(dir string) ([]map[string]any, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("%s: kustomize: %w", dir, err)
	}
	var out []map[string]any
	for _, res := range resources.Resources() {
		m, err := res.Map()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, res.CurId(), err)
		}
		out = append(out, m)
	}
	return out, nil
}

type podOwner struct {
	kind, name string
	labels     map[string]string
	spec       *corev1.PodSpec
}

func checkKustomization(r *report, dir string) {
	rendered, err := renderKustomization(dir)
	if err != nil {
		r.fail("%v", err)
		return
	}
	var (
		pods      []podOwner
		services  []*corev1.Service
		policies  []*networkingv1.NetworkPolicy
		hpas      []*autoscalingv2.HorizontalPodAutoscaler
		pdbs      []*policyv1.PodDisruptionBudget
		deployed  = map[string]bool{}
		decodedOK = 0
	)
	for _, m := range rendered {
		raw, _ := json.Marshal(m)
		obj, gvk, err := strictDecoder.Decode(raw, nil, nil)
		id := fmt.Sprintf("%v %v/%v", m["kind"], nestedString(m, "metadata", "namespace"), nestedString(m, "metadata", "name"))
		if err != nil {
			r.fail("%s: %s: not valid for Kubernetes %s: %v", dir, id, kubernetesVersion(), err)
			continue
		}
		decodedOK++
		switch o := obj.(type) {
		case *appsv1.Deployment:
			pods = append(pods, podOwner{"Deployment", o.Name, o.Spec.Template.Labels, &o.Spec.Template.Spec})
			deployed[o.Name] = true
			checkSelector(r, dir, id, o.Spec.Selector, o.Spec.Template.Labels)
		case *batchv1.Job:
			pods = append(pods, podOwner{"Job", o.Name, o.Spec.Template.Labels, &o.Spec.Template.Spec})
		case *corev1.Service:
			services = append(services, o)
		case *networkingv1.NetworkPolicy:
			policies = append(policies, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas = append(hpas, o)
		case *policyv1.PodDisruptionBudget:
			pdbs = append(pdbs, o)
		case *corev1.Secret:
			r.fail("%s: %s: a Secret is inlined; reference it instead (docs/kubernetes.md lists them)", dir, id)
		case *corev1.ConfigMap:
			for key := range o.Data {
				if secretName.MatchString(key) {
					r.fail("%s: %s: %s looks like a secret: keep it in a Secret", dir, id, key)
				}
			}
		case *corev1.Namespace:
		default:
			r.fail("%s: %s: kind %v is not one Velora's manifests use", dir, id, gvk)
		}
	}
	for _, p := range pods {
		checkPod(r, dir, p)
	}
	for _, s := range services {
		if !selectsAny(s.Spec.Selector, pods, "Deployment") {
			r.fail("%s: Service %s selects no Deployment's pods", dir, s.Name)
		}
	}
	for _, h := range hpas {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || !deployed[h.Spec.ScaleTargetRef.Name] {
			r.fail("%s: HorizontalPodAutoscaler %s scales %s %s, which is not rendered", dir, h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		}
	}
	for _, b := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil || !selectsAnyWith(sel, pods, "Deployment") {
			r.fail("%s: PodDisruptionBudget %s selects no Deployment's pods", dir, b.Name)
		}
	}
	checkNetworkPolicies(r, dir, policies, pods)
	if decodedOK == len(rendered) {
		r.ok("%s: %d objects decode strictly into the Kubernetes %s API types", dir, decodedOK, kubernetesVersion())
	}
}

func checkSelector(r *report, dir, id string, sel *metav1.LabelSelector, podLabels map[string]string) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || !s.Matches(labels.Set(podLabels)) {
		r.fail("%s: %s: its selector does not match its pod template's labels", dir, id)
	}
}

func selectsAny(selector map[string]string, pods []podOwner, kind string) bool {
	if len(selector) == 0 {
		return false
	}
	return selectsAnyWith(labels.SelectorFromSet(selector), pods, kind)
}

func selectsAnyWith(sel labels.Selector, pods []podOwner, kind string) bool {
	for _, p := range pods {
		if p.kind == kind && sel.Matches(labels.Set(p.labels)) {
			return true
		}
	}
	return false
}

// checkPod: the hardening every Velora pod has (issue 13: probes, requests and limits, non-root,
// read-only root filesystem, no privilege escalation) and secrets only by reference.
func checkPod(r *report, dir string, p podOwner) {
	id := fmt.Sprintf("%s %s", p.kind, p.name)
	spec := p.spec
	podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range all {
		cid := fmt.Sprintf("%s: %s container %s", dir, id, c.Name)
		sc := c.SecurityContext
		if sc == nil {
			r.fail("%s: no securityContext", cid)
			continue
		}
		if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			r.fail("%s: may run as root (runAsNonRoot)", cid)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			r.fail("%s: root filesystem is writable (readOnlyRootFilesystem)", cid)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			r.fail("%s: allows privilege escalation", cid)
		}
		if sc.Privileged != nil && *sc.Privileged {
			r.fail("%s: privileged", cid)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				r.fail("%s: no %s request", cid, res)
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				r.fail("%s: no %s limit", cid, res)
			}
		}
		for _, e := range c.Env {
			if secretName.MatchString(e.Name) && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
				r.fail("%s: %s must come from a Secret (secretKeyRef), not a literal", cid, e.Name)
			}
		}
	}
	if p.kind != "Deployment" {
		return
	}
	for _, c := range spec.Containers {
		cid := fmt.Sprintf("%s: %s container %s", dir, id, c.Name)
		ports := map[string]bool{}
		for _, port := range c.Ports {
			ports[port.Name] = true
		}
		for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[name]
			switch {
			case probe == nil || probe.HTTPGet == nil:
				r.fail("%s: no HTTP %s probe", cid, name)
			case probe.HTTPGet.Path != want:
				r.fail("%s: %s probe on %s, the services serve %s", cid, name, probe.HTTPGet.Path, want)
			case probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal]:
				r.fail("%s: %s probe on port %q, which the container does not name", cid, name, probe.HTTPGet.Port.StrVal)
			}
		}
	}
}

// checkNetworkPolicies: ingress denied by default, every pod covered by a policy, and only the
// gateway reachable from anywhere (a rule with no `from` opens a port to every source).
func checkNetworkPolicies(r *report, dir string, policies []*networkingv1.NetworkPolicy, pods []podOwner) {
	defaultDeny := false
	for _, np := range policies {
		if len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0 &&
			len(np.Spec.Ingress) == 0 && hasPolicyType(np, networkingv1.PolicyTypeIngress) {
			defaultDeny = true
		}
	}
	if !defaultDeny {
		r.fail("%s: no default-deny ingress NetworkPolicy", dir)
	}
	for _, np := range policies {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			r.fail("%s: NetworkPolicy %s: %v", dir, np.Name, err)
			continue
		}
		for _, rule := range np.Spec.Ingress {
			if len(rule.From) > 0 {
				continue
			}
			for _, p := range pods {
				if sel.Matches(labels.Set(p.labels)) && p.labels["app.kubernetes.io/name"] != "gateway" {
					r.fail("%s: NetworkPolicy %s opens %s %s to every source; only the gateway may be", dir, np.Name, p.kind, p.name)
				}
			}
		}
	}
	checkEgress(r, dir, policies, pods)
	for _, p := range pods {
		if p.kind != "Deployment" {
			continue
		}
		covered := false
		for _, np := range policies {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.labels)) {
				covered = true
			}
		}
		if !covered {
			r.fail("%s: Deployment %s has no NetworkPolicy of its own", dir, p.name)
		}
	}
}

// checkEgress: a pod whose egress a policy restricts (only what its policies list is allowed)
// must still resolve names (DNS, port 53) and, when it publishes events (RABBITMQ_URL), reach
// the broker's amqp or amqps port; a pod no Egress policy selects may go anywhere.
func checkEgress(r *report, dir string, policies []*networkingv1.NetworkPolicy, pods []podOwner) {
	for _, p := range pods {
		var rules []networkingv1.NetworkPolicyEgressRule
		restricted := false
		for _, np := range policies {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil || !hasPolicyType(np, networkingv1.PolicyTypeEgress) || !sel.Matches(labels.Set(p.labels)) {
				continue
			}
			restricted = true
			rules = append(rules, np.Spec.Egress...)
		}
		if !restricted {
			continue
		}
		if !egressAllows(rules, corev1.ProtocolUDP, 53) {
			r.fail("%s: %s %s: its egress policies allow no DNS (UDP 53): it cannot resolve a service name", dir, p.kind, p.name)
		}
		if usesEnv(p.spec, "RABBITMQ_URL") && !egressAllows(rules, corev1.ProtocolTCP, 5671) && !egressAllows(rules, corev1.ProtocolTCP, 5672) {
			r.fail("%s: %s %s: publishes events (RABBITMQ_URL) but its egress policies allow neither amqps 5671 nor amqp 5672", dir, p.kind, p.name)
		}
	}
}

// egressAllows says whether one of the rules lets the port out (to some destination): a rule
// without ports allows every port, a port without a protocol is TCP.
func egressAllows(rules []networkingv1.NetworkPolicyEgressRule, protocol corev1.Protocol, port int32) bool {
	for _, rule := range rules {
		if len(rule.Ports) == 0 {
			return true
		}
		for _, p := range rule.Ports {
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if proto != protocol {
				continue
			}
			if p.Port == nil {
				return true
			}
			if p.Port.IntVal == port || (p.EndPort != nil && p.Port.IntVal <= port && port <= *p.EndPort) {
				return true
			}
		}
	}
	return false
}

func usesEnv(spec *corev1.PodSpec, name string) bool {
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return true
			}
		}
	}
	return false
}

func hasPolicyType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	for _, pt := range np.Spec.PolicyTypes {
		if pt == t {
			return true
		}
	}
	return false
}

func nestedString(m map[string]any, keys ...string) string {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	s, _ := cur.(string)
	return s
}

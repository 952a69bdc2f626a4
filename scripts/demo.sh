#!/usr/bin/env bash
# Bring up a local cluster (3 masters + 2 nodes on this machine) and run the
# demo workload. Called by `./dev up` after set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
COX=$PWD/.venv/bin/cox
DIR=${COX_CLUSTER_DIR:-$PWD/.cluster}

"$COX" cluster up --dir "$DIR" "$@"
export KUBECONFIG=$DIR/kubeconfig

echo "==> applying examples/demo.yaml"
"$COX" apply -f examples/demo.yaml
"$COX" rollout status deploy/web --timeout 180s
"$COX" get pods -o wide
"$COX" get svc web

CIP=$("$COX" get svc web -o jsonpath='{.spec.clusterIP}' 2>/dev/null ||
      "$COX" get svc web -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
echo "==> a request to the ClusterIP $CIP from node n1's namespace:"
GET='import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=5).read().decode().strip())'
for _ in 1 2 3 4; do
  nsenter --net=/run/netns/cox-n1 python3 -c "$GET" "http://$CIP/" || true
done
cat <<MSG

The cluster is up. Try:
  export KUBECONFIG=$DIR/kubeconfig
  $COX get pods -o wide
  $COX cluster status
  nsenter --net=/run/netns/cox-n1 python3 -c 'import urllib.request as u; print(u.urlopen("http://$CIP/").read().decode())'
  ./dev down        # removes everything the cluster created
MSG

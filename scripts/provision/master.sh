#!/usr/bin/env bash
# Make this machine a coxswain master and start it as a systemd service.
#   master.sh NAME LISTEN_ADDR SECRETS_DIR PEER_IP...
# NAME         m1, m2, ...
# LISTEN_ADDR  this master's address on the cluster network (API :6443, Raft :7001)
# SECRETS_DIR  holds cluster-secret, tokens.csv and the cluster CA (ca.crt, ca.key),
#              identical on every master; `cox master init` completes the rest
#              (node tokens, this master's serving certificate, kubeconfig)
# PEER_IP      the other masters' addresses
set -euo pipefail
NAME=$1 ADDR=$2 SECRETS=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
ETC=/etc/coxswain
install -d -m 0700 "$ETC" /var/lib/coxswain
install -m 0600 "$SECRETS/cluster-secret" "$SECRETS/tokens.csv" "$ETC/"
install -d -m 0700 "$ETC/pki"
install -m 0600 "$SECRETS/ca.crt" "$SECRETS/ca.key" "$ETC/pki/"

urls=("--master-url" "https://$ADDR:6443")
peers=""
for ip in "$@"; do
  urls+=("--master-url" "https://$ip:6443")
  peers="$peers --peer $ip:7001"
done
nodes=()
while IFS=, read -r _tok user _rest; do
  case $user in system:node:*) nodes+=("--node" "${user#system:node:}") ;; esac
done < "$ETC/tokens.csv"
/usr/local/bin/cox master init --dir "$ETC" "${nodes[@]}" "${urls[@]}" \
  --master-name "$NAME" --tls-host "$ADDR"

cat > /etc/default/coxswain-master <<ENV
COX_NAME=$NAME
COX_LISTEN=$ADDR:6443
COX_RAFT=$ADDR:7001
COX_PEER_ARGS=$peers
ENV
install -m 0644 "$HERE/systemd/coxswain-master.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now coxswain-master.service
echo "==> master $NAME: API https://$ADDR:6443, Raft $ADDR:7001"

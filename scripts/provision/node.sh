#!/usr/bin/env bash
# Make this machine a coxswain node and start its agent as a systemd service.
#   node.sh NAME ADDRESS TOKEN_FILE CA_FILE CERT_FILE KEY_FILE MASTER_IP...
# CA_FILE is the cluster CA the masters' certificates are verified against;
# CERT_FILE and KEY_FILE the agent's own serving certificate (from that CA),
# which the masters verify.
# The machine's own dockerd runs the pods, configured like a local cluster
# node's: no bridge, iptables or masquerade of its own (the agent owns pod
# networking).
set -euo pipefail
NAME=$1 ADDR=$2 TOKEN=$3 CA=$4 CERT=$5 KEY=$6
shift 6
HERE=$(cd "$(dirname "$0")" && pwd)
ETC=/etc/coxswain
install -d -m 0700 "$ETC" /var/lib/coxswain
install -m 0600 "$TOKEN" "$ETC/node.token"
install -m 0600 "$CA" "$ETC/ca.crt"
install -m 0600 "$CERT" "$ETC/node.crt"
install -m 0600 "$KEY" "$ETC/node.key"

install -d /etc/docker
cat > /etc/docker/daemon.json <<JSON
{"bridge": "none", "iptables": false, "ip-masq": false}
JSON
systemctl restart docker.service
"$HERE/build-demo-image.sh"

masters=""
for ip in "$@"; do masters="$masters --master https://$ip:6443"; done
cat > /etc/default/coxswain-node <<ENV
COX_NAME=$NAME
COX_ADDRESS=$ADDR
COX_MASTER_ARGS=$masters
ENV
install -m 0644 "$HERE/systemd/coxswain-node.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now coxswain-node.service
echo "==> node $NAME at $ADDR, masters:$masters"

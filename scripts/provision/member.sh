#!/usr/bin/env bash
# Change the masters' Raft membership, on a master VM, through the same
# `cox master add` / `cox master remove` the local cluster's
# `cox cluster add-master` / `remove-master` run (docs/membership.md).
#   member.sh add ADDR      the master provisioned at ADDR (API :6443, Raft :7001)
#   member.sh remove ADDR   the master at ADDR, alive or dead
set -euo pipefail
ACTION=$1 ADDR=$2
export KUBECONFIG=/etc/coxswain/kubeconfig
case $ACTION in
  add)    exec /usr/local/bin/cox master add --address "$ADDR:7001" --api "https://$ADDR:6443" ;;
  remove) exec /usr/local/bin/cox master remove "$ADDR:7001" ;;
  *)      echo "usage: member.sh add|remove ADDR" >&2; exit 2 ;;
esac

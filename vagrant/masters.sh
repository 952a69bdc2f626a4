#!/usr/bin/env bash
# Add, remove or replace a master of the Vagrant cluster (docs/membership.md).
#   vagrant/masters.sh add            bring up m<N+1> (COX_MASTERS=N, default 3) and add it
#   vagrant/masters.sh remove K       remove mK from the members, then destroy its VM
#   vagrant/masters.sh replace K      remove (dead) mK, then add m<N+1>
# Run from vagrant/; the membership commands run on a surviving master through
# scripts/provision/member.sh. The nodes follow the masters on their own.
set -euo pipefail
cd "$(dirname "$0")"
NET=${COX_NET:-192.168.56}
N=${COX_MASTERS:-3}
ip() { echo "$NET.$((10 + $1))"; }
member() {  # member.sh ACTION ADDR on a master other than m$3
  local on=1
  [ "$on" = "$3" ] && on=2
  vagrant ssh "m$on" -c "sudo /opt/coxswain/src/scripts/provision/member.sh $1 $2"
}
add() {
  local k=$((N + 1))
  COX_MASTERS=$k vagrant up "m$k"  # provisioned with the current members as --peer
  member add "$(ip "$k")" "$k"
  echo "==> m$k added; run further commands with COX_MASTERS=$k"
}
remove() {
  member remove "$(ip "$1")" "$1"
  vagrant destroy -f "m$1"
}
case ${1:-} in
  add) add ;;
  remove) remove "$2" ;;
  replace) remove "$2"; add ;;
  *) echo "usage: masters.sh add | remove K | replace K" >&2; exit 2 ;;
esac

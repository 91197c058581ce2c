#!/usr/bin/env bash
# The roles' molecule scenarios (extensions/molecule/), on real VMs in the lab:
# makes sure the lab daemons, the cached guest base image and the container
# image archive exist, then runs `molecule test` inside the lab's network
# namespace (VM addresses are reachable only from there). Prints each run's
# wall time.
#
#   scripts/molecule.sh                  all scenarios
#   scripts/molecule.sh vm_provision     only the named ones (container_host,
#                                        container_deploy, vm_provision, default)
#
# container_host and container_deploy run in one `molecule test` (shared_state)
# and share one VM (the `default` scenario's create/destroy): one boot for
# both. vm_provision boots its own VM through the role under test. Only one
# VM of this script exists at a time.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/setup.sh disable=SC1091
source scripts/setup.sh

RUN=/run/hybridops-lab
NETNS=/run/netns/hybridops-lab
log() { printf '\n==> [molecule] %s\n' "$*" >&2; }

declare -a TIMINGS=()
# shellcheck disable=SC2317  # run by the EXIT trap
report() {
  local rc=$?
  if [ "${#TIMINGS[@]}" -gt 0 ]; then
    printf '\n==> [molecule] wall times\n' >&2
    printf '  %s\n' "${TIMINGS[@]}" >&2
  fi
  [ "$rc" -eq 0 ] && echo "==> [molecule] PASSED" >&2 || echo "==> [molecule] FAILED (exit $rc)" >&2
}
trap report EXIT

SCENARIOS=("$@")
[ "${#SCENARIOS[@]}" -gt 0 ] || SCENARIOS=(container_host container_deploy vm_provision)
for s in "${SCENARIOS[@]}"; do
  if [ ! -f "extensions/molecule/$s/molecule.yml" ]; then
    echo "no scenario extensions/molecule/$s" >&2
    exit 2
  fi
done

log "lab daemons and the guest base image (a cold image build takes ~2-5 min)"
python tests/lab/lab.py up
# cheap when built before (docker's build cache), and never stale
log "container images for container_deploy (built locally, no registry)"
python tests/lab/lab.py images --archive "$RUN/lab-images.tar"

# molecule's own state and the scenarios' inventories live under ~/.cache;
# HYBRIDOPS_LAB_IMAGE_JSON etc. (see extensions/molecule/shared/lab_vars.yml)
# pass through.
in_lab() { nsenter --net="$NETNS" "$@"; }

# Echoes molecule's output and writes "SCENARIO SECONDS" lines to $1: the time
# from one "<scenario> ➜ <step>" log line to the next is that scenario's (the
# shared VM's create and destroy are the `default` scenario's).
split_times() {
  local out="$1" cur="" t_cur=0 now line
  declare -A spent=()
  while IFS= read -r line; do
    printf '%s\n' "$line"
    [[ $line == *➜* ]] || continue
    line=$(printf '%s' "$line" | sed 's/\x1b\[[0-9;]*m//g')
    if [[ $line =~ ^(INFO|WARNING|ERROR|CRITICAL)\ +([A-Za-z0-9_/-]+)\ [^\ ]+\ [a-z_]+: ]]; then
      now=$(date +%s)
      if [ -n "$cur" ]; then spent[$cur]=$(( ${spent[$cur]:-0} + now - t_cur )); fi
      cur="${BASH_REMATCH[2]}"
      t_cur=$now
    fi
  done
  if [ -n "$cur" ]; then spent[$cur]=$(( ${spent[$cur]:-0} + $(date +%s) - t_cur )); fi
  for cur in "${!spent[@]}"; do printf '%s %s\n' "$cur" "${spent[$cur]}"; done > "$out"
}

# molecule's state of an interrupted run (under ~/.ansible/tmp) would make it skip create and
# converge a VM that is gone; create.yml removes such VMs by name, so the state can go. The
# `default` scenario's state is the one container_host and container_deploy share.
in_lab molecule reset -s default -s vm_provision </dev/null >/dev/null 2>&1

run_molecule() {
  local label="$1" t0 rc=0 times name secs
  shift
  log "molecule test $* (${label})"
  times=$(mktemp)
  t0=$(date +%s)
  in_lab molecule test "$@" </dev/null 2>&1 | split_times "$times" || rc=$?  # ansible-core wants a blocking stdin
  TIMINGS+=("$(printf '%-40s %5ss  %s' "$label" "$(( $(date +%s) - t0 ))" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
  while read -r name secs; do
    TIMINGS+=("$(printf '  %-38s %5ss' "$name" "$secs")")
  done < <(sort "$times")
  rm -f "$times"
  return "$rc"
}

# the two scenarios that need a Docker host share one VM
shared=()
shared_names=""
others=()
for s in "${SCENARIOS[@]}"; do
  case "$s" in
    container_host|container_deploy) shared+=(-s "$s"); shared_names+="${shared_names:++}$s" ;;
    *) others+=("$s") ;;
  esac
done

status=0
if [ "${#shared[@]}" -gt 0 ]; then
  run_molecule "$shared_names (one VM)" "${shared[@]}" || status=1
fi
for s in "${others[@]}"; do
  run_molecule "$s" -s "$s" || status=1
done
exit "$status"

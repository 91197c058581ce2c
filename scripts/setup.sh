#!/usr/bin/env bash
# One-time (idempotent) set-up for a fresh Debian/Ubuntu machine: apt packages,
# a Python venv with ansible-core and the SDKs, and the collection tree that
# makes `hybridops.fleet` importable. Sourced by scripts/lab and scripts/test.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HYBRIDOPS_VENV:-$REPO/.venv}"
COLLECTIONS_DIR="$REPO/.collections"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf '\n==> [setup] %s\n' "$*" >&2; }

APT_PACKAGES=(
  libvirt-daemon-system libvirt-clients libvirt-dev pkg-config
  qemu-system-x86 qemu-utils dnsmasq-base iptables iproute2
  docker.io busybox-static haproxy
  debootstrap genisoimage e2fsprogs zstd
  openssh-client openssh-server ca-certificates git rsync shellcheck curl
  chromium fonts-dejavu-core
  python3 python3-venv python3-dev gcc
)

install_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then return 0; fi
  log "installing apt packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # policy-rc.d: Debian's postinst scripts must not start libvirtd/dockerd (or haproxy, sshd) on the
  # host; the lab starts them itself, inside its network namespace (tests start their own haproxy).
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    created_policy=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi
}

# Newest CPython >= 3.11 found on PATH or under pyenv.
pick_python() {
  local candidates=() c
  for c in python3.14 python3.13 python3.12 python3.11; do
    command -v "$c" >/dev/null 2>&1 && candidates+=("$(command -v "$c")")
  done
  for c in "$HOME"/.pyenv/versions/3.1[1-9]*/bin/python3; do
    [ -x "$c" ] && candidates+=("$c")
  done
  command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")
  local best="" best_ver=0 ver
  for c in "${candidates[@]}"; do
    ver=$("$c" -c 'import sys; print(sys.version_info[0]*100 + sys.version_info[1])' 2>/dev/null) || continue
    "$c" -c 'import venv, ensurepip' 2>/dev/null || continue
    if [ "$ver" -ge 311 ] && [ "$ver" -gt "$best_ver" ]; then best="$c"; best_ver=$ver; fi
  done
  if [ -z "$best" ]; then echo "no Python >= 3.11 with venv found" >&2; return 1; fi
  echo "$best"
}

# the venv exists and was made from the current requirements-dev.txt
venv_current() {
  local stamp="$VENV/.hybridops-requirements"
  [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(cat "$REPO/requirements-dev.txt")" ]
}

create_venv() {
  local stamp="$VENV/.hybridops-requirements" want
  want=$(cat "$REPO/requirements-dev.txt")
  if venv_current; then return 0; fi
  local py
  py=$(pick_python)
  log "creating venv $VENV with $py ($("$py" --version))"
  [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip wheel
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-dev.txt"
  printf '%s' "$want" > "$stamp"
}

# ansible-test looks for ~/.ansible/test/cache/get_pip_<ver>.py before it tries
# to download get-pip.py from a host that is unreachable here. This stand-in is
# run as `python get_pip.py <pip args>` and installs pip from the PyPI wheel.
write_get_pip_standin() {
  local cache="$HOME/.ansible/test/cache" versions ver
  # every pip version ansible-test may bootstrap (get_venv_packages in its source)
  versions=$("$VENV/bin/python" - <<'PY'
import pathlib, re
import ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(" ".join(sorted(set(re.findall(r"pip=['\"]([0-9.]+)['\"]", src.read_text())))))
PY
)
  if [ -z "$versions" ]; then echo "cannot find ansible-test's pip version" >&2; return 1; fi
  mkdir -p "$cache"
  for ver in $versions; do
    cat > "$cache/get_pip_${ver//./_}.py" <<'PY'
"""Stand-in for get-pip.py: installs pip from PyPI's wheel (get-pip's host is unreachable)."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)
PY
  done
}

link_collection() {
  mkdir -p "$COLLECTIONS_DIR/ansible_collections/hybridops"
  ln -sfn "$REPO" "$COLLECTIONS_DIR/ansible_collections/hybridops/fleet"
}

# HYBRIDOPS_SETUP_APT=0: the caller needs only the venv (unit tests, lint, static checks); the apt
# packages are then installed only while the venv still has to be made (it needs python3-venv, gcc and
# libvirt-dev), so that once it exists no apt and no root is needed.
if [ "${BASH_SOURCE[0]}" = "$0" ] || [ "${HYBRIDOPS_SETUP_RUN:-}" != 1 ]; then
  if [ "${HYBRIDOPS_SETUP_APT:-1}" != 0 ] || ! venv_current; then install_apt_packages; fi
  create_venv
  write_get_pip_standin
  link_collection
  export HYBRIDOPS_SETUP_RUN=1
fi
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR"
export HYBRIDOPS_REPO="$REPO"

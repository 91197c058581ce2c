#!/usr/bin/env bash
# Builds (once) and caches the Debian bookworm guest base image of the lab.
#
#   tests/lab/guest_image.sh        -> prints the cache dir on its last stdout line
#
# Cache: ${HYBRIDOPS_IMAGE_CACHE:-/var/cache/hybridops/images}/debian12-<key>/
#   base.qcow2 (compressed qcow2, raw ext4 without partition table, root=/dev/vda),
#   vmlinuz, initrd.img (for direct kernel boot), cmdline, id_ed25519[.pub]
#   (lab key, root's authorized key), manifest.json.
# <key> = first 16 hex chars of sha256(this script + files under guest_image/ +
# mirror + suite). Delete the directory to rebuild. All logs go to stderr.
# docs/lab-guest-image.md explains every tweak and the measured boot timings.
set -euo pipefail

SUITE=bookworm
IMAGE_NAME=debian12
VIRTUAL_SIZE=4G
# What the guest needs; --no-install-recommends keeps everything else out.
PACKAGES=(
  systemd systemd-sysv dbus openssh-server sudo
  python3 docker.io python3-docker apparmor
  qemu-guest-agent cloud-init
  linux-image-cloud-amd64 initramfs-tools zstd e2fsprogs
  iproute2 ca-certificates curl
  haproxy
)
# virtio disk without partition table; see docs/lab-guest-image.md for each flag.
CMDLINE="root=/dev/vda rw console=ttyS0 net.ifnames=0 audit=0 mitigations=off"
OUTPUT_FILES=(base.qcow2 vmlinuz initrd.img id_ed25519 id_ed25519.pub cmdline manifest.json)

exec 3>&1 1>&2            # stdout is reserved for the result (fd 3)
log() { printf '==> [image] %s\n' "$*" >&2; }
die() { printf '==> [image] ERROR: %s\n' "$*" >&2; exit 1; }

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
EXTRA_DIR="$(dirname "$SELF")/guest_image"
CACHE="${HYBRIDOPS_IMAGE_CACHE:-/var/cache/hybridops/images}"

# ---------------------------------------------------------------- mirror ---
# Prints "types<TAB>uris<TAB>suites<TAB>components<TAB>enabled" per apt source, in
# apt's own order: sources.list, then sources.list.d/* (one-line and deb822).
apt_source_entries() {
  local f files=()
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*; do
    case "$f" in *.list|*.sources) [ -f "$f" ] && files+=("$f") ;; esac
  done
  for f in "${files[@]}"; do
    case "$f" in
      *.sources)
        awk '
          function flush() {
            if (types != "" && uris != "") printf "%s\t%s\t%s\t%s\t%s\n", types, uris, suites, comps, enabled
            types = ""; uris = ""; suites = ""; comps = ""; enabled = "yes"
          }
          BEGIN { enabled = "yes" }
          /^[ \t]*#/ { next }
          /^[ \t]*$/ { flush(); next }
          /^[ \t]/ { next }
          {
            key = tolower($0); sub(/:.*/, "", key)
            val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "components") comps = val
            else if (key == "enabled") enabled = tolower(val)
          }
          END { flush() }' "$f" ;;
      *)
        sed -e 's/#.*//' -e 's/\[[^]]*\]//g' "$f" |
          awk '$1 == "deb" && NF >= 4 {
                 comps = $4; for (i = 5; i <= NF; i++) comps = comps " " $i
                 printf "deb\t%s\t%s\t%s\tyes\n", $2, $3, comps }' ;;
    esac
  done
}

# The first Debian "main" URI (not security) of the machine's apt sources.
find_mirror() {
  if [ -n "${HYBRIDOPS_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "${HYBRIDOPS_DEBIAN_MIRROR%/}"
    return 0
  fi
  local types uris suites comps enabled uri suite debian
  while IFS=$'\t' read -r types uris suites comps enabled; do
    [ "$enabled" = no ] && continue
    [[ " $types " == *" deb "* ]] || continue
    [[ " $comps " == *" main "* ]] || continue
    [[ "$suites" == *-security* || "$suites" == */updates* ]] && continue
    for uri in $uris; do
      # apt's mirror method (Debian cloud images): the first entry of the local mirror list
      case "$uri" in
        mirror+file:*)
          uri="${uri#mirror+file:}"; uri="/${uri#"${uri%%[!/]*}"}"
          [ -r "$uri" ] || continue
          uri="$(awk '!/^[ \t]*(#|$)/ { print $1; exit }' "$uri")" ;;
      esac
      uri="${uri%/}"
      case "$uri" in http://*|https://*|file:/*|ftp://*) ;; *) continue ;; esac
      case "$uri" in *security*|*ubuntu*) continue ;; esac
      debian=no
      case "$uri" in */debian|*/debian/*|*debian*) debian=yes ;; esac
      for suite in $suites; do
        case "${suite%%-*}" in
          buster|bullseye|bookworm|trixie|forky|duke|sid|stable|testing|unstable|oldstable|oldoldstable) debian=yes ;;
        esac
      done
      if [ "$debian" = yes ]; then printf '%s\n' "$uri"; return 0; fi
    done
  done < <(apt_source_entries)
  return 1
}

recipe_key() {
  {
    printf 'script\n'; cat "$SELF"
    if [ -d "$EXTRA_DIR" ]; then
      local f
      while IFS= read -r -d '' f; do
        printf '\nfile %s\n' "${f#"$EXTRA_DIR"/}"; cat "$f"
      done < <(find "$EXTRA_DIR" -type f -print0 | LC_ALL=C sort -z)
    fi
    printf '\nmirror %s\nsuite %s\n' "$MIRROR" "$SUITE"
  } | sha256sum | cut -c1-16
}

is_complete() {
  local f
  [ -d "$1" ] || return 1
  for f in "${OUTPUT_FILES[@]}"; do [ -s "$1/$f" ] || return 1; done
}

MIRROR="$(find_mirror)" || die "no Debian main URI found in /etc/apt/sources.list or /etc/apt/sources.list.d/*.{list,sources}; set HYBRIDOPS_DEBIAN_MIRROR (e.g. the URI of a Debian mirror)"
KEY="$(recipe_key)"
OUT="$CACHE/$IMAGE_NAME-$KEY"

if is_complete "$OUT"; then
  printf '%s\n' "$OUT" >&3
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "building the image needs root (debootstrap, chroot, mounts) and sudo is not installed"
  log "building needs root: re-running with sudo"
  envs=()
  for v in HYBRIDOPS_IMAGE_CACHE HYBRIDOPS_DEBIAN_MIRROR; do
    [ -n "${!v:-}" ] && envs+=("$v=${!v}")
  done
  exec sudo env "${envs[@]}" bash "$SELF" "$@" 1>&3 3>&-
fi

# ----------------------------------------------------------------- build ---
missing=()
for tool in debootstrap:debootstrap qemu-img:qemu-utils mkfs.ext4:e2fsprogs zstd:zstd \
            chroot:coreutils flock:util-linux mount:mount setsid:util-linux sha256sum:coreutils; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:} (for ${tool%%:*})")
done
[ "${#missing[@]}" -eq 0 ] || die "missing tools: ${missing[*]}; run scripts/setup.sh (or apt-get install debootstrap qemu-utils e2fsprogs zstd)"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -s "$KEYRING" ] || die "missing $KEYRING: apt-get install debian-archive-keyring"

START=$SECONDS
BUILD=""
CHILD=""

# Unmounts everything mounted under $1 (deepest first), lazily if busy.
unmount_under() {
  local dir="$1" m
  for _ in 1 2 3; do
    local mounts=()
    while IFS= read -r m; do mounts+=("$m"); done < <(
      awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | LC_ALL=C sort -r)
    [ "${#mounts[@]}" -eq 0 ] && return 0
    for m in "${mounts[@]}"; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
  done
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts && return 1
  return 0
}

# True if a process runs chrooted in (or from) the tree $1 (e.g. an orphaned dpkg).
in_use_by_process() {
  local p link
  for p in /proc/[0-9]*; do
    for link in "$p/root" "$p/cwd"; do
      case "$(readlink "$link" 2>/dev/null)" in "$1"|"$1"/*) return 0 ;; esac
    done
  done
  return 1
}

# Removes a build tree, never while anything is still mounted inside it.
remove_tree() {
  local dir="$1"
  [ -e "$dir" ] || return 0
  if ! unmount_under "$dir"; then
    log "WARNING: something is still mounted under $dir; not deleting it"
    return 1
  fi
  rm -rf --one-file-system "$dir"
}

on_exit() {
  local rc=$?
  set +e
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM -- "-$CHILD" 2>/dev/null
    wait "$CHILD" 2>/dev/null
  fi
  if [ -n "$BUILD" ] && [ -e "$BUILD" ]; then
    remove_tree "$BUILD" || true
    [ "$rc" -ne 0 ] && log "build failed (exit $rc) after $((SECONDS - START)) s; partial build $BUILD removed"
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Runs a long command in its own process group so an interrupt can stop all of it.
run() {
  setsid "$@" </dev/null &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

in_root() {
  run chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true "$@"
}

phase() { log "$* [$((SECONDS - START)) s]"; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock-$IMAGE_NAME-$KEY"
if ! flock -n 9; then
  log "another build of $IMAGE_NAME-$KEY is running; waiting for it"
  flock 9
fi
if is_complete "$OUT"; then
  printf '%s\n' "$OUT" >&3
  exit 0
fi
if [ -e "$OUT" ]; then
  log "removing incomplete $OUT"
  mv -T "$OUT" "$CACHE/.broken-$KEY-$$"
  remove_tree "$CACHE/.broken-$KEY-$$"
fi
# Leftovers of builds of this key that were killed without running their trap.
for stale in "$CACHE"/.build-"$KEY"-*; do
  [ -e "$stale" ] || continue
  pid="${stale##*-}"
  kill -0 "$pid" 2>/dev/null && continue
  if in_use_by_process "$stale"; then
    log "WARNING: processes of a killed build still run inside $stale; leaving it"
    continue
  fi
  log "removing stale build dir $stale"
  remove_tree "$stale" || true
done

BUILD="$CACHE/.build-$KEY-$$"
ROOT="$BUILD/rootfs"
mkdir -p "$BUILD"
log "building $IMAGE_NAME-$KEY ($SUITE from $MIRROR) in $BUILD"

phase "debootstrap minbase (~1-2 min)"
run debootstrap --variant=minbase --components=main --keyring="$KEYRING" \
  "$SUITE" "$ROOT" "$MIRROR"

phase "configure the chroot for package installs"
# policy-rc.d: no maintainer script may start a daemon (docker.io would start a
# dockerd on the build host from inside the chroot).
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
EOF
cat > "$ROOT/etc/apt/apt.conf.d/90hybridops" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
# Snapshot mirrors serve expired Release files; only needed while building.
echo 'Acquire::Check-Valid-Until "false";' > "$ROOT/etc/apt/apt.conf.d/99hybridops-build"
cat > "$ROOT/etc/dpkg/dpkg.cfg.d/90hybridops-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
# Small initramfs: only what a virtio guest needs to mount an ext4 /dev/vda.
mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
cat >> "$ROOT/etc/initramfs-tools/modules" <<'EOF'
virtio_pci
virtio_blk
virtio_net
ext4
crc32c_generic
EOF
cat > "$ROOT/etc/initramfs-tools/conf.d/90-hybridops" <<'EOF'
MODULES=list
FSTYPE=ext4
COMPRESS=zstd
RESUME=none
EOF
echo debian > "$ROOT/etc/hostname"
cat > "$ROOT/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	debian
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
echo '/dev/vda / ext4 defaults 0 1' > "$ROOT/etc/fstab"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mkdir -p "$ROOT/dev/pts"
mount --bind /dev/pts "$ROOT/dev/pts"

phase "apt-get install ${#PACKAGES[@]} packages (~2-3 min)"
in_root apt-get -q update
in_root apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  install "${PACKAGES[@]}"

phase "configure the guest"
write() { mkdir -p "$(dirname "$ROOT/$1")"; cat > "$ROOT/$1"; }
unit_exists() { [ -e "$ROOT/usr/lib/systemd/system/$1" ] || [ -e "$ROOT/etc/systemd/system/$1" ]; }

# systemd-networkd: DHCPv4 on any NIC; nothing waits for it at boot.
write etc/systemd/network/80-hybridops-dhcp.network <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
ClientIdentifier=mac
EOF
write etc/systemd/system/systemd-networkd-wait-online.service.d/10-hybridops.conf <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/lib/systemd/systemd-networkd-wait-online --any --timeout=60
EOF
# No resolver in the guest (nothing outside the lab network is reachable).
rm -f "$ROOT/etc/resolv.conf"
printf '# no resolver configured in the lab guest image\n' > "$ROOT/etc/resolv.conf"

write etc/systemd/journald.conf.d/10-hybridops.conf <<'EOF'
[Journal]
Storage=volatile
RuntimeMaxUse=32M
EOF

# SSH: ed25519 host key only, made at first boot; root by key only.
write etc/ssh/sshd_config.d/10-hybridops.conf <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PrintMotd no
EOF
sed -i -e 's/^AcceptEnv/#AcceptEnv/' "$ROOT/etc/ssh/sshd_config"
sed -i -e 's/^\(session[[:space:]]\+optional[[:space:]]\+pam_motd\.so.*\)/#\1/' \
       -e 's/^\(session[[:space:]]\+optional[[:space:]]\+pam_mail\.so.*\)/#\1/' "$ROOT/etc/pam.d/sshd"
write etc/systemd/system/hybridops-ssh-hostkey.service <<'EOF'
[Unit]
Description=Generate the SSH ed25519 host key (first boot of a clone)
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -C "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=ssh.service
EOF
# "sshd -t" before every start costs a second sshd run at boot; the build tests the config once (below).
write etc/systemd/system/ssh.service.d/10-hybridops.conf <<'EOF'
[Service]
ExecStartPre=
EOF
rm -f "$ROOT"/etc/ssh/ssh_host_*

in_root ssh-keygen -q -t ed25519 -N "" -C "hybridops-lab@$IMAGE_NAME-$KEY" -f /root/lab_key
mv "$ROOT/root/lab_key" "$BUILD/id_ed25519"
mv "$ROOT/root/lab_key.pub" "$BUILD/id_ed25519.pub"
install -d -m 0700 "$ROOT/root/.ssh"
install -m 0600 "$BUILD/id_ed25519.pub" "$ROOT/root/.ssh/authorized_keys"
# The config test that ssh.service no longer runs at each boot, with a throwaway host key.
mkdir -p "$ROOT/run/sshd"
in_root ssh-keygen -q -t ed25519 -N "" -f /tmp/sshd_test_key
in_root /usr/sbin/sshd -t -h /tmp/sshd_test_key
rm -rf "$ROOT"/tmp/sshd_test_key* "$ROOT/run/sshd"

# cloud-init: only NoCloud/ConfigDrive (no seed attached -> ds-identify disables
# cloud-init for the boot instead of running its ~50 s fallback search).
write etc/cloud/cloud.cfg.d/90-hybridops.cfg <<'EOF'
datasource_list: [NoCloud, ConfigDrive]
locale: false
ssh_genkeytypes: [ed25519]
disable_root: false
ssh_pwauth: false
apt:
  preserve_sources_list: true
# Debian's lists less what cannot work offline or reaches out (snap, ssh-import-id,
# ntp, phone-home, landscape, puppet/chef/salt, ...): fewer imports per stage.
cloud_config_modules:
  - locale
  - set-passwords
  - apt-configure
  - timezone
  - runcmd
cloud_final_modules:
  - package-update-upgrade-install
  - write-files-deferred
  - scripts-vendor
  - scripts-per-once
  - scripts-per-boot
  - scripts-per-instance
  - scripts-user
  - keys-to-console
  - final-message
  - power-state-change
EOF

# Docker: do not wait for network-online (dockerd needs no DHCP lease), no CRI in containerd.
sed -e '/^\(After\|Wants\)=/s/ *network-online\.target//' \
  "$ROOT/usr/lib/systemd/system/docker.service" > "$ROOT/etc/systemd/system/docker.service"
write etc/docker/daemon.json <<'EOF'
{
  "storage-driver": "overlay2"
}
EOF
write etc/containerd/config.toml <<'EOF'
version = 2
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
]
EOF

# Units: enable what the lab needs, switch off what only costs boot time.
ENABLE=(systemd-networkd.service ssh.service hybridops-ssh-hostkey.service docker.service
        containerd.service serial-getty@ttyS0.service)
MASK=(apparmor.service apt-daily.timer apt-daily-upgrade.timer apt-daily.service
      apt-daily-upgrade.service dpkg-db-backup.timer dpkg-db-backup.service man-db.timer
      man-db.service e2scrub_all.timer e2scrub_all.service e2scrub_reap.service fstrim.timer
      fstrim.service logrotate.timer logrotate.service systemd-tmpfiles-clean.timer
      systemd-journald-audit.socket systemd-pstore.service
      modprobe@configfs.service modprobe@dm_mod.service modprobe@drm.service
      modprobe@efi_pstore.service modprobe@fuse.service modprobe@loop.service
      sys-kernel-config.mount sys-fs-fuse-connections.mount sys-kernel-debug.mount
      sys-kernel-tracing.mount dev-hugepages.mount
      proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount systemd-binfmt.service)
# haproxy: installed for the rollouts behind a proxy (container_deploy starts it when a host uses one)
DISABLE=(getty@tty1.service remote-fs.target systemd-network-generator.service haproxy.service)
for u in "${ENABLE[@]}"; do
  if [[ "$u" == *@* ]] || unit_exists "$u"; then in_root systemctl enable "$u"; fi
done
if unit_exists qemu-guest-agent.service; then in_root systemctl enable qemu-guest-agent.service || true; fi
for u in "${DISABLE[@]}"; do in_root systemctl disable "$u" || true; done
for u in "${MASK[@]}"; do
  if [[ "$u" == *@* ]] || unit_exists "$u"; then in_root systemctl mask "$u"; fi
done
# Generators for what a lab guest never has (SysV scripts, GPT auto-mounts, LUKS,
# dm-verity/integrity, hibernation, rc.local, systemd.run=): each is a process at boot.
mkdir -p "$ROOT/etc/systemd/system-generators"
for g in systemd-sysv-generator systemd-gpt-auto-generator systemd-cryptsetup-generator \
         systemd-integritysetup-generator systemd-veritysetup-generator \
         systemd-hibernate-resume-generator systemd-system-update-generator \
         systemd-rc-local-generator systemd-run-generator; do
  ln -sfn /dev/null "$ROOT/etc/systemd/system-generators/$g"
done
# TCG's qemu64 CPU advertises SVM/VMX: udev would load kvm for nothing at every boot.
write etc/modprobe.d/hybridops-lab.conf <<'EOF'
blacklist kvm
blacklist kvm_amd
blacklist kvm_intel
EOF
# A clone's first boot (empty machine-id) runs "preset-all" (enable-only): these
# disable lines keep it from re-enabling what is switched off above.
mkdir -p "$ROOT/etc/systemd/system-preset"
for u in "${DISABLE[@]}" "${MASK[@]}"; do printf 'disable %s\n' "${u/@tty1/@}"; done \
  > "$ROOT/etc/systemd/system-preset/10-hybridops.preset"

phase "initramfs with virtio modules (~20 s)"
in_root update-initramfs -u -k all

phase "clean the image"
rm -f "$ROOT/usr/sbin/policy-rc.d" "$ROOT/etc/apt/apt.conf.d/99hybridops-build"
in_root apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/debconf/*-old \
       "$ROOT"/var/lib/dpkg/*-old "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* "$ROOT"/root/.bash_history \
       "$ROOT"/var/lib/systemd/random-seed "$ROOT"/var/lib/cloud/* "$ROOT"/tmp/* "$ROOT"/var/tmp/*
find "$ROOT/usr/share/doc" -depth -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$ROOT/usr/share/man" "$ROOT/usr/share/info" "$ROOT/usr/share/lintian" -mindepth 1 -delete 2>/dev/null || true
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
rm -f "$ROOT"/etc/ssh/ssh_host_*
# Empty (present) machine-id: each clone makes its own at first boot.
: > "$ROOT/etc/machine-id"
[ -L "$ROOT/var/lib/dbus/machine-id" ] || rm -f "$ROOT/var/lib/dbus/machine-id"
unmount_under "$ROOT" || die "could not unmount the chroot's /proc, /sys, /dev/pts"
# /etc and /var are up to date with /usr: no hwdb/ldconfig/sysusers rebuild at boot.
usr_mtime="$(stat -c %Y "$ROOT/usr")"
for d in etc var; do
  printf 'TIMESTAMP_NSEC=%s000000000\n' "$((usr_mtime + 1))" > "$ROOT/$d/.updated"
  touch -d "@$((usr_mtime + 1))" "$ROOT/$d/.updated"
done

phase "extract kernel and initrd"
kernels=("$ROOT"/boot/vmlinuz-*)
if [ "${#kernels[@]}" -ne 1 ] || [ ! -f "${kernels[0]}" ]; then
  die "expected one kernel in /boot, found: ${kernels[*]}"
fi
KVER="${kernels[0]##*/vmlinuz-}"
[ -f "$ROOT/boot/initrd.img-$KVER" ] || die "no initrd for kernel $KVER"
install -m 0644 "$ROOT/boot/vmlinuz-$KVER" "$BUILD/vmlinuz"
install -m 0644 "$ROOT/boot/initrd.img-$KVER" "$BUILD/initrd.img"
printf '%s\n' "$CMDLINE" > "$BUILD/cmdline"
# shellcheck disable=SC2016  # dpkg-query's own ${field} syntax
PKGLIST="$(chroot "$ROOT" dpkg-query -W -f '${Package}\t${Version}\n')"
ROOTFS_BYTES="$(du -sb --one-file-system "$ROOT" | cut -f1)"

phase "mkfs.ext4 -d ($VIRTUAL_SIZE sparse, no partition table) (~30 s)"
truncate -s "$VIRTUAL_SIZE" "$BUILD/root.raw"
run mkfs.ext4 -q -F -L root -d "$ROOT" -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$BUILD/root.raw"

COMPRESSION=zlib
if qemu-img create -q -f qcow2 -o compression_type=zstd "$BUILD/probe.qcow2" 1M >/dev/null 2>&1; then
  COMPRESSION=zstd
fi
rm -f "$BUILD/probe.qcow2"
phase "qemu-img convert -c ($COMPRESSION) (~1 min)"
if [ "$COMPRESSION" = zstd ]; then
  run qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd "$BUILD/root.raw" "$BUILD/base.qcow2"
else
  run qemu-img convert -c -f raw -O qcow2 "$BUILD/root.raw" "$BUILD/base.qcow2"
fi
run qemu-img check -q "$BUILD/base.qcow2"
rm -f "$BUILD/root.raw"

phase "manifest"
env M_KEY="$KEY" M_SUITE="$SUITE" M_MIRROR="$MIRROR" M_KVER="$KVER" M_CMDLINE="$CMDLINE" \
  M_COMPRESSION="$COMPRESSION" M_PACKAGES="${PACKAGES[*]}" M_PKGLIST="$PKGLIST" \
  M_ROOTFS="$ROOTFS_BYTES" M_VSIZE="$(numfmt --from=iec "$VIRTUAL_SIZE")" \
  M_QCOW2="$(stat -c %s "$BUILD/base.qcow2")" M_VMLINUZ="$(stat -c %s "$BUILD/vmlinuz")" \
  M_INITRD="$(stat -c %s "$BUILD/initrd.img")" M_SECONDS="$((SECONDS - START))" \
  M_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
chroot "$ROOT" /usr/bin/python3 -c '
import json, os
e = os.environ
pkgs = dict(line.split("\t", 1) for line in e["M_PKGLIST"].splitlines() if line)
requested = e["M_PACKAGES"].split()
print(json.dumps({
    "name": "debian12", "key": e["M_KEY"], "built_at": e["M_DATE"],
    "build_seconds": int(e["M_SECONDS"]), "suite": e["M_SUITE"], "mirror": e["M_MIRROR"],
    "kernel_version": e["M_KVER"], "cmdline": e["M_CMDLINE"],
    "qcow2_compression": e["M_COMPRESSION"],
    "sizes": {"base_qcow2_bytes": int(e["M_QCOW2"]), "virtual_bytes": int(e["M_VSIZE"]),
              "rootfs_bytes": int(e["M_ROOTFS"]), "vmlinuz_bytes": int(e["M_VMLINUZ"]),
              "initrd_bytes": int(e["M_INITRD"])},
    "packages": {"count": len(pkgs),
                 "requested": {p: pkgs.get(p) for p in requested},
                 "all": pkgs},
}, indent=2, sort_keys=True))
' > "$BUILD/manifest.tmp"
mv "$BUILD/manifest.tmp" "$BUILD/manifest.json"

remove_tree "$ROOT"
chmod 0755 "$BUILD"
chmod 0600 "$BUILD/id_ed25519"
chmod 0644 "$BUILD"/{base.qcow2,vmlinuz,initrd.img,id_ed25519.pub,cmdline,manifest.json}
is_complete "$BUILD" || die "internal error: build dir is missing outputs"
mv -T "$BUILD" "$OUT"
BUILD=""
phase "done: $OUT ($(du -h "$OUT/base.qcow2" | cut -f1) base.qcow2, kernel $KVER)"
printf '%s\n' "$OUT" >&3

# Shared by scripts/package and scripts/check-package (sourced, not run).
#
# The architectures postform ships: one static (musl) binary each, in the
# release tarballs, the .deb packages and the Ansible collection.
# shellcheck shell=bash
PF_ARCHES=(x86_64 aarch64)

# Debian's interpreter first: pyenv shims on PATH may be broken.
if [[ -x /usr/bin/python3 ]]; then PF_PYTHON=/usr/bin/python3; else PF_PYTHON=python3; fi

pf_die() {
  printf '%s: ERROR: %s\n' "${PF_TOOL:-package}" "$*" >&2
  exit 1
}

pf_log() { printf '%s: %s\n' "${PF_TOOL:-package}" "$*" >&2; }

# pf_quiet CMD...: runs CMD with its output kept back; when it fails, shows
# that output and dies naming the command (its success chatter stays out of
# the log).
pf_quiet() {
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  ((rc == 0)) && return 0
  printf '%s\n' "$out" | tail -n 60 >&2
  pf_die "$1 failed (exit $rc; its output, last 60 lines, above): $*"
}

# A command that fails under `set -e` outside pf_die (cargo, dpkg-deb,
# ansible-galaxy, ...) is named with its exit status and line, so the log's
# last lines say what failed even when its own output scrolled away. -E: the
# trap also runs in functions; a failing subshell is reported by its parent.
pf_on_err() {
  local rc="$1" cmd="$2" where="$3"
  ((BASH_SUBSHELL == 0)) || return 0
  printf '%s: ERROR: command failed (exit %s) at %s: %s\n' "${PF_TOOL:-package}" "$rc" "$where" "$cmd" >&2
}
set -E
trap 'pf_on_err "$?" "$BASH_COMMAND" "${BASH_SOURCE[0]#"${root:-}"/}:$LINENO"' ERR

# The [package] version of Cargo.toml.
pf_crate_version() {
  local root="$1"
  awk '
    /^\[/ { in_pkg = ($0 == "[package]") ; next }
    in_pkg && /^version[ \t]*=/ { gsub(/.*=[ \t]*"|".*/, ""); print; exit }
  ' "$root/Cargo.toml"
}

pf_host_arch() {
  case "$(uname -m)" in
    x86_64 | amd64) echo x86_64 ;;
    aarch64 | arm64) echo aarch64 ;;
    *) uname -m ;;
  esac
}

pf_triple() { echo "$1-unknown-linux-musl"; }

pf_deb_arch() {
  case "$1" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) pf_die "no Debian architecture name for $1" ;;
  esac
}

# What `readelf -h` says in its Machine: line for each architecture.
pf_elf_machine() {
  case "$1" in
    x86_64) echo "Advanced Micro Devices X86-64" ;;
    aarch64) echo "AArch64" ;;
    *) pf_die "no ELF machine name for $1" ;;
  esac
}

# The command prefix that runs a binary of architecture $1 on this host:
# nothing for the host's own architecture, else qemu-user called explicitly
# (binfmt_misc may not be registered, e.g. in CI containers).
pf_runner() {
  local arch="$1"
  if [[ "$arch" == "$(pf_host_arch)" ]]; then
    return 0
  fi
  local q
  for q in "qemu-$arch" "qemu-$arch-static"; do
    if command -v "$q" >/dev/null 2>&1; then
      command -v "$q"
      return 0
    fi
  done
  pf_die "cannot run $arch binaries here: qemu-$arch not found (Debian package qemu-user; scripts/install-deps installs it)"
}

# Checks that $2 is a static ELF executable for architecture $1 whose
# `--version` starts with "postform $3 ". Prints one summary line.
pf_check_binary() {
  local arch="$1" bin="$2" want="$3"
  [[ -f "$bin" ]] || pf_die "$bin: missing (architecture $arch)"
  [[ -x "$bin" ]] || pf_die "$bin: not executable"
  local header machine
  header="$(readelf -h "$bin" 2>&1)" || pf_die "$bin: not an ELF file: $header"
  machine="$(sed -n 's/^ *Machine: *//p' <<<"$header")"
  [[ "$machine" == "$(pf_elf_machine "$arch")" ]] ||
    pf_die "$bin: built for '$machine', expected $arch ('$(pf_elf_machine "$arch")')"
  if readelf -lW "$bin" | grep -q 'Requesting program interpreter'; then
    pf_die "$bin: dynamically linked (has a program interpreter); expected a static musl binary"
  fi
  local needed
  needed="$(readelf -dW "$bin" | grep '(NEEDED)' || true)"
  [[ -z "$needed" ]] || pf_die "$bin: needs shared libraries, expected a static binary:
$needed"
  local runner out
  runner="$(pf_runner "$arch")"
  out="$(${runner:+"$runner"} "$bin" --version 2>&1)" ||
    pf_die "$bin --version failed${runner:+ (under $runner)}: $out"
  local got
  got="$(awk 'NR == 1 { print $2 }' <<<"$out")"
  [[ "$out" == "postform "* && "$got" == "$want" ]] ||
    pf_die "$bin --version printed '$out'; expected 'postform $want ...' (the version in Cargo.toml)"
  printf '%s: %s, static ELF %s, %s bytes, --version%s: %s\n' \
    "${PF_TOOL:-package}" "$bin" "$arch" "$(stat -c %s "$bin")" "${runner:+ (${runner##*/})}" "$out" >&2
}

# Reproducible tar.gz of directory $2 (relative to $1) into $3.
pf_tar_gz() {
  local base="$1" dir="$2" out="$3"
  tar --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@${SOURCE_DATE_EPOCH}" --mode='u+rwX,go+rX,go-w' --format=gnu \
    -C "$base" -cf - "$dir" | gzip -9n >"$out"
}

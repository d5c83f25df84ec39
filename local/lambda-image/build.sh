#!/usr/bin/env bash
# Build a stand-in for the Lambda base image public.ecr.aws/lambda/python:3.13-x86_64 from Debian
# packages and PyPI, for machines that cannot pull it (`sam local invoke --skip-pull-image` then
# finds it under the real name). Does nothing when the image is already there: the real one
# (pulled, no recipe label) is never replaced, and a stand-in is rebuilt only when this recipe
# changed. See README.md beside this file.
#
#   local/lambda-image/build.sh            build unless present and current
#   local/lambda-image/build.sh --check    only say whether a usable image is present (exit 0/1)
#   local/lambda-image/build.sh --force    rebuild the stand-in even when current
#   local/lambda-image/build.sh --pull     try `docker pull` of the real image first (online machines)
#
# Needs root (debootstrap), debootstrap, a Docker engine, and a Python with pip (PYTHON, default
# the project's .venv, then python3.13, then python3; only its pip runs, for cp313 wheels).
set -euo pipefail

IMAGE="public.ecr.aws/lambda/python:3.13-x86_64"
SUITE="${DEBIAN_SUITE:-trixie}"                      # Debian 13: its python3 is 3.13
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
AWSLAMBDARIC_VERSION="${AWSLAMBDARIC_VERSION:-4.2.2}"
BOTO3_VERSION="${BOTO3_VERSION:-1.44.8}"
LABEL="org.instance-hygiene.lambda-image.recipe"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf '[lambda-image] %s\n' "$*"; }
die() { printf '[lambda-image] error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

mode=build
try_pull=0
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --force) mode=force ;;
    --pull) try_pull=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done

# SAM builds its invoke images FROM the base and reuses them when present: after the base changed,
# drop them so the next `sam local invoke` rebuilds (also without layers: ...:3.13-rapid-x86_64).
remove_derived_images() {
  local derived
  derived="$(docker image ls --format '{{.Repository}}:{{.Tag}}' \
    | grep -E '^public\.ecr\.aws/lambda/python:3\.13-rapid-x86_64$|^samcli/lambda-python:3\.13-x86_64-' || true)"
  if [ -n "$derived" ]; then
    say "removing SAM's derived images: $(tr '\n' ' ' <<<"$derived")"
    echo "$derived" | xargs -r docker rmi --force >/dev/null || true
  fi
}

started="$(now)"
docker info >/dev/null 2>&1 || die "no Docker engine reachable (docker info failed)"

# The recipe: this script, the bootstrap it installs, and the versions it asks for.
recipe="$( { cat "$HERE/build.sh" "$HERE/bootstrap"
             echo "$SUITE awslambdaric==$AWSLAMBDARIC_VERSION boto3==$BOTO3_VERSION"; } \
           | sha256sum | cut -c1-16)"

# Fast path: one `docker image inspect`.
if present_label="$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null)"; then
  if [ -z "$present_label" ] || [ "$present_label" = "<no value>" ]; then
    say "$IMAGE is present and is not our stand-in (the real image): nothing to do"
    exit 0
  fi
  if [ "$present_label" = "$recipe" ] && [ "$mode" != force ] && [ "$try_pull" = 0 ]; then
    say "stand-in $IMAGE is present and current (recipe $recipe): nothing to do ($(since "$started") s)"
    exit 0
  fi
  [ "$mode" = check ] && { say "stand-in $IMAGE is outdated (recipe $present_label, now $recipe)"; exit 1; }
else
  [ "$mode" = check ] && { say "$IMAGE is not present"; exit 1; }
  present_label=""
fi
if [ "$try_pull" = 1 ]; then
  say "trying to pull the real $IMAGE"
  stand_in_id="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
  if timeout 600 docker pull --quiet "$IMAGE"; then
    if [ -n "$present_label" ]; then  # replaced our stand-in: drop it and what SAM built on it
      remove_derived_images
      docker rmi "$stand_in_id" >/dev/null 2>&1 || true
    fi
    say "pulled the real image ($(since "$started") s)"
    exit 0
  fi
  say "pull failed: building the stand-in"
fi
[ -n "$present_label" ] && say "rebuilding the stand-in (recipe $present_label -> $recipe)"

# ---------------------------------------------------------------------------------- build
[ "$(id -u)" = 0 ] || die "building needs root (debootstrap); run as root or with sudo"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
if [ -z "${PYTHON:-}" ]; then  # the project's venv, else the first python3.13 / python3 with pip
  for candidate in "$HERE/../../.venv/bin/python" python3.13 python3; do
    if "$candidate" -m pip --version >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
"${PYTHON:-false}" -m pip --version >/dev/null 2>&1 || die "no Python with pip found (set PYTHON)"

# One build at a time on this machine (parallel test runs share the image).
exec 9>"${TMPDIR:-/tmp}/instance-hygiene-lambda-image.lock"
flock 9

work="$(mktemp -d "${TMPDIR:-/tmp}/lambda-image.XXXXXX")"
built=0
cleanup() {
  # debootstrap may leave /proc or /sys mounted inside the rootfs when it fails.
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l || true
  rm -rf --one-file-system "$work"
  [ "$built" = 1 ] && say "done in $(since "$started") s (temporary files removed)"
  return 0
}
trap cleanup EXIT
rootfs="$work/rootfs"

t="$(now)"
script=()  # an older debootstrap without a script for the suite: Debian's generic one
[ -e "/usr/share/debootstrap/scripts/$SUITE" ] || script=(/usr/share/debootstrap/scripts/sid)
say "debootstrap $SUITE (minbase + python3) from $MIRROR"
if ! debootstrap --variant=minbase --include=python3 "$SUITE" "$rootfs" "$MIRROR" "${script[@]}" \
    >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  die "debootstrap failed"
fi
say "rootfs ready ($(since "$t") s)"

t="$(now)"
say "pip --target /var/runtime: awslambdaric==$AWSLAMBDARIC_VERSION boto3==$BOTO3_VERSION"
"$PYTHON" -m pip install -qq --disable-pip-version-check --no-warn-conflicts \
  --target "$rootfs/var/runtime" --only-binary=:all: \
  --platform manylinux2014_x86_64 --python-version 3.13 --implementation cp --abi cp313 \
  "awslambdaric==$AWSLAMBDARIC_VERSION" "boto3==$BOTO3_VERSION"
install -m 0755 "$HERE/bootstrap" "$rootfs/var/runtime/bootstrap"
mkdir -p "$rootfs/var/task" "$rootfs/opt"
chroot "$rootfs" /usr/bin/python3.13 -c \
  'import sys; sys.path.insert(0, "/var/runtime"); import awslambdaric, boto3, runtime_client; print("[lambda-image] python", sys.version.split()[0], "boto3", boto3.__version__)'
# What a container never needs: package caches and lists, documentation, translations.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
say "runtime installed ($(since "$t") s)"

t="$(now)"
old_id="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
tar -C "$rootfs" --numeric-owner -cf - . | docker import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change "ENV TZ=:/etc/localtime" \
  --change "ENV LAMBDA_TASK_ROOT=/var/task" \
  --change "ENV LAMBDA_RUNTIME_DIR=/var/runtime" \
  --change "WORKDIR /var/task" \
  --change "LABEL $LABEL=$recipe" \
  --change "LABEL org.instance-hygiene.lambda-image.contents=debian-$SUITE-minbase+python3+awslambdaric-$AWSLAMBDARIC_VERSION+boto3-$BOTO3_VERSION" \
  - "$IMAGE" >/dev/null
size="$(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%d MB", $1 / 1000000 }')"
say "imported $IMAGE, $size ($(since "$t") s)"

remove_derived_images
new_id="$(docker image inspect --format '{{.Id}}' "$IMAGE")"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  docker rmi "$old_id" >/dev/null 2>&1 || true
fi

built=1

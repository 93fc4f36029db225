#!/usr/bin/env bash
# Installs, by Debian package name, whatever the build, the demo and the tests need and
# this machine lacks. Safe to run again: it asks apt only for what is missing.
set -euo pipefail

packages=(
  g++ make cmake pkg-config ca-certificates curl
  nginx-core nginx-dev
  libgtest-dev libgmock-dev
  prometheus-cpp-dev nlohmann-json3-dev libcli11-dev libssl-dev libboost-dev zlib1g-dev libyaml-cpp-dev libre2-dev
  python3 python3-pytest python3-yaml openssl
  golang-github-prometheus-common-dev clang libclang-rt-14-dev
  apache2-utils wrk valgrind
  buildah debootstrap
  # nginx 1.26 built from Debian 13's source (scripts/build-nginx.sh) for the second nginx the
  # tests run against: PCRE2, OpenSSL, zlib (the last two are listed above already)
  libpcre2-dev
  # the end-to-end stage: Kubernetes 1.20 built from Debian's source, etcd, a network namespace
  golang-1.19-go golang-github-modern-go-reflect2-dev etcd-server rsync dpkg-dev iproute2 util-linux
  # job queues for the sidecar's scrape tests: Redis (redis-cli is in redis-tools) and its exporter;
  # the tests start their own on free loopback ports, never the services these packages ship
  redis-server redis-tools prometheus-redis-exporter
  # the monitoring tests: munin's master and node (unpacked into build/tools by the tests, as
  # Nagios is) need these Perl libraries and rrdtool; headless Chromium loads the status page
  libnet-server-perl librrds-perl liblog-log4perl-perl libhtml-template-perl libdate-manip-perl
  libfile-copy-recursive-perl liburi-perl libio-socket-inet6-perl liblist-moreutils-perl
  rrdtool fonts-dejavu-core chromium
)
# Node.js and npm for tests/k8s-validate, the Kubernetes manifests' validator (Node 18+).
# Some machines bring Node.js from outside Debian, whose nodejs package conflicts with
# Debian's npm: ask for Debian's two only when there is no npm at all.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0

echo "install-deps: installing ${missing[*]}"
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)

# A package's maintainer script must not start a system nginx listening on port 80:
# tests only ever listen on loopback ports they pick themselves.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() { if ((made_policy)); then "${sudo[@]}" rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

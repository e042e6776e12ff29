#!/bin/sh
# Fetch Docker Compose v2 (the CLI plugin) from Debian unstable's `docker-compose` package
# into a cache directory, without touching the machine's apt configuration: apt-get runs
# with a private sources list, package lists and download cache under that directory.
#
# Usage: tests/tools/fetch_compose.sh [CACHE_DIR]     (default: .cache/compose)
# Result: CACHE_DIR/cli-plugins/docker-compose, usable as `docker-compose ...` directly or
# as `docker compose ...` with DOCKER_CONFIG pointing at a directory whose cli-plugins/
# holds it. A second run with the binary already present does nothing.
set -eu

cache=${1:-.cache/compose}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
plugin="$cache/cli-plugins/docker-compose"

if [ -x "$plugin" ] && "$plugin" version >/dev/null 2>&1; then
    echo "docker-compose already in $plugin"
    exit 0
fi

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$cache/debs"
echo "deb http://deb.debian.org/debian unstable main" > "$apt_dir/sources.list"

set -- \
    -o "Dir::Etc::SourceList=$apt_dir/sources.list" \
    -o "Dir::Etc::SourceParts=/dev/null" \
    -o "Dir::State::Lists=$apt_dir/lists" \
    -o "Dir::Cache=$apt_dir/cache" \
    -o "Dir::State::Status=/var/lib/dpkg/status" \
    -o "APT::Sandbox::User=root" \
    -q

apt-get "$@" update >/dev/null
(cd "$cache/debs" && apt-get "$@" download docker-compose >/dev/null)

deb=$(ls -t "$cache/debs"/docker-compose_*.deb | head -n 1)
rm -rf "$cache/root"
dpkg-deb -x "$deb" "$cache/root"

mkdir -p "$cache/cli-plugins"
cp "$cache/root/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
chmod 755 "$plugin"
"$plugin" version

#!/bin/sh
# deps.sh - install the Debian packages refsync needs to build, test and run
# its demo. As root it installs what is missing; otherwise it prints the
# exact apt-get line and fails.
set -eu
PACKAGES="gcc make pkg-config libcurl4-openssl-dev libyajl-dev libsqlite3-dev libxml2-dev libssl-dev
libinih-dev libcmocka-dev sqlite3 libxml2-utils python3 python3-aiosmtpd lighttpd mandoc systemd
clang valgrind chromium-headless-shell"
missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "refsync: missing Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "refsync: installing missing packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

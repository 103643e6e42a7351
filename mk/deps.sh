#!/bin/sh
# mk/deps.sh: install the Debian packages that building and testing
# sluice need, only those missing; quiet when everything is there.
set -eu

pkgs="gcc make pkg-config libbsd-dev libmd-dev libjsmn-dev libxxhash-dev xxhash
libsqlite3-dev libpq-dev bats bats-assert bats-support bats-file
mandoc graphviz jq openssl strace sqlite3 ninja-build parallel hyperfine time ccache tmux chromium libxml2-utils postgresql postgresql-contrib slurm-wlm munge"

missing=
for p in $pkgs; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $s in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
command -v node >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0

echo "make deps: installing$missing" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null

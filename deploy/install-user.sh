#!/bin/sh
# install-user.sh - create the system user subgated runs as (privileges.user
# in the configuration, User= in deploy/systemd/subgated.service, USER in the
# Dockerfile), with a group of the same name, if it is missing. Idempotent.
# A Debian package will do the same with a sysusers.d entry.
set -eu

user=${1:-subgate}
getent passwd "$user" >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-user: no user $user (run as root to create it)" >&2
	exit 1
fi
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$user"

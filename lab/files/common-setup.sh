#!/bin/sh
# Run once inside every new lab host (its overlays already mounted): identity and the service stand-ins.
#   common-setup.sh FILES_DIR HOSTNAME
set -eu
files=$1; name=$2
echo "$name" > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$name" > /etc/hosts
mkdir -p /var/log/lab /var/lib/lab/services
install -m 0700 -d /root/.ssh
install -m 0755 "$files/service" /usr/sbin/service

#!/bin/sh
# Make a lab host look like a Fuel 9.0 Ubuntu 14.04 node to the plugin's tasks.
#   node-setup.sh FILES_DIR HOSTNAME PYTHON PYTHON_VARIANT(2.7|3) [XENSTORE_KEY VALUE]...
set -eu
files=$1; name=$2; python=$3; variant=$4; shift 4
. "$files/common-setup.sh"
# `python` is the node interpreter, wherever a task looks for it. A wrapper, not a symlink: a venv's
# interpreter started through a link elsewhere does not find its venv (its site-packages).
names=python
if [ "$variant" = 2.7 ]; then names="python python2 python2.7"; fi
for dir in /usr/bin /usr/local/bin; do
    for name in $names; do
        rm -f "$dir/$name"
        printf '#!/bin/sh\nexec %s "$@"\n' "$python" > "$dir/$name"
        chmod 755 "$dir/$name"
    done
done
cat > /etc/lsb-release <<'LSB'
DISTRIB_ID=Ubuntu
DISTRIB_RELEASE=14.04
DISTRIB_CODENAME=trusty
DISTRIB_DESCRIPTION="Ubuntu 14.04.5 LTS"
LSB
# ifupdown reads interfaces.d, as Fuel's network configuration writes it
mkdir -p /etc/network/interfaces.d /run/network
rm -rf /etc/network/interfaces.d/*
printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > /etc/network/interfaces
# upstart jobs and iptables persistence as on Ubuntu 14.04
for job in start stop restart status reload; do ln -sf /usr/sbin/service "/usr/sbin/$job"; done
install -m 0755 "$files/netfilter-persistent" /usr/sbin/netfilter-persistent
printf '#!/bin/sh\nexec /usr/sbin/netfilter-persistent "$@"\n' > /etc/init.d/iptables-persistent
chmod 0755 /etc/init.d/iptables-persistent
# the guest's xenstore tools
for tool in xenstore-read xenstore-write xenstore-exists xenstore-rm; do
    install -m 0755 "$files/xenstore" "/usr/bin/$tool"
done
mkdir -p /var/lib/lab/xenstore
[ $# -eq 0 ] || xenstore-write "$@"
# the system users the OpenStack packages create
for user in nova neutron ceilometer; do
    getent passwd "$user" >/dev/null || useradd --system --user-group --home-dir "/var/lib/$user" \
        --shell /bin/false "$user"
done

# Sourced by node-setup.sh and dom0-setup.sh inside every new lab host (overlays already mounted):
# identity and the service stand-in. Expects $files (lab/files) and $name (the host name).
echo "$name" > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$name" > /etc/hosts
mkdir -p /var/log/lab /var/lib/lab/services
install -m 0700 -d /root/.ssh
install -m 0755 "$files/service" /usr/sbin/service

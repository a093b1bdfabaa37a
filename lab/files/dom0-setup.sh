#!/bin/sh
# Make a lab host look like a XenServer 7.x Dom0 (CentOS 7 based) to the plugin's tasks.
#   dom0-setup.sh FILES_DIR HOSTNAME PYTHON
set -eu
files=$1; name=$2; python=$3
. "$files/common-setup.sh"
ln -sf "$python" /usr/bin/python
ln -sf "$python" /usr/bin/python2
mkdir -p /etc/xapi.d/plugins /etc/udev/rules.d /etc/udev/scripts /etc/modprobe.d /etc/sysconfig \
    /etc/lab-xenserver /var/lib/lab-xenserver /var/lib/misc /etc/cron.d /opt/xensource/bin
install -m 0755 "$files/service" /usr/bin/systemctl
# sshd with host keys of its own (the real machine's keys stay hidden behind the overlay)
rm -f /etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -C "root@$(hostname)" -f /etc/ssh/ssh_host_ed25519_key
ssh-keygen -q -t ecdsa -N '' -C "root@$(hostname)" -f /etc/ssh/ssh_host_ecdsa_key
rm -rf /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config <<'SSHD'
# Lab Dom0 sshd: listens on the HIMN address only
ListenAddress 169.254.0.1:22
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
PermitRootLogin yes
PasswordAuthentication yes
PubkeyAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PidFile /run/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp /usr/lib/openssh/sftp-server
SSHD
touch /var/lib/misc/udhcpd.leases

#!/bin/sh
# The holder of a lab host's mount namespace. Started by the lab as
#   nsenter --net=/run/netns/<ns> -- unshare --mount --uts --propagation private -- host-mounts.sh STATE HOSTNAME MOUNT...
# where each MOUNT is
#   overlay:DIR   an overlay over the machine's DIR (upper and work dirs under STATE, prepared by the lab)
#   fresh:DIR     an overlay over an empty directory: the host starts with an empty DIR of its own
#   keep:PATH     the machine's PATH (inside a fresh DIR), bound read-only (e.g. the interpreters under /root)
#   readonly:DIR  DIR read-only, the mounts below it kept (the repo: hosts run its code, never change it)
# then private tmpfs on /tmp and /run, the namespace's own sysfs, a read-only /proc/sys except the
# per-namespace net tree; prints "ready" and sleeps: its PID keeps the namespace alive and is how the lab
# enters it (nsenter -t PID). Nothing propagates back to the machine's mount namespace.
set -eu
state=$1; hostname=$2; shift 2
hostname "$hostname"
mkdir -p "$state/empty" "$state/keep"
n=0
for spec in "$@"; do
    case "$spec" in keep:*)
        n=$((n + 1)); mkdir -p "$state/keep/$n"; mount --bind -o ro "${spec#keep:}" "$state/keep/$n" ;;
    esac
done
for spec in "$@"; do
    dir=${spec#*:}; key=$(printf %s "$dir" | tr / _)
    case "$spec" in
        overlay:*) lower=$dir ;;
        fresh:*) lower=$state/empty ;;
        *) continue ;;
    esac
    mount -t overlay lab-overlay -o "lowerdir=$lower,upperdir=$state/upper/$key,workdir=$state/work/$key" "$dir"
done
n=0
for spec in "$@"; do
    case "$spec" in keep:*)
        n=$((n + 1)); mkdir -p "${spec#keep:}"; mount --move "$state/keep/$n" "${spec#keep:}"
        mount -o remount,bind,ro "${spec#keep:}" ;;
    esac
done
for spec in "$@"; do
    case "$spec" in readonly:*)
        mount --rbind "${spec#readonly:}" "${spec#readonly:}"; mount -o remount,bind,ro "${spec#readonly:}" ;;
    esac
done
mount -t tmpfs -o mode=1777,size=256m lab-tmp /tmp
mount -t tmpfs -o mode=755,size=64m lab-run /run
mkdir -p /run/lock /run/network /run/sshd
mount -t sysfs lab-sysfs /sys
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount --bind /proc/sys/net /proc/sys/net
mount -o remount,bind,rw /proc/sys/net
echo ready
exec sleep infinity </dev/null >/dev/null 2>&1

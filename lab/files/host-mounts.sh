#!/bin/sh
# The holder of a lab host's mount namespace. Started by the lab as
#   nsenter --net=/run/netns/<ns> -- unshare --mount --uts --propagation private -- host-mounts.sh STATE HOSTNAME MOUNT...
# Each MOUNT, done in the order given, is
#   overlay:DIR   an overlay over the machine's DIR (upper and work dirs under STATE, prepared by the lab)
#   fresh:DIR     an overlay over an empty directory: the host starts with an empty DIR of its own
#   tmpfs:DIR     a private tmpfs (/tmp world-writable with the sticky bit, others 0755)
#   keep:PATH     the machine's PATH, bound read-only (e.g. the interpreters inside a fresh /root)
#   bind:PATH     the machine's PATH, bound read-write (the repo, when a fresh DIR or tmpfs covers it)
#   readonly:DIR  DIR read-only, the mounts below it kept (the repo: hosts run its code, never change it)
# Binds are taken before anything is covered. Then the host's own sysfs, a private /dev/shm, and a read-only
# /proc/sys except the per-namespace net tree. It prints "ready" and sleeps: its PID keeps the namespace
# alive and is how the lab enters it (nsenter -t PID). Nothing propagates back to the machine.
set -eu
state=$1; hostname=$2; shift 2
hostname "$hostname"
mkdir -p "$state/empty"
# binds are staged in a private tmpfs no later mount covers
mount -t tmpfs -o mode=1777,size=64m lab-shm /dev/shm
n=0
for spec in "$@"; do
    case "$spec" in keep:*|bind:*)
        n=$((n + 1)); mkdir -p "/dev/shm/.lab-staged/$n"; mount --bind "${spec#*:}" "/dev/shm/.lab-staged/$n" ;;
    esac
done
n=0
for spec in "$@"; do
    dir=${spec#*:}; key=$(printf %s "$dir" | tr / _)
    case "$spec" in
        overlay:*)
            mount -t overlay lab-overlay -o "lowerdir=$dir,upperdir=$state/upper/$key,workdir=$state/work/$key" "$dir" ;;
        fresh:*)
            mount -t overlay lab-overlay -o "lowerdir=$state/empty,upperdir=$state/upper/$key,workdir=$state/work/$key" "$dir" ;;
        tmpfs:/tmp)
            mount -t tmpfs -o mode=1777,size=256m lab-tmp "$dir" ;;
        tmpfs:*)
            mount -t tmpfs -o mode=755,size=64m lab-tmpfs "$dir" ;;
        keep:*|bind:*)
            n=$((n + 1)); mkdir -p "$dir"; mount --move "/dev/shm/.lab-staged/$n" "$dir"
            case "$spec" in keep:*) mount -o remount,bind,ro "$dir" ;; esac ;;
        readonly:*)
            mount --rbind "$dir" "$dir"; mount -o remount,bind,ro "$dir" ;;
        *)
            echo "host-mounts.sh: unknown mount $spec" >&2; exit 2 ;;
    esac
done
rm -rf /dev/shm/.lab-staged
mkdir -p /run/lock /run/network /run/sshd
mount -t sysfs lab-sysfs /sys
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount --bind /proc/sys/net /proc/sys/net
mount -o remount,bind,rw /proc/sys/net
echo ready
exec sleep infinity </dev/null >/dev/null 2>&1

#!/bin/bash
# A private, throw-away Postfix on 127.0.0.1 that accepts every message and discards it after
# queueing: a real MTA to benchmark SMTP clients against (tools/smtplib_bench.py, suiji's notify).
#
# Usage (as root; Debian 12: apt-get install -y --no-install-recommends postfix):
#   tools/postfix_loopback.sh start DIR PORT   prints "ready" once 127.0.0.1:PORT accepts
#   tools/postfix_loopback.sh stop DIR         returns once the instance's master has exited
#
# Everything lives under DIR: DIR/etc (main.cf, master.cf; its config_directory, given as
# `postfix -c DIR/etc`), DIR/spool (queue_directory), DIR/data (data_directory), DIR/maillog
# (its log, via postlogd; there may be no syslog). It never touches /etc/postfix or a system-wide
# instance (which may keep running on port 25): no postmulti, no chroot, smtpd on 127.0.0.1:PORT
# only, no TLS. Any client in 127.0.0.0/8 may send to any recipient; every message is queued
# (cleanup, fsync) and then handed to the discard transport.
#
# By hand:  postfix -c DIR/etc status|stop|flush;  mailq: postqueue -c DIR/etc -p;
#           tail DIR/maillog
set -euo pipefail

die() { echo "postfix_loopback.sh: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR PORT | stop DIR"; }

[ $# -ge 2 ] || usage
action=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
conf=$dir/etc
command -v postfix >/dev/null || die "postfix is not installed (apt-get install postfix)"
[ "$(id -u)" = 0 ] || die "must run as root (postfix's master starts as root)"

master_pid() {
    local f=$dir/spool/pid/master.pid
    [ -s "$f" ] || return 1
    local pid
    pid=$(tr -dc 0-9 <"$f")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

case $action in
start)
    [ $# -eq 3 ] || usage
    port=$3
    case $port in '' | *[!0-9]*) die "bad port: $port" ;; esac
    if master_pid >/dev/null; then die "already running in $dir"; fi
    mkdir -p "$conf" "$dir/spool" "$dir/data"
    # The queue directory and its parents must be root-owned, not writable by others.
    chown root:root "$dir/spool"
    chmod 755 "$dir" "$dir/spool"
    chown postfix "$dir/data"
    chmod 700 "$dir/data"

    cat >"$conf/main.cf" <<CF
compatibility_level = 3.6
# Postfix's own support files (postfix-files, postfix-script, dynamicmaps.cf) stay Debian's.
meta_directory = /etc/postfix
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
syslog_name = postfix-loopback
myhostname = localhost.localdomain
mydomain = localdomain
myorigin = localhost.localdomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtpd_sasl_auth_enable = no
default_transport = discard:
relay_transport = discard:
local_transport = discard:
virtual_transport = discard:
biff = no
CF

    # service type private unpriv chroot wakeup maxproc command
    cat >"$conf/master.cf" <<CF
127.0.0.1:$port inet n - n - - smtpd
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
CF

    if ! out=$(postfix -c "$conf" start 2>&1); then
        printf '%s\n' "$out" >&2
        if [ -s "$dir/maillog" ]; then
            tail -20 "$dir/maillog" >&2
        elif command -v script >/dev/null; then
            # Before postlogd runs, postfix reports only to a terminal: give it one.
            script -qec "postfix -c '$conf' check" /dev/null >&2 || true
        fi
        die "postfix did not start"
    fi
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo ready
            exit 0
        fi
        sleep 0.1
    done
    [ -f "$dir/maillog" ] && tail -20 "$dir/maillog" >&2
    die "nothing accepts on 127.0.0.1:$port after 30 s"
    ;;
stop)
    [ $# -eq 2 ] || usage
    pid=$(master_pid) || exit 0
    postfix -c "$conf" stop >/dev/null 2>&1 || kill "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 0.1
    done
    die "master $pid did not exit"
    ;;
*) usage ;;
esac

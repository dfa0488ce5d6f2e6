#!/bin/sh
# Licensed under the Apache License, Version 2.0.
# Memory of the benchmark's httpd (DIR/httpd.pid): prints "<largest VmRSS kB> <largest
# VmHWM kB> <children> <parent's VmHWM kB>", the first two over its children.
set -eu
pid=$(cat "$1/httpd.pid")
rss=0 hwm=0 n=0
for c in $(pgrep -P "$pid"); do
    r=$(awk '/^VmRSS:/ {print $2}' "/proc/$c/status" 2>/dev/null || echo 0)
    h=$(awk '/^VmHWM:/ {print $2}' "/proc/$c/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$rss" ] && rss=$r
    [ "${h:-0}" -gt "$hwm" ] && hwm=$h
    n=$((n + 1))
done
phwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
echo "$rss $hwm $n $phwm"

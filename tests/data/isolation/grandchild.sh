#!/bin/sh
# Leaves a background child holding stdout and stderr open, records its pid, succeeds.
sleep 60 &
echo $! > "$OUT/grandchild.sh.pid"

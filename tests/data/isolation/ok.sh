#!/bin/sh
# Succeeds: copies its args (stdin) and its job identity into "$OUT/<class>".
args=$(cat)
printf '%s|%s|%s|%s|%s|%s\n' "$args" "$RESQUE_CLASS" "$RESQUE_QUEUE" "$RESQUE_WORKER" \
    "$RESQUE_ENQUEUED_AT" "$(pwd)" > "$OUT/$RESQUE_CLASS"
echo "ok.sh done"

#!/bin/sh
trap '' TERM
echo "ignoring TERM" >&2
sleep 30

#!/bin/sh
echo "checking order" >&2
echo "order 42 not found" >&2
exit 1

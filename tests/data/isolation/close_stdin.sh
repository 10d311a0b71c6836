#!/bin/sh
exec 0<&-
sleep 0.1
echo "closed stdin"

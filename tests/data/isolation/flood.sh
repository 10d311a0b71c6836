#!/bin/sh
# About 4 MB on stdout and 4 MB on stderr, then success.
yes "flooding stdout with a line of text...................................." | head -c 4000000
yes "flooding stderr with a line of text...................................." | head -c 4000000 >&2

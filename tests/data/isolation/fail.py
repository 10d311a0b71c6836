import sys
print("order 43 not found", file=sys.stderr)
sys.exit(2)

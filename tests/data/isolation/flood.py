import sys
line = "y" * 99 + "\n"
for _ in range(40_000):
    sys.stdout.write(line)
    sys.stderr.write(line)

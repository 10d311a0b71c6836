blocks = []
for _ in range(64):
    blocks.append(bytearray(16 * 1024 * 1024))

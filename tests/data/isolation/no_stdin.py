import time
time.sleep(0.1)
print("never read stdin")

import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring TERM", file=sys.stderr, flush=True)
time.sleep(30)

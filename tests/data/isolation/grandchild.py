import os, time
# A child in a session of its own (out of the job's process group) holding the pipes.
pid = os.fork()
if pid == 0:
    os.setsid()
    time.sleep(60)
    os._exit(0)
with open(os.path.join(os.environ["OUT"], "grandchild.py.pid"), "w") as out:
    out.write(str(pid))

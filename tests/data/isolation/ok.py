import json, os, sys
args = json.load(sys.stdin)
with open(os.path.join(os.environ["OUT"], os.environ["RESQUE_CLASS"]), "w") as out:
    out.write(json.dumps(args) + "|" + os.environ["EXTRA"] + "\n")
print("ok.py done")
